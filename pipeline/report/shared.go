package report

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/unitcost/unitcost/pipeline/store"
)

// sharedReads lets identical rollup reads that run at the same time share one query: a
// dashboard page reads the same hourly series for its KPI tiles, its trend (hourly views),
// its unit economics table and its daily alert band, at once, and several people may look
// at the same view. Nothing is kept once the query answers, so every answer is as fresh as
// a read of its own.
//
// Rollup reads cover whole hours (bucket >= from AND bucket < to, from whole): a window
// ending at any instant of an hour reads the same rows as one ending at the next whole
// hour, so `to` is rounded up to it, and requests a few milliseconds apart share. The
// shared query runs without the first caller's cancellation (a client going away must not
// fail the others); the rows are read only by the callers, never changed.
type sharedReads struct {
	Querier
	g singleflight.Group
}

// ceilHour is t rounded up to a whole hour.
func ceilHour(t time.Time) time.Time {
	if h := t.Truncate(time.Hour); !h.Equal(t) {
		return h.Add(time.Hour)
	}
	return t
}

// shareRead runs read once for every caller with the same key at the same time.
func shareRead[T any](s *sharedReads, ctx context.Context, key string, read func(context.Context) (T, error)) (T, error) {
	ch := s.g.DoChan(key, func() (any, error) { return read(context.WithoutCancel(ctx)) })
	select {
	case res := <-ch:
		v, _ := res.Val.(T)
		return v, res.Err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (s *sharedReads) Series(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.SeriesPoint, error) {
	to = ceilHour(to)
	return shareRead(s, ctx, fmt.Sprintf("series\x00%d\x00%d\x00%s\x00%q", from.UnixNano(), to.UnixNano(), bucket, f),
		func(ctx context.Context) ([]store.SeriesPoint, error) {
			return s.Querier.Series(ctx, from, to, bucket, f)
		})
}

func (s *sharedReads) SeriesCosts(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.CostPoint, error) {
	to = ceilHour(to)
	return shareRead(s, ctx, fmt.Sprintf("costs\x00%d\x00%d\x00%s\x00%q", from.UnixNano(), to.UnixNano(), bucket, f),
		func(ctx context.Context) ([]store.CostPoint, error) {
			return s.Querier.SeriesCosts(ctx, from, to, bucket, f)
		})
}

func (s *sharedReads) BreakdownRollups(ctx context.Context, dim string, from, to time.Time, f store.SeriesFilter) ([]store.BreakdownRow, error) {
	to = ceilHour(to)
	return shareRead(s, ctx, fmt.Sprintf("breakdown\x00%q\x00%d\x00%d\x00%q", dim, from.UnixNano(), to.UnixNano(), f),
		func(ctx context.Context) ([]store.BreakdownRow, error) {
			return s.Querier.BreakdownRollups(ctx, dim, from, to, f)
		})
}

func (s *sharedReads) TopWorkflowsRollups(ctx context.Context, from, to time.Time, tenant string, limit int) ([]store.TopWorkflow, error) {
	to = ceilHour(to)
	return shareRead(s, ctx, fmt.Sprintf("top\x00%d\x00%d\x00%q\x00%d", from.UnixNano(), to.UnixNano(), tenant, limit),
		func(ctx context.Context) ([]store.TopWorkflow, error) {
			return s.Querier.TopWorkflowsRollups(ctx, from, to, tenant, limit)
		})
}
