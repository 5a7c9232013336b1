package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline"

	"github.com/unitcost/unitcost/pipeline/reprice"
	"github.com/unitcost/unitcost/pipeline/stack"
	"github.com/unitcost/unitcost/pipeline/store"
)

func repriceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "reprice",
		Short: "price stored line items again under the configured price book, idempotently",
		Long: "Price stored line items again under the configured price book (process.price_book):\n" +
			"a price change, a retroactive discount, a model that was unpriced. Rewritten rows replace\n" +
			"the old ones, so running it twice gives the same figures as once.\n\n" +
			"Spans are selected by start time; each is priced by the book version in effect then.",
		Example: "  unitcost reprice --since 30d\n  unitcost reprice --since 2026-11-01 --process.price_book prices.yaml",
		Args:    noArgs,
	}
	since := c.Flags().String("since", "", "re-price spans that started after this: a length (720h, 30d) before --until, a date or an RFC 3339 time")
	from := c.Flags().String("from", "", "same as --since with a date or time")
	until := c.Flags().String("until", "", "window end, YYYY-MM-DD or RFC 3339 (default: no end - every span started after the start, including ones stamped in the future)")
	c.Flags().MarkHidden("from")
	s := bindSettings(c, "reprice", "clickhouse", "process.price_book", "log_level")
	c.RunE = func(*cobra.Command, []string) error {
		if *since == "" {
			*since = *from
		}
		return runReprice(s, *since, *until)
	}
	return c
}

func runReprice(s *settings, since, until string) error {
	now := time.Now().UTC()
	to := noEnd()
	var err error
	if until != "" {
		if to, err = pipeline.ParseTime(until); err != nil {
			return usageError{fmt.Errorf("--until: %w", err)}
		}
	}
	if since == "" {
		return usageError{fmt.Errorf("say which spans: --since 30d or --since 2026-11-01")}
	}
	end := now
	if until != "" {
		end = to
	}
	start, err := pipeline.ParseSince(since, end)
	if err != nil {
		return usageError{fmt.Errorf("--since %w", err)}
	}
	ss, err := s.start()
	if err != nil {
		return err
	}
	defer ss.stop()
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
	window := "after " + start.Format(time.RFC3339)
	if until != "" {
		window = "from " + start.Format(time.RFC3339) + " to " + to.Format(time.RFC3339)
	}
	fmt.Fprintf(os.Stderr, "reprice: %d line items started %s; %d changed (%d newly priced, %d now unpriced); total %s -> %s\n",
		res.Lines, window, res.Changed, res.NowPriced, res.NowUnpriced, res.Before, res.After)
	if res.Skipped > 0 {
		fmt.Fprintf(os.Stderr, "reprice: %d tool/compute lines were written before unitcost stored their tool name or compute class and keep their cost\n", res.Skipped)
	}
	return nil
}

// noEnd ends a window that has no end: lines stamped after now (a generator's late
// reviews, a client clock ahead) are inside it. ClickHouse's DateTime ends in 2106.
func noEnd() time.Time { return time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) }
