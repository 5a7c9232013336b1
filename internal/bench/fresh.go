package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/store"
)

// FreshResult is how long after a workflow's last span was acknowledged by Kafka its row
// appeared in `workflows` and its hour in the rollups counted it.
type FreshResult struct {
	Samples     int
	Row, Rollup []time.Duration
	Exact       bool
	Missing     int
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// freshness runs a `unitcost process` with its default settings on an empty topic and
// sends one generated workflow (no late review) every interval, each acknowledged by
// Kafka before the clock starts; it polls ClickHouse every 50ms for the workflow's row
// and for the rollups' workflow count. Workflows close in the order they are sent, so
// the i-th one is in the rollups once they count i of them.
func (b *run) freshness(ctx context.Context, samples int, interval time.Duration) (FreshResult, error) {
	res := FreshResult{Samples: samples}
	topic, db := b.id+"_fresh", b.id+"_fresh"
	if err := b.createTopic(ctx, topic); err != nil {
		return res, err
	}
	st, err := b.openStore(ctx, db)
	if err != nil {
		return res, err
	}
	defer st.Close()
	adminAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	c, err := startChild(b.cfg.Dir, "fresh-process", b.cfg.Unitcost, []string{"process"},
		processEnv(b.cfg.Brokers, b.cfg.ClickHouse, topic, b.id+"_fresh", db, adminAddr))
	if err != nil {
		return res, err
	}
	defer c.stop()
	if err := waitReady(ctx, c, adminAddr); err != nil {
		return res, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.cfg.Brokers...))
	if err != nil {
		return res, err
	}
	defer cl.Close()

	var mu sync.Mutex
	var ids []string
	var sent, rowAt, rollAt []time.Time
	all := &loadgen.Truth{}
	pollCtx, stopPoll := context.WithCancel(ctx)
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		for pollCtx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			present := map[string]bool{}
			rows, err := st.Conn().Query(pollCtx, "SELECT workflow_id FROM "+db+".workflows")
			if err == nil {
				for rows.Next() {
					var id string
					if rows.Scan(&id) == nil {
						present[id] = true
					}
				}
				rows.Close()
			}
			now := time.Now()
			points, perr := st.Series(pollCtx, now.Add(-48*time.Hour), now.Add(48*time.Hour), "hour", store.SeriesFilter{})
			var counted uint64
			for _, p := range points {
				counted += p.Workflows
			}
			mu.Lock()
			for i, id := range ids {
				if rowAt[i].IsZero() && present[id] {
					rowAt[i] = now
				}
				if perr == nil && rollAt[i].IsZero() && uint64(i) < counted {
					rollAt[i] = now
				}
			}
			mu.Unlock()
		}
	}()
	seed := uint64(time.Now().UnixNano())
	for k := 0; k < samples; k++ {
		tick := time.Now()
		truth, err := generate(ctx, loadgen.Config{Seed: seed + uint64(k), Workflows: 1, Start: time.Now(), NoLateReviews: true},
			topic, 900<<10, func(ctx context.Context, recs []*kgo.Record) error { return cl.ProduceSync(ctx, recs...).FirstErr() })
		if err != nil {
			stopPoll()
			return res, fmt.Errorf("send workflow: %w", err)
		}
		mu.Lock()
		ids = append(ids, truth.Workflows[0].ID)
		sent = append(sent, time.Now())
		rowAt, rollAt = append(rowAt, time.Time{}), append(rollAt, time.Time{})
		all.Workflows = append(all.Workflows, truth.Workflows...)
		mu.Unlock()
		time.Sleep(time.Until(tick.Add(interval)))
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		mu.Lock()
		missing := 0
		for i := range ids {
			if rowAt[i].IsZero() || rollAt[i].IsZero() {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopPoll()
	<-pollDone
	for i := range ids {
		if rowAt[i].IsZero() || rollAt[i].IsZero() {
			res.Missing++
			continue
		}
		res.Row = append(res.Row, rowAt[i].Sub(sent[i]))
		res.Rollup = append(res.Rollup, rollAt[i].Sub(sent[i]))
	}
	now := time.Now()
	points, err := st.Series(ctx, now.Add(-48*time.Hour), now.Add(48*time.Hour), "hour", store.SeriesFilter{})
	if err != nil {
		return res, err
	}
	res.Exact = sameFigures(store.SumByWorkflow(points), all.ByType("")) == ""
	return res, nil
}
