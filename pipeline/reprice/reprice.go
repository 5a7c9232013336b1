// Package reprice prices stored line items again under a (new) price book: a price
// change, a negotiated discount applied retroactively, a model that was unpriced and now
// has a price. Rewritten rows keep their keys, so they replace the old ones: running it
// twice gives the same figures as running it once.
package reprice

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

// Store is what re-pricing reads from and writes to (pipeline/store implements it).
type Store interface {
	ReadLineItems(ctx context.Context, from, to time.Time, fn func(pipeline.LineItem) error) error
	Write(ctx context.Context, b pipeline.Batch) error
}

// Result summarises a run.
type Result struct {
	Lines, Changed int
	Before, After  pipeline.Money
	NowPriced      int // lines that were unpriced and have a price now
	NowUnpriced    int // lines that had a price and have none under the new book
	// Skipped lines lack the inputs to price them again (written before migration 0003
	// stored the tool name and compute class); they keep their cost.
	Skipped int
}

// Run re-prices the line items of spans that started in [from, to) with books and writes
// the changed ones back, batchSize rows at a time. progress, if not nil, gets the running
// count.
func Run(ctx context.Context, st Store, books *pricing.Books, from, to time.Time, batchSize int, progress func(Result)) (Result, error) {
	var res Result
	var batch []pipeline.LineItem
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.Write(ctx, pipeline.Batch{LineItems: batch}); err != nil {
			return fmt.Errorf("write re-priced lines: %w", err)
		}
		batch = batch[:0]
		if progress != nil {
			progress(res)
		}
		return nil
	}
	var scratch []pipeline.LineItem
	err := st.ReadLineItems(ctx, from, to, func(old pipeline.LineItem) error {
		res.Lines++
		res.Before += old.Cost
		if (old.Component == pipeline.ComponentTool && old.Span.ToolName == "") ||
			(old.Component == pipeline.ComponentCompute && old.Span.ComputeClass == "") ||
			// A quarantined line stays so under any book: the value it would bill was
			// beyond a limit, and the issue that says so is not read back here.
			strings.HasPrefix(old.UnpricedReason, pricing.QuarantinePrefix) {
			res.Skipped++
			res.After += old.Cost
			return nil
		}
		scratch = books.Price(scratch[:0], old.Span, old.WorkflowID)
		var nu *pipeline.LineItem
		for i := range scratch {
			if scratch[i].Component == old.Component {
				nu = &scratch[i]
			}
		}
		if nu == nil { // the new book does not bill this component: keep it, unpriced
			keep := old
			keep.Cost, keep.Priced = 0, false
			keep.UnpricedReason = "not billed under price book " + books.At(time.Unix(0, old.Span.StartUnixNano)).Version
			nu = &keep
		}
		res.After += nu.Cost
		switch {
		case !old.Priced && nu.Priced:
			res.NowPriced++
		case old.Priced && !nu.Priced:
			res.NowUnpriced++
		}
		if nu.Cost != old.Cost || nu.Priced != old.Priced || nu.PriceVersion != old.PriceVersion {
			res.Changed++
			batch = append(batch, *nu)
			if len(batch) >= batchSize {
				return flush()
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	return res, flush()
}
