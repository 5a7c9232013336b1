package whatif_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/whatif"
)

func TestWilson(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		k, n   uint64
		lo, hi float64
	}{
		{10, 100, 0.05523, 0.17437}, // the textbook example
		{0, 20, 0, 0.16113},
		{20, 20, 0.83887, 1},
		{0, 0, 0, 1},
	} {
		w := whatif.Wilson(c.k, c.n)
		if math.Abs(w.Lo-c.lo) > 1e-4 || math.Abs(w.Hi-c.hi) > 1e-4 {
			t.Errorf("Wilson(%d, %d) = [%.5f, %.5f], want [%.5f, %.5f]", c.k, c.n, w.Lo, w.Hi, c.lo, c.hi)
		}
	}
}

func TestMeanT(t *testing.T) {
	t.Parallel()
	// 2, 4, 6, 8: mean 5, sd 2.582, t(0.975, 3) = 3.182: half width 4.108
	i := whatif.MeanT(4, 20, 4+16+36+64, 0)
	if i.Point != 5 || math.Abs(i.Hi-9.108) > 1e-3 || i.Lo != 0.892 && math.Abs(i.Lo-0.892) > 1e-3 {
		t.Fatalf("MeanT = %+v", i)
	}
	if one := whatif.MeanT(1, 3, 9, 0); !math.IsInf(one.Hi, 1) {
		t.Fatalf("one observation bounded: %+v", one)
	}
	// large n: close to the normal interval
	big := whatif.MeanT(10000, 10000, 20000, 0) // mean 1, variance ~1
	if math.Abs(big.Hi-1-1.96*0.01) > 1e-3 {
		t.Fatalf("large-n interval %+v", big)
	}
}

func TestStepKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, op, model, want string }{
		{"chat gpt-5", "chat", "gpt-5", "chat"},
		{"chat gpt-4.1-mini", "chat", "gpt-4.1-mini-2025-04-14", "chat"},
		{"embeddings text-embedding-3-small", "embeddings", "text-embedding-3-small", "embeddings"},
		{"classify", "chat", "gpt-5-nano", "classify"},
		{"ai.generateText.doGenerate", "chat", "gpt-5-nano", "ai.generateText.doGenerate"},
		{"extract fields", "chat", "gemini-2.5-flash", "extract fields"},
		{"", "chat", "gpt-5", "chat"},
	} {
		if got := whatif.StepKey(c.name, c.op, c.model); got != c.want {
			t.Errorf("StepKey(%q, %q, %q) = %q, want %q", c.name, c.op, c.model, got, c.want)
		}
	}
}

func books(t *testing.T) *pricing.Books {
	t.Helper()
	b, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return pricing.Single(b)
}

var day = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// group prices one call with the book, as the pipeline recorded it.
func group(t *testing.T, bs *pricing.Books, model string, u pipeline.Usage, lines uint64) whatif.LineGroup {
	t.Helper()
	sp := pipeline.Span{Tenant: "acme", Name: "classify", Operation: pipeline.OpChat, Provider: "openai", Model: model, Usage: u, StartUnixNano: day.UnixNano()}
	li := bs.Price(nil, &sp, "")
	return whatif.LineGroup{Tenant: "acme", Day: day, Step: "classify", Operation: "chat", Provider: "openai", Model: model, Usage: u,
		Lines: lines, Cost: li[0].Cost * pipeline.Money(lines)}
}

// cohort is n workflows of one model with `reviewed` of them reviewed at $3.50 each (a
// spread of 3.0 to 4.0), one validated output each.
func cohort(model string, n, reviewed uint64, machine pipeline.Money) whatif.Cohort {
	c := whatif.Cohort{Routing: []whatif.StepModel{{Step: "classify", Operation: "chat", Model: model}}, Workflows: n, Completed: n,
		ValidatedWorkflows: n, ValidatedOutputs: n, ValidatedSq: float64(n), Reviewed: reviewed, MachineCost: machine, Calls: n}
	for i := uint64(0); i < reviewed; i++ {
		cost := 3_000_000_000 + pipeline.Money(i%2)*1_000_000_000
		c.ReviewCost += cost
		c.ReviewCostSq += float64(cost) * float64(cost)
		ms := uint64(270_000 + (i%2)*90_000)
		c.ReviewActiveMs += ms
		c.ReviewActiveMsSq += float64(ms) * float64(ms)
	}
	return c
}

func ticketData(t *testing.T, nanoReview, frontierReview uint64) (whatif.Data, *pricing.Books) {
	bs := books(t)
	nano := group(t, bs, "gpt-5-nano", pipeline.Usage{InputTokens: 8000, OutputTokens: 20, CacheReadTokens: 256}, 850)
	frontier := group(t, bs, "gpt-5", pipeline.Usage{InputTokens: 8000, OutputTokens: 1120, ReasoningTokens: 1100}, 150)
	d := whatif.Data{Workflow: "ticket_classification", From: day, To: day.Add(24 * time.Hour),
		Groups: []whatif.LineGroup{nano, frontier},
		Cohorts: []whatif.Cohort{
			cohort("gpt-5-nano", 850, nanoReview, nano.Cost),
			cohort("gpt-5", 150, frontierReview, frontier.Cost),
		}}
	return d, bs
}

func TestAsRecordedEqualsRecordedCost(t *testing.T) {
	t.Parallel()
	d, bs := ticketData(t, 170, 15)
	rep, err := whatif.Analyze(d, whatif.Options{Pricer: whatif.Pricer{Books: bs}})
	if err != nil {
		t.Fatal(err)
	}
	cur := rep.Routings[0]
	if cur.Routing != whatif.AsRecorded {
		t.Fatalf("first routing %q", cur.Routing)
	}
	total := d.Cohorts[0].MachineCost + d.Cohorts[1].MachineCost + d.Cohorts[0].ReviewCost + d.Cohorts[1].ReviewCost
	// cost per validated output as recorded = all cost / validated outputs, exactly
	want, _ := pipeline.MulDiv(1, total, 1000)
	if cur.PerValidated.PointNano != int64(want) {
		t.Fatalf("as recorded per validated %d, want %d", cur.PerValidated.PointNano, want)
	}
	mach, _ := pipeline.MulDiv(1, d.Cohorts[0].MachineCost+d.Cohorts[1].MachineCost, 1000)
	if cur.MachinePerWorkflow.PointNano != int64(mach) {
		t.Fatalf("machine per workflow %d, want %d", cur.MachinePerWorkflow.PointNano, mach)
	}
}

// The cheap model doubles review: the frontier model wins in total despite costing more
// in tokens; with equal review rates the cheap one wins.
func TestRecommendationCountsReview(t *testing.T) {
	t.Parallel()
	d, bs := ticketData(t, 170, 15) // 20% vs 10%
	rep, err := whatif.Analyze(d, whatif.Options{Pricer: whatif.Pricer{Books: bs}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Recommendation.Routing; got != "classify=gpt-5" {
		t.Fatalf("recommended %q, want classify=gpt-5\n%+v", got, rep.Recommendation)
	}
	if !strings.Contains(rep.Recommendation.Why, "classify=gpt-5-nano is cheaper in machine cost") {
		t.Fatalf("why does not name the cheaper model losing on review: %s", rep.Recommendation.Why)
	}
	if rep.Recommendation.SavingNano <= 0 {
		t.Fatalf("saving %d", rep.Recommendation.SavingNano)
	}
	if len(rep.Routings) != 3 {
		t.Fatalf("routings %d, want as recorded + 2", len(rep.Routings))
	}
	// machine cost under gpt-5 for all: every call re-priced at gpt-5's rates
	nanoAsFrontier := group(t, bs, "gpt-5", d.Groups[0].Usage, 850).Cost
	want, _ := pipeline.MulDiv(1, nanoAsFrontier+d.Groups[1].Cost, 1000)
	for _, e := range rep.Routings {
		if e.Routing == "classify=gpt-5" && e.MachinePerWorkflow.PointNano != int64(want) {
			t.Fatalf("machine per workflow under gpt-5 %d, want %d", e.MachinePerWorkflow.PointNano, want)
		}
	}

	d, bs = ticketData(t, 85, 15) // 10% vs 10%
	rep, err = whatif.Analyze(d, whatif.Options{Pricer: whatif.Pricer{Books: bs}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Recommendation.Routing; got != "classify=gpt-5-nano" {
		t.Fatalf("equal review: recommended %q, want classify=gpt-5-nano", got)
	}
}

func TestTooFewSamples(t *testing.T) {
	t.Parallel()
	d, bs := ticketData(t, 170, 15)
	d.Cohorts[1] = cohort("gpt-5", 12, 1, d.Cohorts[1].MachineCost)
	rep, err := whatif.Analyze(d, whatif.Options{Pricer: whatif.Pricer{Books: bs}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rep.Routings {
		if e.Routing != "classify=gpt-5" {
			continue
		}
		if e.EnoughData || !strings.Contains(strings.Join(e.Notes, ";"), "too few samples: 12 workflows") {
			t.Fatalf("12 samples counted as enough: %+v", e)
		}
		if e.PerValidated.HiNano == nil || *e.PerValidated.HiNano <= e.PerValidated.LoNano {
			t.Fatalf("no range: %+v", e.PerValidated)
		}
	}
	if rep.Recommendation.Routing == "classify=gpt-5" {
		t.Fatal("recommended a routing with too few samples")
	}
}

func TestUserSuppliedRatesAndScenario(t *testing.T) {
	t.Parallel()
	d, bs := ticketData(t, 170, 15)
	rep, err := whatif.Analyze(d, whatif.Options{Pricer: whatif.Pricer{Books: bs}, Scenarios: []whatif.Scenario{
		{Changes: map[string]whatif.Change{"classify": {Model: "gpt-4.1", Provider: "openai"}}, Assumed: &whatif.Assumed{ReviewRate: 0.05}},
		{Changes: map[string]whatif.Change{"classify": {Model: "no-such-model"}}},
		{Changes: map[string]whatif.Change{"classify": {ServiceTier: "batch"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Scenarios
	if s[0].RatesSource != whatif.SourceUser || s[0].Routing != "classify=gpt-4.1" || s[0].ReviewRate.Point != 0.05 {
		t.Fatalf("user scenario %+v", s[0])
	}
	if s[1].EnoughData || s[1].UnpricedLines != 1000 {
		t.Fatalf("unknown model scenario %+v", s[1])
	}
	// batch halves gpt-5's rates; gpt-5-nano has no batch tier (standard rates)
	if s[2].MachinePerWorkflow.PointNano >= rep.Routings[0].MachinePerWorkflow.PointNano {
		t.Fatalf("batch tier not cheaper: %+v", s[2].MachinePerWorkflow)
	}
}

func TestContextCutAndJSON(t *testing.T) {
	t.Parallel()
	bs := books(t)
	g := group(t, bs, "gpt-4.1-mini", pipeline.Usage{InputTokens: 3000, OutputTokens: 200, Mix: pipeline.TokenMix{System: 200, Context: 2000, User: 800}}, 10)
	g2 := group(t, bs, "gpt-4.1-mini", pipeline.Usage{InputTokens: 3000, OutputTokens: 200}, 10)
	d := whatif.Data{Workflow: "rag_qa", From: day, To: day.Add(time.Hour), Groups: []whatif.LineGroup{g, g2},
		Cohorts: []whatif.Cohort{cohort("gpt-4.1-mini", 20, 0, g.Cost+g2.Cost)}}
	rep, err := whatif.Analyze(d, whatif.Options{Pricer: whatif.Pricer{Books: bs, CutContextPct: 50}})
	if err != nil {
		t.Fatal(err)
	}
	cs := rep.Context.Steps[0]
	// 1000 context tokens fewer at $0.40/M on 10 calls = $0.004
	if cs.CallsWithMix != 10 || cs.SavingNano != 4_000_000 || cs.SavingUSD != "0.004000000" {
		t.Fatalf("context cut %+v", cs)
	}
	var buf bytes.Buffer
	if err := whatif.WriteJSON(&buf, []*whatif.Report{rep}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "null") && !strings.Contains(buf.String(), `"hi_nano": null`) {
		t.Fatalf("null in JSON:\n%s", buf.String())
	}
	var back any
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if n := checkMoney(t, "", back); n < 20 {
		t.Fatalf("only %d amounts in the JSON:\n%s", n, buf.String())
	}
	buf.Reset()
	if err := whatif.WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Context what-if: retrieved context cut by 50%") {
		t.Fatalf("table:\n%s", buf.String())
	}
}

// The Wilson interval covers the true rate about 95% of the time, at the sample sizes
// and rates the what-if sees.
func TestWilsonCoverage(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		p float64
		n int
	}{{0.01, 1000}, {0.1, 100}, {0.1, 1000}, {0.2, 300}, {0.5, 50}} {
		covered := 0
		const trials = 4000
		for i := 0; i < trials; i++ {
			k := 0
			for j := 0; j < c.n; j++ {
				if rng.Float64() < c.p {
					k++
				}
			}
			if whatif.Wilson(uint64(k), uint64(c.n)).Contains(c.p) {
				covered++
			}
		}
		if cov := float64(covered) / trials; cov < 0.93 || cov > 0.985 {
			t.Errorf("p=%.2f n=%d: Wilson covered the truth %.3f of the time", c.p, c.n, cov)
		}
	}
}

// The expected cost per validated output's range covers the true figure about 95% of
// the time (here from the t-interval of the review cost per workflow, with ~45 reviews).
func TestCostRangeCoverage(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	bs := books(t)
	g := group(t, bs, "gpt-5-nano", pipeline.Usage{InputTokens: 1000, OutputTokens: 20}, 1)
	const n, p, trials = 300, 0.15, 600
	// review cost uniform on [1, 6] dollars: mean 3.5
	truth := float64(g.Cost) + p*3.5e9
	covered := 0
	for i := 0; i < trials; i++ {
		c := whatif.Cohort{Routing: []whatif.StepModel{{Step: "classify", Operation: "chat", Model: "gpt-5-nano"}}, Workflows: n, Completed: n,
			ValidatedWorkflows: n, ValidatedOutputs: n, ValidatedSq: n, Calls: n, MachineCost: g.Cost * n}
		for j := 0; j < n; j++ {
			if rng.Float64() < p {
				cost := pipeline.Money(1e9 + rng.Float64()*5e9)
				c.Reviewed++
				c.ReviewCost += cost
				c.ReviewCostSq += float64(cost) * float64(cost)
			}
		}
		gg := g
		gg.Lines, gg.Cost = n, g.Cost*n
		rep, err := whatif.Analyze(whatif.Data{Workflow: "w", From: day, To: day.Add(time.Hour), Groups: []whatif.LineGroup{gg}, Cohorts: []whatif.Cohort{c}},
			whatif.Options{Pricer: whatif.Pricer{Books: bs}})
		if err != nil {
			t.Fatal(err)
		}
		pv := rep.Routings[0].PerValidated
		if float64(pv.LoNano) <= truth && pv.HiNano != nil && float64(*pv.HiNano) >= truth {
			covered++
		}
	}
	if cov := float64(covered) / trials; cov < 0.93 {
		t.Errorf("the cost range covered the truth %.3f of the time", cov)
	} else {
		t.Logf("coverage %.3f", cov)
	}
}

// The 1:1 carry-over between OpenAI's two tokenizer families is within 3% on English
// prose: the basis of the estimate TokenizerFamily documents.
func TestTokenizerFamiliesAgree(t *testing.T) {
	t.Parallel()
	prose := []string{
		"The cost of calling a language model has fallen by two orders of magnitude over the past three years. " +
			"Cheaper tokens lower the cost of experimentation and make more use cases viable, but they do not reduce " +
			"the complexity of running AI in production: the total system grows faster than the per-token cost falls.",
		"Routing and tiering send simple, high-confidence tasks to cheaper models and reserve frontier capacity for " +
			"complex, ambiguous cases. A cheaper model that requires twice the human review might cost more in total " +
			"than a more capable model that resolves most cases without escalation.",
		"Please summarise the attached invoice: the supplier, the total amount due, the due date and any line items " +
			"that look unusual compared with last month's order. Reply in two short paragraphs.",
	}
	var tk pricing.Tokenizer
	for _, p := range prose {
		o, err := tk.Count("gpt-4o", []string{p})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tk.Count("gpt-4", []string{p})
		if err != nil {
			t.Fatal(err)
		}
		if r := float64(c) / float64(o); r < 0.97 || r > 1.03 {
			t.Errorf("cl100k/o200k = %d/%d = %.3f on %.40q...", c, o, r, p)
		}
	}
	if whatif.TokenizerFamily("openai", "gpt-5-nano") != whatif.TokenizerFamily("openai", "gpt-5") ||
		whatif.TokenizerFamily("anthropic", "claude-opus-4-1") == whatif.TokenizerFamily("openai", "gpt-4.1-mini") {
		t.Fatal("tokenizer families")
	}
}

// checkMoney walks a decoded JSON document and checks the API's money convention on every
// amount: each `X_nano` has its `X_usd`, the same amount as a decimal string of dollars with
// nine decimals (both null together when undefined), and no amount goes by a bare name
// (cost, saving, point, lo, hi). It returns the number of amounts checked.
func checkMoney(t *testing.T, path string, v any) int {
	t.Helper()
	n := 0
	switch v := v.(type) {
	case []any:
		for i, x := range v {
			n += checkMoney(t, fmt.Sprintf("%s[%d]", path, i), x)
		}
	case map[string]any:
		for k, x := range v {
			_, text := x.(string)
			switch k {
			case "cost", "cut_cost", "saving", "saving_per_month", "saving_per_validated_output":
				t.Errorf("%s.%s: an amount by a bare name (want %s_nano and %s_usd)", path, k, k, k)
			case "point", "lo", "hi": // a rate's or a count's interval is a number; an amount's is not named so
				if text || x == nil && k != "hi" {
					t.Errorf("%s.%s: an amount by a bare name (want %s_nano and %s_usd)", path, k, k, k)
				}
			}
			if base, ok := strings.CutSuffix(k, "_nano"); ok {
				n++
				u, has := v[base+"_usd"]
				switch {
				case !has:
					t.Errorf("%s.%s has no %s_usd", path, k, base)
				case x == nil || u == nil:
					if x != nil || u != nil {
						t.Errorf("%s.%s = %v but %s_usd = %v: null together or not at all", path, k, x, base, u)
					}
				default:
					s, _ := u.(string)
					if want := nanoString(t, x); s != want {
						t.Errorf("%s.%s_usd = %q, want %q (%s_nano %v)", path, base, s, want, base, x)
					}
				}
			}
			n += checkMoney(t, path+"."+k, x)
		}
	}
	return n
}

func nanoString(t *testing.T, x any) string {
	f, ok := x.(float64)
	if !ok || f != float64(int64(f)) {
		t.Errorf("amount %v is not an integer", x)
		return ""
	}
	return pipeline.Money(int64(f)).Dollars(9)
}

// InnerHours: the whole hours strictly inside a window and its partial edges, which
// together cover exactly the window.
func TestInnerHours(t *testing.T) {
	h := func(hh, mm int) time.Time { return time.Date(2026, 11, 1, hh, mm, 0, 0, time.UTC) }
	for _, c := range []struct {
		from, to time.Time
		want     string
	}{
		{h(10, 0), h(12, 0), "10:00-12:00 []"},
		{h(10, 30), h(13, 15), "11:00-13:00 [10:30-11:00 13:00-13:15]"},
		{h(10, 30), h(12, 0), "11:00-12:00 [10:30-11:00]"},
		{h(10, 0), h(11, 45), "10:00-11:00 [11:00-11:45]"},
		{h(10, 10), h(10, 50), "- [10:10-10:50]"},
		{h(10, 30), h(11, 20), "- [10:30-11:20]"},
		{h(10, 30), h(11, 0), "- [10:30-11:00]"},
	} {
		hf, ht, edges := whatif.InnerHours(c.from, c.to)
		got := "-"
		if hf.Before(ht) {
			got = hf.Format("15:04") + "-" + ht.Format("15:04")
		}
		parts := []string{}
		for _, e := range edges {
			parts = append(parts, e[0].Format("15:04")+"-"+e[1].Format("15:04"))
		}
		got += " [" + strings.Join(parts, " ") + "]"
		if got != c.want {
			t.Errorf("%s-%s: %s, want %s", c.from.Format("15:04"), c.to.Format("15:04"), got, c.want)
		}
	}
}
