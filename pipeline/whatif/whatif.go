// Package whatif answers "what would this workflow type cost under another routing?" from
// what was recorded: it re-prices the recorded model calls of a step under a candidate
// model (at the price-book version in effect when each call ran, or a named one), adds
// the human review each model is observed to cause, with 95% intervals, and recommends
// the routing with the lowest expected cost per validated output.
//
// It is pure: the caller supplies Data (pipeline/whatif/clickhouse reads it with the
// shipped queries sql/queries/whatif_*.sql) and the price books.
//
// The model, stated once:
//
//	machine(R)        = every recorded model call of the workflow type re-priced with the
//	                    steps R maps sent to their candidate model, plus the recorded cost
//	                    of everything else that is not human review (compute, retrieval,
//	                    tools), over all workflows of the type in the window / their count
//	cohort(R)         = the workflows whose mapped steps ran only on the mapped models (a
//	                    workflow that never ran a mapped step belongs to every cohort)
//	review(R)         = cohort's review rate (Wilson) x its review cost per reviewed
//	                    workflow (t-interval)
//	per workflow(R)   = machine(R) + review(R)
//	per validated(R)  = per workflow(R) / cohort's validated outputs per workflow
//	per completed(R)  = per workflow(R) / cohort's completion rate
//
// Intervals of ratios and products are combined by interval arithmetic, which is
// conservative: the stated range is at least a 95% one.
package whatif

import (
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

// LineGroup is a set of recorded model calls of one workflow type with identical pricing
// inputs: re-pricing one prices them all, exactly, so the store may group them.
type LineGroup struct {
	Tenant      string
	Day         time.Time // UTC day the calls started: selects the price-book version
	Step        string    // the stored step (span name or unitcost.step)
	Operation   string
	Provider    string
	Model       string
	ServiceTier string
	Usage       pipeline.Usage // including the token mix
	Lines       uint64
	Cost        pipeline.Money // recorded cost of all Lines
	Unpriced    uint64
	Errors      uint64 // calls whose span ended in error (failed attempts, billed)
}

// CallSum is recorded model calls of one workflow type summed (a row of the what-if's
// hourly rollup added up over a window): the same tenant, day, step, operation, provider,
// model and service tier, regular and billable counts (see pricing.CallSums), their token
// counts added up. Re-pricing it is exact where pricing.Book.PriceSum says so; elsewhere
// the what-if reads the calls one by one (ErrNotExact).
type CallSum struct {
	Tenant      string
	Day         time.Time // UTC day the calls started: selects the price-book version
	Step        string
	Operation   string
	Provider    string
	Model       string
	ServiceTier string
	Sums        pricing.CallSums // Sums.Calls is the line count
	Cost        pipeline.Money   // recorded cost of the calls
	Unpriced    uint64
	Errors      uint64
}

// StepModel is one (step, model) pair a workflow ran.
type StepModel struct {
	Step, Operation, Model string
}

// Cohort is the workflows of one workflow type that ran the same set of (step, model)
// pairs, with the sums the rates and their intervals need.
type Cohort struct {
	Routing            []StepModel // raw stored steps, as recorded
	Workflows          uint64
	Completed          uint64
	Failed             uint64
	Escalated          uint64
	ValidatedWorkflows uint64 // workflows with at least one validated output
	ValidatedOutputs   uint64
	ValidatedSq        float64 // sum of squares of validated outputs per workflow
	Reviewed           uint64  // workflows with a human review line (the product's exceptions)
	ReviewCost         pipeline.Money
	ReviewCostSq       float64 // sum over reviewed workflows of review cost squared (nano^2)
	ReviewActiveMs     uint64
	ReviewActiveMsSq   float64        // sum over reviewed workflows of active ms squared
	MachineCost        pipeline.Money // recorded cost of every line that is not human review
	Calls, ErrorCalls  uint64         // model calls and those that ended in error
}

// Data is what the store reads for one workflow type over a window.
type Data struct {
	Workflow string
	Tenant   string // "" = all tenants
	From, To time.Time
	Groups   []LineGroup // calls grouped by identical pricing inputs (exact per call)
	Sums     []CallSum   // calls summed from the rollups (exact where PriceSum allows)
	Cohorts  []Cohort
}

// StepKey is the stable key of a step: the span name with a trailing model name removed
// (GenAI semantic conventions name spans "{operation} {model}", so the same step run on
// two models would otherwise be two steps); an explicit unitcost.step is stored as the
// name and kept as is. An empty name falls back to the operation.
func StepKey(name, operation, model string) string {
	key := name
	if i := strings.LastIndexByte(name, ' '); i > 0 && model != "" {
		last := strings.ToLower(name[i+1:])
		m := strings.ToLower(model)
		if j := strings.LastIndexByte(m, '/'); j >= 0 {
			m = m[j+1:]
		}
		if strings.HasPrefix(m, last) || strings.HasPrefix(last, m) {
			key = strings.TrimSpace(name[:i])
		}
	}
	if key == "" {
		key = operation
	}
	return key
}
