package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

func runRollup(args []string) error {
	fs, s := newFlags("rollup", "Refresh the hourly rollups now: rebuild every hour that rows written since the last\ncomplete refresh land in (`unitcost process` does this every rollup.interval).",
		"--all rebuilds every hour that has workflows, e.g. after restoring a backup.")
	all := fs.Bool("all", false, "rebuild every hour, not only those with new rows")
	ss, err := s.start(args)
	if err != nil {
		return err
	}
	defer ss.stop()
	cfg, ctx := ss.cfg, ss.ctx
	st, err := store.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer st.Close()
	began := time.Now()
	if *all {
		hours, err := st.DirtyHours(ctx, 0)
		if err != nil {
			return err
		}
		build := uint64(time.Now().UnixNano())
		for done := 0; done < len(hours); { // a week of hours per pass, with progress
			n := min(len(hours)-done, 7*24)
			if err := st.RebuildHours(ctx, hours[done:done+n], build); err != nil {
				return err
			}
			done += n
			fmt.Fprintf(os.Stderr, "\rrebuilt %d/%d hours", done, len(hours))
		}
		fmt.Fprintf(os.Stderr, "\rrebuilt %d hours in %s\n", len(hours), time.Since(began).Round(time.Millisecond))
		return dropSuperseded(ctx, st)
	}
	res, err := st.RefreshRollups(ctx, cfg.Rollup.Margin)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "rebuilt %d hours in %s\n", len(res.Hours), time.Since(began).Round(time.Millisecond))
	return dropSuperseded(ctx, st)
}

func dropSuperseded(ctx context.Context, st *store.Store) error {
	n, err := st.DropSupersededBuilds(ctx)
	if n > 0 {
		fmt.Fprintf(os.Stderr, "deleting the superseded builds of %d hours (a background mutation)\n", n)
	}
	return err
}
