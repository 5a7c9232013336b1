package report

import (
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Period is the total unit economics of one window, added up from the hourly rollups.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Row
	LineItems uint64 `json:"line_items"`
	// UnpricedShareBP is unpriced line items / all line items, in basis points.
	UnpricedShareBP int64 `json:"unpriced_share_bp"`
}

// Change compares the current window with the previous one. Amounts change relatively:
// (current - previous) / previous in basis points, null when either side is undefined or
// the previous one is zero. Shares change absolutely: current - previous, in basis points,
// null when either window has no cost (review share) or no line items (unpriced share).
type Change struct {
	CostBP          *int64 `json:"cost_bp"`
	PerCompletedBP  *int64 `json:"cost_per_completed_bp"`
	PerValidatedBP  *int64 `json:"cost_per_validated_output_bp"`
	PerExceptionBP  *int64 `json:"cost_per_exception_bp"`
	ReviewShareBP   *int64 `json:"review_share_bp"`
	UnpricedShareBP *int64 `json:"unpriced_share_bp"`
}

// SummaryDoc is GET /api/v1/summary: the dashboard's KPI tiles, the window against the
// window of the same length just before it.
type SummaryDoc struct {
	Source   string `json:"source"`
	Currency string `json:"currency"`
	Current  Period `json:"current"`
	Previous Period `json:"previous"`
	Change   Change `json:"change"`
}

// NewPeriod adds series points up into a window's totals.
func NewPeriod(from, to time.Time, pts []store.SeriesPoint) Period {
	ue := store.SumByWorkflow(pts)
	p := Period{From: from.UTC(), To: to.UTC(), Row: row(Total(ue))}
	var unpriced uint64
	for _, pt := range pts {
		p.LineItems += pt.LineItems
		unpriced += pt.UnpricedLines
	}
	if p.LineItems > 0 {
		bp, _ := pipeline.MulDiv(10_000, pipeline.Money(unpriced), p.LineItems)
		p.UnpricedShareBP = int64(bp)
	}
	return p
}

// NewSummaryDoc compares two periods.
func NewSummaryDoc(cur, prev Period) SummaryDoc {
	c, p := cur.CostNano, prev.CostNano
	return SummaryDoc{Source: "rollups", Currency: Currency, Current: cur, Previous: prev, Change: Change{
		CostBP:          relChange(&c, &p),
		PerCompletedBP:  relChange(cur.PerCompletedNano, prev.PerCompletedNano),
		PerValidatedBP:  relChange(cur.PerValidatedNano, prev.PerValidatedNano),
		PerExceptionBP:  relChange(cur.PerExceptionNano, prev.PerExceptionNano),
		ReviewShareBP:   diff(cur.ReviewShareBP, prev.ReviewShareBP, cur.CostNano > 0 && prev.CostNano > 0),
		UnpricedShareBP: diff(cur.UnpricedShareBP, prev.UnpricedShareBP, cur.LineItems > 0 && prev.LineItems > 0),
	}}
}

func diff(cur, prev int64, ok bool) *int64 {
	if !ok {
		return nil
	}
	d := cur - prev
	return &d
}

// relChange is (cur - prev) / prev in basis points, rounded half away from zero.
func relChange(cur, prev *int64) *int64 {
	if cur == nil || prev == nil || *prev <= 0 {
		return nil
	}
	diff := *cur - *prev
	neg := diff < 0
	if neg {
		diff = -diff
	}
	bp, ok := pipeline.MulDiv(10_000, pipeline.Money(diff), uint64(*prev))
	if !ok {
		return nil
	}
	v := int64(bp)
	if neg {
		v = -v
	}
	return &v
}
