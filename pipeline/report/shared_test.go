package report

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

func TestCeilHour(t *testing.T) {
	t.Parallel()
	h := time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
	for _, c := range []struct{ in, want time.Time }{
		{h, h}, {h.Add(time.Nanosecond), h.Add(time.Hour)}, {h.Add(59*time.Minute + 59*time.Second), h.Add(time.Hour)}, {h.Add(-time.Nanosecond), h},
	} {
		if got := ceilHour(c.in); !got.Equal(c.want) {
			t.Errorf("ceilHour(%s) = %s, want %s", c.in, got, c.want)
		}
	}
}

// blocking answers Series once released, recording the windows and contexts it was asked
// with.
type blocking struct {
	Querier
	started chan context.Context
	release chan struct{}
	to      chan time.Time
}

func (b blocking) Series(ctx context.Context, from, to time.Time, bucket string, f store.SeriesFilter) ([]store.SeriesPoint, error) {
	b.to <- to
	b.started <- ctx
	<-b.release
	return []store.SeriesPoint{{Bucket: from, UnitEconomics: store.UnitEconomics{Workflow: f.Workflow, Completed: 7}}}, nil
}

// A shared read asks for the window up to the next whole hour (the same rows as up to any
// instant of the hour) and runs on when the caller that started it goes away: that caller
// gets its context's error, the query is not cancelled, and the next caller gets the rows.
func TestSharedReadOutlivesItsFirstCaller(t *testing.T) {
	t.Parallel()
	b := blocking{started: make(chan context.Context, 2), release: make(chan struct{}), to: make(chan time.Time, 2)}
	s := &sharedReads{Querier: b}
	from := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Series(ctx, from, from.Add(90*time.Minute+time.Millisecond), "hour", store.SeriesFilter{Workflow: "qa"})
		done <- err
	}()
	if to := <-b.to; !to.Equal(from.Add(2 * time.Hour)) {
		t.Errorf("the shared read's window ends at %s, want the next whole hour %s", to, from.Add(2*time.Hour))
	}
	qctx := <-b.started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller that went away got %v, want context.Canceled", err)
	}
	if qctx.Err() != nil {
		t.Errorf("the shared query was cancelled with its first caller: %v", qctx.Err())
	}
	close(b.release)
	pts, err := s.Series(context.Background(), from, from.Add(2*time.Hour), "hour", store.SeriesFilter{Workflow: "qa"})
	if err != nil || len(pts) != 1 || pts[0].Completed != 7 || pts[0].Workflow != "qa" {
		t.Errorf("the next caller: %v %v", pts, err)
	}
}

// Reads of different tenants (or any other filter) never share: each reaches ClickHouse with
// its own filter, even while the other is in flight.
func TestSharedReadsKeepTenantsApart(t *testing.T) {
	t.Parallel()
	b := blocking{started: make(chan context.Context, 2), release: make(chan struct{}), to: make(chan time.Time, 2)}
	s := &sharedReads{Querier: b}
	from := time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	got := make(chan string, 2)
	for _, tenant := range []string{"acme", "globex"} {
		go func() {
			pts, err := s.Series(context.Background(), from, from.Add(time.Hour), "hour", store.SeriesFilter{Tenant: tenant, Workflow: tenant})
			if err != nil || len(pts) != 1 {
				got <- fmt.Sprint(err)
				return
			}
			got <- tenant + ":" + pts[0].Workflow
		}()
	}
	<-b.started // both reached the query (a shared one would leave the second waiting here)
	<-b.started
	close(b.release)
	answers := []string{<-got, <-got}
	sort.Strings(answers)
	if fmt.Sprint(answers) != "[acme:acme globex:globex]" {
		t.Errorf("answers %v, want each tenant its own rows", answers)
	}
}
