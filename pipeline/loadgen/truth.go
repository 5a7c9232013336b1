// Package loadgen generates realistic AI workloads as OpenTelemetry spans - several
// workflow types, providers, models and attribute families, cached and reasoning tokens,
// failures and retries, human reviews that arrive late - together with their ground
// truth: the cost of every workflow and the unit economics per workflow type.
//
// The ground truth is computed here, from the generator's own rate table and exact
// rational arithmetic, independently of the pipeline's normalisation and pricing code.
// The rates mirror the built-in price book (pipeline/pricing/builtin.yaml); a change to
// one without the other makes the end-to-end suites fail, on purpose.
package loadgen

import (
	"math/big"
	"sort"

	"github.com/unitcost/unitcost/pipeline"
)

// modelRate is dollars per million tokens, as exact decimal strings.
type modelRate struct{ in, out, cacheRead, cacheWrite string }

var modelRates = map[string]modelRate{
	"text-embedding-3-small": {in: "0.02", out: "0"},
	"gpt-4.1-mini":           {in: "0.40", out: "1.60", cacheRead: "0.10"},
	"claude-sonnet-4-5":      {in: "3.00", out: "15.00", cacheRead: "0.30", cacheWrite: "3.75"},
	"gemini-2.5-flash":       {in: "0.30", out: "2.50", cacheRead: "0.03"},
	"gpt-5-nano":             {in: "0.05", out: "0.40", cacheRead: "0.005"},
	"gpt-5":                  {in: "1.25", out: "10.00", cacheRead: "0.125"},
	"claude-opus-4-1":        {in: "15.00", out: "75.00", cacheRead: "1.50", cacheWrite: "18.75"},
}

var (
	toolRates      = map[string]string{"web_search": "0.01", "lookup_order": "0", "create_ticket": "0"}
	retrievalRate  = "0.0001"                            // per call
	computeRates   = map[string]string{"gpu.l4": "0.80"} // per hour
	reviewRates    = map[string]string{"support_agent": "40.00", "analyst": "60.00", "domain_expert": "120.00"}
	nanosPerDollar = big.NewRat(1_000_000_000, 1)
)

func rat(s string) *big.Rat {
	if s == "" {
		return nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("loadgen: bad rate literal " + s)
	}
	return r
}

// roundNano rounds a dollar amount to nano-dollars, half away from zero (costs are >= 0).
func roundNano(dollars *big.Rat) pipeline.Money {
	n := new(big.Rat).Mul(dollars, nanosPerDollar)
	q, r := new(big.Int).QuoRem(n.Num(), n.Denom(), new(big.Int))
	if new(big.Int).Mul(r, big.NewInt(2)).Cmp(n.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return pipeline.Money(q.Int64())
}

// modelCost prices one call: input includes cached tokens; output includes reasoning.
func modelCost(model string, input, cacheRead, cacheWrite, output uint64) pipeline.Money {
	r, ok := modelRates[model]
	if !ok {
		panic("loadgen: no rate for " + model)
	}
	in := rat(r.in)
	cr, cw := rat(r.cacheRead), rat(r.cacheWrite)
	if cr == nil {
		cr = in
	}
	if cw == nil {
		cw = in
	}
	sum := new(big.Rat)
	add := func(q uint64, rate *big.Rat) {
		sum.Add(sum, new(big.Rat).Mul(new(big.Rat).SetUint64(q), rate))
	}
	add(input-cacheRead-cacheWrite, in)
	add(cacheRead, cr)
	add(cacheWrite, cw)
	add(output, rat(r.out))
	return roundNano(sum.Quo(sum, big.NewRat(1_000_000, 1)))
}

func hourlyCost(rate string, ms uint64) pipeline.Money {
	d := new(big.Rat).Mul(rat(rate), new(big.Rat).SetUint64(ms))
	return roundNano(d.Quo(d, big.NewRat(3_600_000, 1)))
}

// WorkflowTruth is what one generated workflow must cost and count as.
type WorkflowTruth struct {
	ID               string         `json:"id"` // trace id in hex: the workflow id
	Type             string         `json:"type"`
	Tenant           string         `json:"tenant"`
	Team             string         `json:"team"`    // on the root; every span of the workflow inherits it
	Feature          string         `json:"feature"` // likewise
	Outcome          string         `json:"outcome"`
	ValidatedOutputs uint64         `json:"validated_outputs"`
	Reviewed         bool           `json:"reviewed"`
	Cost             pipeline.Money `json:"cost_nano"`
	ReviewCost       pipeline.Money `json:"review_cost_nano"`
	LineItems        int            `json:"line_items"`
	Calls            []Call         `json:"calls"`
}

// TypeTruth is the expected unit economics of one workflow type.
type TypeTruth struct {
	Workflow         string         `json:"workflow"`
	Workflows        uint64         `json:"workflows"`
	Completed        uint64         `json:"completed"`
	ValidatedOutputs uint64         `json:"validated_outputs"`
	Exceptions       uint64         `json:"exceptions"`
	Cost             pipeline.Money `json:"cost_nano"`
	ExceptionCost    pipeline.Money `json:"exception_cost_nano"`
	ReviewCost       pipeline.Money `json:"review_cost_nano"`
}

// Truth is the ground truth of a whole run.
type Truth struct {
	Workflows []WorkflowTruth
	Spans     int
	LineItems int
}

// ByLabel is the cost per team (dim "team") or feature (dim "feature") of tenant's
// workflows ("" = all): every line item of a workflow carries its root's labels, late
// reviews included.
func (t *Truth) ByLabel(tenant, dim string) map[string]pipeline.Money {
	out := map[string]pipeline.Money{}
	for _, w := range t.Workflows {
		if tenant != "" && w.Tenant != tenant {
			continue
		}
		key := w.Team
		if dim == "feature" {
			key = w.Feature
		}
		out[key] += w.Cost
	}
	return out
}

// ByType aggregates the workflows per type, sorted by type name; tenant "" means all.
func (t *Truth) ByType(tenant string) []TypeTruth {
	m := map[string]*TypeTruth{}
	for _, w := range t.Workflows {
		if tenant != "" && w.Tenant != tenant {
			continue
		}
		tt := m[w.Type]
		if tt == nil {
			tt = &TypeTruth{Workflow: w.Type}
			m[w.Type] = tt
		}
		tt.Workflows++
		if w.Outcome == pipeline.OutcomeCompleted {
			tt.Completed++
		}
		tt.ValidatedOutputs += w.ValidatedOutputs
		tt.Cost += w.Cost
		tt.ReviewCost += w.ReviewCost
		if w.Reviewed {
			tt.Exceptions++
			tt.ExceptionCost += w.Cost
		}
	}
	out := make([]TypeTruth, 0, len(m))
	for _, tt := range m {
		out = append(out, *tt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Workflow < out[j].Workflow })
	return out
}
