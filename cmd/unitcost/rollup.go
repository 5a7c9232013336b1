package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline/store"
)

func rollupCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "rollup",
		Short: "refresh the hourly rollups now (process does it every rollup.interval)",
		Long: "Refresh the hourly rollups now: rebuild every hour that rows written since the last\n" +
			"complete refresh land in (`unitcost process` does this every rollup.interval).\n\n" +
			"--all rebuilds every hour that has workflows, e.g. after restoring a backup.",
		Args: noArgs,
	}
	all := c.Flags().Bool("all", false, "rebuild every hour, not only those with new rows")
	s := bindSettings(c, "rollup", "clickhouse", "rollup.margin", "log_level")
	c.RunE = func(*cobra.Command, []string) error { return runRollup(s, *all) }
	return c
}

func runRollup(s *settings, all bool) error {
	ss, err := s.start()
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
	if all {
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
