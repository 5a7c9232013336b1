package process

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// writeJob writes one priced batch of closed traces on its own goroutine while the
// consumer goes on polling: consumption no longer stops for each ClickHouse insert, and
// the next batch grows while this one is written (bigger inserts under a backlog). There
// is at most one job at a time. Its traces stay out of the commit (commitLocked) until
// finishLocked takes the job back after ClickHouse acknowledged it.
type writeJob struct {
	traces   []*stitch.Trace
	batch    pipeline.Batch
	err      error // set when the write was abandoned (its context ended)
	retrying atomic.Bool
	done     chan struct{}
}

func (j *writeJob) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// startWriteLocked hands every unwritten trace, priced when it closed, to a new write job.
func (p *Processor) startWriteLocked() {
	job := &writeJob{traces: p.unwritten, done: make(chan struct{})}
	for _, t := range job.traces {
		b := p.priced[t]
		job.batch.LineItems = append(job.batch.LineItems, b.LineItems...)
		job.batch.Workflows = append(job.batch.Workflows, b.Workflows...)
		job.batch.Issues = append(job.batch.Issues, b.Issues...)
	}
	p.unwritten = nil
	p.inflight = job
	go p.write(p.wctx, job)
}

// write writes the job's batch, retrying until ClickHouse acknowledges or ctx ends. It
// touches no state of the processor but its metrics: the traces left the stitcher and
// their spans belong to the job.
func (p *Processor) write(ctx context.Context, job *writeJob) {
	defer close(job.done)
	items := len(job.batch.LineItems)
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := p.w.Write(ctx, job.batch)
		if err == nil {
			break
		}
		p.m.WriteErrors.Inc()
		if ctx.Err() != nil {
			// Not written and not committed: the next owner re-reads these spans.
			job.err = fmt.Errorf("write %d line items: %w", items, err)
			return
		}
		job.retrying.Store(true)
		wait := min(time.Duration(attempt)*200*time.Millisecond, 5*time.Second)
		p.log.Warn("clickhouse write failed; retrying (consumption waits)", "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			job.err = fmt.Errorf("write %d line items: %w", items, err)
			return
		case <-time.After(wait):
		}
	}
	p.m.WriteSeconds.Observe(time.Since(start).Seconds())
	p.m.LineItems.Add(float64(items))
	p.m.Workflows.Add(float64(len(job.batch.Workflows)))
}

// closeLocked prices traces the moment they close and records their workflows (the
// span->workflow map and the labels late spans inherit) at once, before their write: a
// span of such a trace that arrives while it waits for its write opens a later
// incarnation that joins the same workflows with the same labels, as it would once the
// trace is written. The priced rows wait in priced until the trace's write.
func (p *Processor) closeLocked(closed []*stitch.Trace) {
	for _, t := range closed {
		b, assigns, labels := p.price([]*stitch.Trace{t})
		p.st.Remember(t, assigns[0], labels[0])
		p.priced[t] = b
	}
}

// finishLocked takes a finished job back. Written: its traces stop holding the commit.
// Abandoned: they return to unwritten, still holding it.
func (p *Processor) finishLocked(job *writeJob) error {
	p.inflight = nil
	if job.err != nil {
		p.unwritten = append(job.traces, p.unwritten...)
		return job.err
	}
	for _, t := range job.traces {
		delete(p.priced, t)
	}
	if p.onWrite != nil {
		p.onWrite(job.batch)
	}
	return nil
}

// waitLocked waits for the job in flight, if any, and takes it back; ctx bounds the wait
// (the job goes on).
func (p *Processor) waitLocked(ctx context.Context) error {
	job := p.inflight
	if job == nil {
		return nil
	}
	select {
	case <-job.done:
		return p.finishLocked(job)
	case <-ctx.Done():
		return fmt.Errorf("wait for the clickhouse write in flight: %w", ctx.Err())
	}
}

// maxWaitingSpans bounds the spans of closed traces waiting for the next write while one
// is in flight. Past ~50k spans (~80k line items) an insert is no cheaper per row, and
// the priced rows held meanwhile are memory (a backlog drained against a slow ClickHouse
// held 3 GB without this bound).
const maxWaitingSpans = 50_000

// mustWaitLocked says whether consumption waits for the write in flight: while it fails
// (ClickHouse down: memory must not grow with the backlog), or while the closed traces
// waiting for the next write hold more than maxWaitingSpans spans (or half the open-span
// bound, if lower).
func (p *Processor) mustWaitLocked() bool {
	job := p.inflight
	if job == nil {
		return false
	}
	if job.retrying.Load() {
		return true
	}
	n := 0
	for _, t := range p.unwritten {
		n += len(t.Spans)
	}
	return n > min(maxWaitingSpans, p.cfg.Stitch.WithDefaults().MaxSpans/2)
}
