package report

import (
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// The JSON documents of /api/v1 and of `unitcost report --format json` (one shape for both),
// described by schemas/openapi.yaml. Conventions: snake_case names; lists are [] and never
// null; every amount is an integer of nano-dollars (`*_nano`) plus the same amount as a
// decimal string in dollars with nine decimals (`*_usd`), and every document that holds
// amounts names its `currency`; a ratio that is undefined (a division by zero) is null in
// both forms; shares are integer basis points (`*_bp`, 1/100 of a percent).

func usd(nano int64) string { return pipeline.Money(nano).Dollars(9) }

func optUSD(nano *int64) *string {
	if nano == nil {
		return nil
	}
	s := usd(*nano)
	return &s
}

// Row is one workflow type's unit economics with the derived ratios.
type Row struct {
	Workflow          string  `json:"workflow"`
	Workflows         uint64  `json:"workflows"`
	Completed         uint64  `json:"completed"`
	ValidatedOutputs  uint64  `json:"validated_outputs"`
	Exceptions        uint64  `json:"exceptions"`
	CostNano          int64   `json:"cost_nano"`
	CostUSD           string  `json:"cost_usd"`
	PerCompletedNano  *int64  `json:"cost_per_completed_nano"`
	PerCompletedUSD   *string `json:"cost_per_completed_usd"`
	PerValidatedNano  *int64  `json:"cost_per_validated_output_nano"`
	PerValidatedUSD   *string `json:"cost_per_validated_output_usd"`
	PerExceptionNano  *int64  `json:"cost_per_exception_nano"`
	PerExceptionUSD   *string `json:"cost_per_exception_usd"`
	ExceptionCostNano int64   `json:"exception_cost_nano"`
	ExceptionCostUSD  string  `json:"exception_cost_usd"`
	ReviewCostNano    int64   `json:"review_cost_nano"`
	ReviewCostUSD     string  `json:"review_cost_usd"`
	// ReviewShareBP is the review share of cost in basis points (1/100 of a percent).
	ReviewShareBP int64  `json:"review_share_bp"`
	UnpricedLines uint64 `json:"unpriced_lines"`
}

// UnitEconomicsDoc is GET /api/v1/unit-economics: one row per workflow type and their total.
type UnitEconomicsDoc struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Source   string    `json:"source"`
	Currency string    `json:"currency"`
	Rows     []Row     `json:"rows"`
	Total    Row       `json:"total"`
}

// NewUnitEconomicsDoc derives the rows and their total; source is "line_items" or "rollups".
func NewUnitEconomicsDoc(from, to time.Time, source string, ue []store.UnitEconomics) UnitEconomicsDoc {
	d := UnitEconomicsDoc{From: from.UTC(), To: to.UTC(), Source: source, Currency: Currency, Rows: make([]Row, 0, len(ue))}
	for _, u := range ue {
		d.Rows = append(d.Rows, row(u))
	}
	d.Total = row(Total(ue))
	return d
}

// Total adds unit economics up into one row named TOTAL.
func Total(ue []store.UnitEconomics) store.UnitEconomics {
	t := store.UnitEconomics{Workflow: "TOTAL"}
	for _, u := range ue {
		t.Workflows += u.Workflows
		t.Completed += u.Completed
		t.ValidatedOutputs += u.ValidatedOutputs
		t.Exceptions += u.Exceptions
		t.Cost += u.Cost
		t.ExceptionCost += u.ExceptionCost
		t.ReviewCost += u.ReviewCost
		t.UnpricedLines += u.UnpricedLines
	}
	return t
}

// BreakdownRow is the cost of one value of a dimension.
type BreakdownRow struct {
	Key           string `json:"key"`
	LineItems     uint64 `json:"line_items"`
	CostNano      int64  `json:"cost_nano"`
	CostUSD       string `json:"cost_usd"`
	CostShareBP   int64  `json:"cost_share_bp"`
	InputTokens   uint64 `json:"input_tokens"`
	OutputTokens  uint64 `json:"output_tokens"`
	UnpricedLines uint64 `json:"unpriced_lines"`
}

// BreakdownDoc is GET /api/v1/breakdown.
type BreakdownDoc struct {
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	By        string         `json:"by"`
	Source    string         `json:"source"`
	Currency  string         `json:"currency"`
	TotalNano int64          `json:"total_cost_nano"`
	TotalUSD  string         `json:"total_cost_usd"`
	Rows      []BreakdownRow `json:"rows"`
}

// NewBreakdownDoc derives each row's share of the total.
func NewBreakdownDoc(from, to time.Time, by, source string, in []store.BreakdownRow) BreakdownDoc {
	d := BreakdownDoc{From: from.UTC(), To: to.UTC(), By: by, Source: source, Currency: Currency, Rows: make([]BreakdownRow, 0, len(in))}
	var total pipeline.Money
	for _, r := range in {
		total += r.Cost
	}
	for _, r := range in {
		d.Rows = append(d.Rows, BreakdownRow{Key: r.Key, LineItems: r.LineItems, CostNano: int64(r.Cost), CostUSD: usd(int64(r.Cost)),
			CostShareBP: shareBP(r.Cost, total), InputTokens: r.InputTokens, OutputTokens: r.OutputTokens, UnpricedLines: r.Unpriced})
	}
	d.TotalNano, d.TotalUSD = int64(total), usd(int64(total))
	return d
}

// shareBP is part/whole in basis points, 0 when whole is not positive.
func shareBP(part, whole pipeline.Money) int64 {
	if whole <= 0 || part < 0 {
		return 0
	}
	bp, _ := pipeline.MulDiv(10_000, part, uint64(whole))
	return int64(bp)
}

// TopWorkflow is one of the most expensive workflows.
type TopWorkflow struct {
	WorkflowID    string    `json:"workflow_id"`
	Workflow      string    `json:"workflow"`
	Tenant        string    `json:"tenant"`
	Outcome       string    `json:"outcome"`
	OutcomeSource string    `json:"outcome_source"`
	Session       string    `json:"session"`
	User          string    `json:"user"`
	StartTime     time.Time `json:"start_time"`
	LineItems     uint64    `json:"line_items"`
	CostNano      int64     `json:"cost_nano"`
	CostUSD       string    `json:"cost_usd"`
}

// TopDoc is GET /api/v1/workflows/top.
type TopDoc struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Source is "line_items" (exact to the latest write) or "rollups" (whole hours, as of
	// the last rollup refresh).
	Source   string        `json:"source"`
	Limit    int           `json:"limit"`
	Currency string        `json:"currency"`
	Rows     []TopWorkflow `json:"rows"`
}

// NewTopDoc converts the store's rows.
func NewTopDoc(from, to time.Time, source string, limit int, in []store.TopWorkflow) TopDoc {
	d := TopDoc{From: from.UTC(), To: to.UTC(), Source: source, Limit: limit, Currency: Currency, Rows: make([]TopWorkflow, 0, len(in))}
	for _, w := range in {
		d.Rows = append(d.Rows, TopWorkflow{WorkflowID: w.WorkflowID, Workflow: w.Workflow, Tenant: w.Tenant, Outcome: w.Outcome,
			OutcomeSource: w.OutcomeSource, Session: w.Session, User: w.User, StartTime: w.Start.UTC(), LineItems: w.LineItems, CostNano: int64(w.Cost), CostUSD: usd(int64(w.Cost))})
	}
	return d
}

// Line is one line item of a workflow with its price provenance.
type Line struct {
	SpanID          string    `json:"span_id"`
	Step            string    `json:"step"`
	StartTime       time.Time `json:"start_time"`
	DurationMs      uint64    `json:"duration_ms"`
	Component       string    `json:"component"`
	Provider        string    `json:"provider"`
	Model           string    `json:"model"`
	InputTokens     uint64    `json:"input_tokens"`
	OutputTokens    uint64    `json:"output_tokens"`
	CacheReadTokens uint64    `json:"cache_read_tokens"`
	UsageEstimated  bool      `json:"usage_estimated"`
	CostNano        int64     `json:"cost_nano"`
	CostUSD         string    `json:"cost_usd"`
	Priced          bool      `json:"priced"`
	UnpricedReason  string    `json:"unpriced_reason"`
	PriceVersion    string    `json:"price_version"`
	PriceRule       string    `json:"price_rule"`
	Issues          []string  `json:"issues"`
}

// WorkflowFacts is one workflow's row, shown above its lines.
type WorkflowFacts struct {
	WorkflowID string `json:"workflow_id"`
	Workflow   string `json:"workflow"`
	Tenant     string `json:"tenant"`
	Version    string `json:"workflow_version"`
	Outcome    string `json:"outcome"`
	// OutcomeSource says which rule decided Outcome.
	OutcomeSource    string            `json:"outcome_source"`
	ValidatedOutputs uint64            `json:"validated_outputs"`
	StartTime        time.Time         `json:"start_time"`
	DurationMs       uint64            `json:"duration_ms"`
	Session          string            `json:"session"`
	User             string            `json:"user"`
	Service          string            `json:"service"`
	Environment      string            `json:"environment"`
	Labels           map[string]string `json:"labels"`
}

// LinesDoc is GET /api/v1/workflows/{id}/lines: the drill-down of one workflow. Workflow is
// null while a late span's lines are written before the workflow's row.
type LinesDoc struct {
	WorkflowID string         `json:"workflow_id"`
	Workflow   *WorkflowFacts `json:"workflow"`
	Currency   string         `json:"currency"`
	CostNano   int64          `json:"cost_nano"`
	CostUSD    string         `json:"cost_usd"`
	Rows       []Line         `json:"rows"`
}

// NewLinesDoc converts the store's facts (nil when unknown) and lines and adds them up.
func NewLinesDoc(id string, facts *store.WorkflowFacts, in []store.Line) LinesDoc {
	d := LinesDoc{WorkflowID: id, Currency: Currency, Rows: make([]Line, 0, len(in))}
	if f := facts; f != nil {
		labels := f.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		d.Workflow = &WorkflowFacts{WorkflowID: f.WorkflowID, Workflow: f.Workflow, Tenant: f.Tenant, Version: f.Version, Outcome: f.Outcome,
			OutcomeSource: f.OutcomeSource, ValidatedOutputs: f.ValidatedOutputs, StartTime: f.Start.UTC(), DurationMs: f.DurationMs,
			Session: f.Session, User: f.User, Service: f.Service, Environment: f.Environment, Labels: labels}
	}
	for _, l := range in {
		issues := l.Issues
		if issues == nil {
			issues = []string{}
		}
		d.CostNano += int64(l.Cost)
		d.Rows = append(d.Rows, Line{SpanID: l.SpanID, Step: l.Step, StartTime: l.StartTime.UTC(), DurationMs: l.DurationMs,
			Component: l.Component, Provider: l.Provider, Model: l.Model, InputTokens: l.InputTokens, OutputTokens: l.OutputTokens,
			CacheReadTokens: l.CacheRead, UsageEstimated: l.UsageEstimated, CostNano: int64(l.Cost), CostUSD: usd(int64(l.Cost)),
			Priced: l.Priced, UnpricedReason: l.UnpricedReason, PriceVersion: l.PriceVersion, PriceRule: l.PriceRule, Issues: issues})
	}
	d.CostUSD = usd(d.CostNano)
	return d
}

// ContextRow is one workflow type's input token mix with the context share.
type ContextRow struct {
	Workflow      string `json:"workflow"`
	CallsWithMix  uint64 `json:"calls_with_mix"`
	SystemTokens  uint64 `json:"system_tokens"`
	ContextTokens uint64 `json:"context_tokens"`
	HistoryTokens uint64 `json:"history_tokens"`
	UserTokens    uint64 `json:"user_tokens"`
	OtherTokens   uint64 `json:"other_tokens"`
	MixTokens     uint64 `json:"mix_tokens"`
	// ContextShareBP is retrieved context / all counted input, in basis points.
	ContextShareBP int64 `json:"context_share_bp"`
}

// ContextDoc is GET /api/v1/context-share.
type ContextDoc struct {
	From time.Time    `json:"from"`
	To   time.Time    `json:"to"`
	Rows []ContextRow `json:"rows"`
}

// NewContextDoc derives the context share of each row.
func NewContextDoc(from, to time.Time, in []store.ContextShare) ContextDoc {
	return ContextDoc{From: from.UTC(), To: to.UTC(), Rows: ContextRows(in)}
}

// SeriesRow is one bucket's unit economics for one workflow type.
type SeriesRow struct {
	Bucket time.Time `json:"bucket"`
	Row
	InputTokens  uint64 `json:"input_tokens"`
	OutputTokens uint64 `json:"output_tokens"`
	LineItems    uint64 `json:"line_items"`
}

// SeriesDoc is GET /api/v1/series.
type SeriesDoc struct {
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Bucket   string      `json:"bucket"`
	Currency string      `json:"currency"`
	Rows     []SeriesRow `json:"rows"`
}

// NewSeriesDoc derives the ratios of each point.
func NewSeriesDoc(from, to time.Time, bucket string, in []store.SeriesPoint) SeriesDoc {
	return SeriesDoc{From: from.UTC(), To: to.UTC(), Bucket: bucket, Currency: Currency, Rows: SeriesRows(in)}
}

// CostPoint is one bucket's cost for one workflow type, component, model and version.
type CostPoint struct {
	Bucket          time.Time `json:"bucket"`
	Workflow        string    `json:"workflow"`
	Component       string    `json:"component"`
	Model           string    `json:"model"`
	WorkflowVersion string    `json:"workflow_version"`
	LineItems       uint64    `json:"line_items"`
	UnpricedLines   uint64    `json:"unpriced_lines"`
	CostNano        int64     `json:"cost_nano"`
	CostUSD         string    `json:"cost_usd"`
	InputTokens     uint64    `json:"input_tokens"`
	OutputTokens    uint64    `json:"output_tokens"`
}

// SeriesCostsDoc is GET /api/v1/series/costs.
type SeriesCostsDoc struct {
	From     time.Time   `json:"from"`
	To       time.Time   `json:"to"`
	Bucket   string      `json:"bucket"`
	Currency string      `json:"currency"`
	Rows     []CostPoint `json:"rows"`
}

// NewSeriesCostsDoc converts the store's points.
func NewSeriesCostsDoc(from, to time.Time, bucket string, in []store.CostPoint) SeriesCostsDoc {
	d := SeriesCostsDoc{From: from.UTC(), To: to.UTC(), Bucket: bucket, Currency: Currency, Rows: make([]CostPoint, 0, len(in))}
	for _, p := range in {
		d.Rows = append(d.Rows, CostPoint{Bucket: p.Bucket.UTC(), Workflow: p.Workflow, Component: p.Component, Model: p.Model,
			WorkflowVersion: p.WorkflowVersion, LineItems: p.LineItems, UnpricedLines: p.UnpricedLines, CostNano: int64(p.Cost),
			CostUSD: usd(int64(p.Cost)), InputTokens: p.InputTokens, OutputTokens: p.OutputTokens})
	}
	return d
}

// ReportedCostRow compares the computed cost of one model's lines with the cost the
// provider reported on them. ReportedCurrency is the currency the provider named ("" when
// it named none; USD by convention); the amounts are in the document's currency.
type ReportedCostRow struct {
	Provider                  string `json:"provider"`
	Model                     string `json:"model"`
	ReportedCurrency          string `json:"reported_currency"`
	LineItems                 uint64 `json:"line_items"`
	ReportedLines             uint64 `json:"reported_lines"`
	ComputedCostNano          int64  `json:"computed_cost_nano"`
	ComputedCostUSD           string `json:"computed_cost_usd"`
	ComputedWhereReportedNano int64  `json:"computed_where_reported_nano"`
	ComputedWhereReportedUSD  string `json:"computed_where_reported_usd"`
	ReportedCostNano          int64  `json:"reported_cost_nano"`
	ReportedCostUSD           string `json:"reported_cost_usd"`
	DifferenceNano            int64  `json:"difference_nano"`
	DifferenceUSD             string `json:"difference_usd"`
}

// ReportedCostDoc is GET /api/v1/reported-cost.
type ReportedCostDoc struct {
	From     time.Time         `json:"from"`
	To       time.Time         `json:"to"`
	Currency string            `json:"currency"`
	Rows     []ReportedCostRow `json:"rows"`
}

// NewReportedCostDoc converts the store's rows.
func NewReportedCostDoc(from, to time.Time, in []store.ReportedCost) ReportedCostDoc {
	d := ReportedCostDoc{From: from.UTC(), To: to.UTC(), Currency: Currency, Rows: make([]ReportedCostRow, 0, len(in))}
	for _, r := range in {
		d.Rows = append(d.Rows, ReportedCostRow{Provider: r.Provider, Model: r.Model, ReportedCurrency: r.Currency, LineItems: r.Lines,
			ReportedLines: r.ReportedLines, ComputedCostNano: int64(r.Computed), ComputedCostUSD: usd(int64(r.Computed)),
			ComputedWhereReportedNano: int64(r.ComputedWhereReported), ComputedWhereReportedUSD: usd(int64(r.ComputedWhereReported)),
			ReportedCostNano: int64(r.Reported), ReportedCostUSD: usd(int64(r.Reported)), DifferenceNano: int64(r.Difference),
			DifferenceUSD: usd(int64(r.Difference))})
	}
	return d
}

// ErrorDoc is the body of every error response.
type ErrorDoc struct {
	Error string `json:"error"`
}
