package main

import (
	"fmt"
	"os"
	"time"

	"github.com/unitcost/unitcost/pipeline/reprice"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

func runReprice(args []string) error {
	fs, s := newFlags("reprice", "Price stored line items again under the configured price book (process.price_book):\na price change, a retroactive discount, a model that was unpriced. Rewritten rows replace\nthe old ones, so running it twice gives the same figures as once.",
		"Spans are selected by start time; each is priced by the book version in effect then.")
	since := fs.Duration("since", 0, "re-price spans that started in this window, ending at --until (e.g. 720h)")
	from := fs.String("from", "", "window start, YYYY-MM-DD or RFC 3339 (instead of --since)")
	until := fs.String("until", "", "window end, YYYY-MM-DD or RFC 3339 (default: now)")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	to := time.Now().UTC()
	if *until != "" {
		if to, err = parseWhen(*until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	var start time.Time
	switch {
	case *from != "":
		if start, err = parseWhen(*from); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	case *since > 0:
		start = to.Add(-*since)
	default:
		return fmt.Errorf("say which spans: --since 720h or --from 2026-11-01")
	}
	books, err := stack.LoadBook(ss.cfg.Process.PriceBook)
	if err != nil {
		return err
	}
	if err := migrate(ss.ctx, ss.cfg.ClickHouse, ss.log); err != nil {
		return err
	}
	st, err := store.Open(ss.ctx, ss.cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	pr := newProgress()
	res, err := reprice.Run(ss.ctx, st, books, start, to, 10_000, func(r reprice.Result) {
		pr.update(false, "reprice: %d lines read, %d changed", r.Lines, r.Changed)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "reprice: %d line items from %s to %s; %d changed (%d newly priced, %d now unpriced); total %s -> %s\n",
		res.Lines, start.Format(time.RFC3339), to.Format(time.RFC3339), res.Changed, res.NowPriced, res.NowUnpriced, res.Before, res.After)
	if res.Skipped > 0 {
		fmt.Fprintf(os.Stderr, "reprice: %d tool/compute lines were written before unitcost stored their tool name or compute class and keep their cost\n", res.Skipped)
	}
	return nil
}

func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}
