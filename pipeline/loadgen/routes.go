package loadgen

import (
	"math/big"

	"github.com/unitcost/unitcost/pipeline"
)

// Route is one (workflow type, step, model): the unit the what-if observes rates for.
type Route struct{ Workflow, Step, Model string }

// Rates are the true probabilities a route's workflows are drawn with. Review is the
// chance that a workflow that did not fail needs a human review (for support_agent: is
// escalated to one); Failure is the chance the step's call fails the workflow.
type Rates struct{ Review, Failure float64 }

// quality holds the true rates of every route the generator runs. The ticket classifier's
// cheap model is reviewed twice as often as the frontier one (so the cheaper model loses
// once review is counted); the question-answering A/B test's two models are reviewed
// equally often (so the cheaper one wins).
var quality = map[Route]Rates{
	{"rag_qa", "answer", "gpt-4.1-mini"}:                         {Review: 0.01, Failure: 0.08},
	{"rag_qa", "answer", "claude-opus-4-1"}:                      {Review: 0.01, Failure: 0.08},
	{"support_agent", "agent_turn", "claude-sonnet-4-5"}:         {Review: 0.2},
	{"invoice_extraction", "extract_fields", "gemini-2.5-flash"}: {Review: 0.3},
	{"ticket_classification", "classify", "gpt-5-nano"}:          {Review: 0.2},
	{"ticket_classification", "classify", "gpt-5"}:               {Review: 0.1},
}

// TrueRates returns the rates the generator draws a route's workflows with.
func TrueRates(r Route) (Rates, bool) {
	q, ok := quality[r]
	return q, ok
}

// Routes lists every route the generator runs.
func Routes() []Route {
	out := make([]Route, 0, len(quality))
	for r := range quality {
		out = append(out, r)
	}
	return out
}

// reviewRole is the reviewer role of each workflow type; meanReviewMs the mean active
// review time every review draws (uniform 30 s to 600 s).
var reviewRole = map[string]string{"rag_qa": "support_agent", "support_agent": "domain_expert",
	"invoice_extraction": "analyst", "ticket_classification": "support_agent"}

const meanReviewMs = (30_000 + 600_000) / 2

// Call is one recorded model call of a workflow, as generated.
type Call struct {
	Step       string `json:"step"`
	Model      string `json:"model"`
	Input      uint64 `json:"input_tokens"` // includes cached tokens
	CacheRead  uint64 `json:"cache_read_tokens"`
	CacheWrite uint64 `json:"cache_write_tokens"`
	Output     uint64 `json:"output_tokens"` // includes reasoning tokens
}

// MachineCost is the cost of everything but human review of the workflows of one type,
// with each call of a step that routing maps re-priced at the generator's own rates for
// the mapped model (tokens carried over as recorded). A nil routing is the recorded cost.
func (t *Truth) MachineCost(workflow string, routing map[string]string) pipeline.Money {
	var sum pipeline.Money
	for _, w := range t.Workflows {
		if w.Type != workflow {
			continue
		}
		sum += w.Cost - w.ReviewCost
		for _, c := range w.Calls {
			if m, ok := routing[c.Step]; ok && m != c.Model {
				sum += modelCost(m, c.Input, c.CacheRead, c.CacheWrite, c.Output) - modelCost(c.Model, c.Input, c.CacheRead, c.CacheWrite, c.Output)
			}
		}
	}
	return sum
}

// Workflows counts the workflows of one type.
func (t *Truth) count(workflow string) int64 {
	var n int64
	for _, w := range t.Workflows {
		if w.Type == workflow {
			n++
		}
	}
	return n
}

// ExpectedPerValidated is the true expected cost per validated output of a routing that
// sends step wholly to model, in nano-dollars: the machine cost of the generated traffic
// under it per workflow, plus the route's true review chance times the mean review cost,
// over the true validated outputs per workflow. ok is false for a route the generator
// does not run.
func (t *Truth) ExpectedPerValidated(workflow, step, model string) (*big.Rat, bool) {
	q, ok := quality[Route{workflow, step, model}]
	n := t.count(workflow)
	if !ok || n == 0 {
		return nil, false
	}
	machine := new(big.Rat).SetFrac64(int64(t.MachineCost(workflow, map[string]string{step: model})), n)
	done := 1 - q.Failure
	pReview := done * q.Review
	validated := done
	switch workflow {
	case "support_agent": // escalated workflows validate nothing
		validated = 1 - q.Review
		pReview = q.Review
	case "invoice_extraction": // one to three documents
		validated = 2
	}
	reviewCost := new(big.Rat).Mul(rat(reviewRates[reviewRole[workflow]]), big.NewRat(meanReviewMs, 3_600_000))
	reviewCost.Mul(reviewCost, nanosPerDollar)
	perWf := new(big.Rat).Add(machine, new(big.Rat).Mul(new(big.Rat).SetFloat64(pReview), reviewCost))
	return perWf.Quo(perWf, new(big.Rat).SetFloat64(validated)), true
}
