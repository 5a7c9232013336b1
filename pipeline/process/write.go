package process

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// writeChunk is the most line items one write job carries. A closed trace of any size is
// priced and written in chunks of about this many rows, each span released once its rows
// are acknowledged, so a trace closed at the memory bound (max_spans) is never held twice
// (spans plus all of its priced rows). One chunk through the ClickHouse client costs about
// 4.5 KB of transient heap per line item (~90 MiB), part of the bound's fixed allowance.
const writeChunk = 20_000

// bigClose is the span count of a closed trace after whose write the heap it held is
// handed back to the operating system at once (debug.FreeOSMemory) rather than kept by the
// runtime for reuse.
const bigClose = 100_000

// pending is a closed trace waiting for its write, or part way through it: what pricing
// its spans needs beyond the spans themselves (computed once, when it closed) and how far
// its writing got. The trace's spans are released as their rows are written.
type pending struct {
	traceWID string
	assign   map[pipeline.SpanID]string // spans of workflows other than the trace-level one
	// labels are the labels each workflow rooted here hands its spans (Workflow "" is the
	// trace-level one); shared with the stitcher's memory of the trace, never changed.
	labels    []stitch.WorkflowLabels
	wfs       []pipeline.Workflow
	minOffset int64 // lowest offset of the trace's records: the commit stays below it
	spans     int   // spans after dedup
	next      int   // t.Spans[:next] are in the job in flight or written
	written   int   // t.Spans[:written] are written and released
	wfQueued  bool  // wfs are in the job in flight (with the trace's last rows)

	one [1]pipeline.Workflow // wfs of a trace rooting one workflow
}

// wid is the workflow a span of the trace belongs to.
func (pd *pending) wid(sp *pipeline.Span) string {
	if wid, ok := pd.assign[sp.SpanID]; ok {
		return wid
	}
	return pd.traceWID
}

// labelsOf are the labels of workflow wid if it is rooted in this incarnation.
func (pd *pending) labelsOf(wid string) (stitch.Labels, bool) {
	if wid == pd.traceWID {
		wid = ""
	}
	for i := len(pd.labels) - 1; i >= 0; i-- { // the last root of an id wins, as in a map
		if pd.labels[i].Workflow == wid {
			return pd.labels[i].Labels, true
		}
	}
	return stitch.Labels{}, false
}

// writeJob writes one priced chunk of closed traces on its own goroutine while the
// consumer goes on polling: consumption does not stop for each ClickHouse insert. Up to
// cfg.WriteJobs jobs are in flight at once (p.jobs, oldest first), so ClickHouse works on
// one insert while the next is priced and sent. Jobs are taken back strictly in the order
// they started (finishLocked): a trace written in chunks by consecutive jobs advances only
// once every earlier chunk is acknowledged. Until a job is taken back its traces hold the
// commit back (commitLocked): the traces it completes are in traces, and the trace it
// writes only part of (part) stays in p.unwritten.
type writeJob struct {
	traces   []*stitch.Trace // traces whose last rows are in batch
	part     *stitch.Trace   // trace whose spans [written, partTo) are in batch, or nil
	partTo   int
	spans    int // spans whose rows are in batch
	batch    pipeline.Batch
	version  uint64 // the rows' version, given in start order (nextVersionLocked)
	err      error  // set when the write was abandoned (its context ended)
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

// closeLocked prepares traces the moment they close and records their workflows (the
// sub-tree assignments and the labels late spans inherit) at once, before their write: a
// span of such a trace that arrives while it waits for its write opens a later
// incarnation that joins the same workflows with the same labels, as it would once the
// trace is written. The traces wait in p.unwritten; their spans count in p.held.
func (p *Processor) closeLocked(closed []*stitch.Trace) {
	for _, t := range closed {
		pd := p.prepare(t)
		p.st.RememberWorkflows(t, pd.assign, pd.labels)
		p.pending[t] = pd
		p.held += pd.spans
		p.unwritten = append(p.unwritten, t)
	}
}

// prepare dedups a closed trace's spans and works out, once, its workflows and which
// workflow each span belongs to. Its line items are priced later, a chunk at a time.
func (p *Processor) prepare(t *stitch.Trace) *pending {
	// Only assignments to a workflow other than the trace-level one are kept (and
	// remembered): a span absent from the map (or a late span whose parent is absent)
	// belongs to the trace-level workflow anyway, and most traces have no other (nil).
	traceWID, assign, roots := t.Workflows()
	pd := &pending{traceWID: traceWID, assign: assign}
	pd.minOffset = -1
	for _, o := range t.Offsets {
		if pd.minOffset < 0 || o < pd.minOffset {
			pd.minOffset = o
		}
	}
	spans := p.dedup(t) // in place: a span delivered twice into one incarnation is priced once
	t.Spans, t.Offsets = spans, nil
	pd.spans = len(spans)
	// The spans of each workflow rooted here. One trace root alone (the common case)
	// owns every span of the incarnation: no map needed.
	single := len(roots) == 1 && roots[0].ParentSpanID.IsZero()
	var members map[string][]*pipeline.Span
	if len(roots) > 0 && !single {
		members = make(map[string][]*pipeline.Span, len(roots))
		for _, sp := range spans {
			wid := pd.wid(sp)
			members[wid] = append(members[wid], sp)
		}
	}
	pd.wfs = pd.one[:0] // the common case, one workflow: no allocation of its own
	if len(roots) > 1 {
		pd.wfs = make([]pipeline.Workflow, 0, len(roots))
	}
	// Their own allocation: the stitcher keeps them for late spans, long after pd.
	pd.labels = make([]stitch.WorkflowLabels, 0, len(roots))
	for i, r := range roots {
		if slices.ContainsFunc(roots[:i], func(o *pipeline.Span) bool { return o.SpanID == r.SpanID }) {
			continue // a root delivered twice roots one workflow
		}
		tenant := r.Tenant
		if tenant == "" {
			tenant = pipeline.DefaultTenant
		}
		id := traceWID // stitch.WorkflowID, without formatting the trace id again
		if !r.ParentSpanID.IsZero() {
			id = traceWID + "/" + r.SpanID.String()
		}
		w := pipeline.Workflow{
			ID: id, AuthTenant: t.AuthTenant, Tenant: tenant, TraceID: t.TraceID, RootSpanID: r.SpanID,
			Name: r.WorkflowName, Version: r.WorkflowVersion,
			Team: r.Team, Feature: r.Feature, StartUnixNano: r.StartUnixNano, EndUnixNano: r.EndUnixNano,
		}
		if single {
			normalize.Resolve(r, spans, &w)
		} else {
			normalize.Resolve(r, members[id], &w)
		}
		p.cfg.Limits.CapValidated(r, &w)
		if w.Outcome != "" && !normalize.KnownOutcomes[w.Outcome] {
			p.m.UnknownOutcomes.Inc()
		}
		pd.wfs = append(pd.wfs, w)
		lwid := id
		if id == traceWID {
			lwid = ""
		}
		pd.labels = append(pd.labels, stitch.WorkflowLabels{Workflow: lwid, Labels: stitch.Labels{Tenant: r.Tenant, Team: r.Team,
			Feature: r.Feature, Session: w.Session, User: w.User, Service: w.Service, Environment: w.Environment, Labels: w.Labels}})
	}
	return pd
}

// priceSpan appends the rows of one span of a closed trace to b. Spans without a tenant,
// team, feature, session, user, service, environment or labels of their own inherit their
// workflow's (from this incarnation or a remembered earlier one).
func (p *Processor) priceSpan(b *pipeline.Batch, t *stitch.Trace, pd *pending, sp *pipeline.Span) {
	wid := pd.wid(sp)
	l, ok := pd.labelsOf(wid)
	if !ok {
		l = t.KnownLabels[wid]
	}
	inherit(sp, l)
	for _, is := range sp.Issues {
		b.Issues = append(b.Issues, pipeline.SpanIssue{Span: sp, WorkflowID: wid, Issue: is})
	}
	if sp.Unpriced != "" {
		p.m.UnpriceableSpans.WithLabelValues(unpriceableReason(sp.Unpriced)).Inc()
	}
	if b.LineItems == nil {
		// A batch's first line: room for a line per span held (at most a write chunk's
		// worth), rather than growing by doubling from nothing.
		b.LineItems = make([]pipeline.LineItem, 0, min(p.held, writeChunk)+16)
	}
	n := len(b.LineItems)
	b.LineItems = p.book.Price(b.LineItems, sp, wid)
	for _, li := range b.LineItems[n:] {
		if !li.Priced {
			p.m.Unpriced.Inc()
		}
	}
}

// priceAllLocked prices every unwritten trace whole and forgets it, as if written
// (Core.Flush and tests, which take the batch themselves).
func (p *Processor) priceAllLocked() pipeline.Batch {
	var b pipeline.Batch
	wfs := 0
	for _, t := range p.unwritten {
		wfs += len(p.pending[t].wfs)
	}
	if wfs > 0 {
		b.Workflows = make([]pipeline.Workflow, 0, wfs)
	}
	for _, t := range p.unwritten {
		pd := p.pending[t]
		for ; pd.next < len(t.Spans); pd.next++ {
			p.priceSpan(&b, t, pd, t.Spans[pd.next])
		}
		b.Workflows = append(b.Workflows, pd.wfs...)
		delete(p.pending, t)
	}
	p.unwritten, p.held = nil, 0
	return b
}

// startWriteLocked prices the next chunk of the unwritten traces, in order, and hands it
// to a new write job: whole traces while the chunk has room, then part of the next one. A
// trace's workflow rows go with its last line items.
func (p *Processor) startWriteLocked() {
	job := &writeJob{done: make(chan struct{}), version: p.nextVersionLocked()}
	b := &job.batch
	n := 0
	for n < len(p.unwritten) && len(b.LineItems) < writeChunk {
		t := p.unwritten[n]
		pd := p.pending[t]
		from := pd.next
		for pd.next < len(t.Spans) && len(b.LineItems) < writeChunk {
			p.priceSpan(b, t, pd, t.Spans[pd.next])
			pd.next++
		}
		job.spans += pd.next - from
		if pd.next < len(t.Spans) {
			job.part, job.partTo = t, pd.next
			break
		}
		b.Workflows = append(b.Workflows, pd.wfs...)
		pd.wfQueued = true
		n++
	}
	job.traces = p.unwritten[:n:n]
	p.unwritten = p.unwritten[n:]
	p.jobs = append(p.jobs, job)
	go p.write(p.wctx, job)
}

// nextVersionLocked is the version of the next write job: the time, and always above the
// previous job's, so rows of a later job replace an earlier job's rows with the same key
// even when the earlier job is retried after it (write_jobs > 1).
func (p *Processor) nextVersionLocked() uint64 {
	v := uint64(time.Now().UnixNano())
	if v <= p.lastVersion {
		v = p.lastVersion + 1
	}
	p.lastVersion = v
	return v
}

// write writes the job's batch, retrying until ClickHouse acknowledges or ctx ends. It
// touches no state of the processor but its metrics: the traces left the stitcher and the
// spans of the chunk belong to the job until it is taken back.
func (p *Processor) write(ctx context.Context, job *writeJob) {
	defer func() {
		close(job.done)
		// Wake the consumer's poll, so the job is taken back and the next one started
		// now rather than when the poll times out (FlushInterval).
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}()
	items := len(job.batch.LineItems)
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := p.w.Write(pipeline.WithWriteVersion(ctx, job.version), job.batch)
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

// finishLocked takes back the oldest job in flight, p.jobs[0], once it finished. Written:
// the spans of its chunk are released, and the traces it completed stop holding the
// commit. Abandoned (its context ended: the processor is closing): it and every later job
// (waited for; they end with the same context) give their traces back to the front of
// unwritten, still holding the commit, to be priced again from their last written span;
// a later job's rows that did reach ClickHouse are simply written again.
func (p *Processor) finishLocked() error {
	job := p.jobs[0]
	p.jobs = p.jobs[1:]
	if job.err != nil {
		back := append([]*stitch.Trace(nil), job.traces...)
		for _, j := range p.jobs {
			<-j.done
			back = append(back, j.traces...)
		}
		p.jobs = nil
		p.unwritten = append(back, p.unwritten...)
		for _, t := range p.unwritten {
			if pd := p.pending[t]; pd != nil {
				pd.next, pd.wfQueued = pd.written, false
			}
		}
		return job.err
	}
	big := false
	for _, t := range job.traces {
		if pd := p.pending[t]; pd != nil {
			p.held -= pd.spans - pd.written
			big = big || pd.spans >= bigClose
			delete(p.pending, t)
		}
		t.Spans = nil
	}
	if pd := p.pending[job.part]; pd != nil { // dropped (partition lost) meanwhile: nil
		clear(job.part.Spans[pd.written:job.partTo])
		p.held -= job.partTo - pd.written
		pd.written = job.partTo
	}
	if p.onWrite != nil {
		p.onWrite(job.batch)
	}
	if big {
		// A huge trace is written: give its memory back now rather than when the runtime
		// gets to it (RSS comes back to its level before the trace).
		job.batch = pipeline.Batch{}
		debug.FreeOSMemory()
	}
	return nil
}

// reapLocked takes back, in order, the jobs at the head of p.jobs that finished.
func (p *Processor) reapLocked() error {
	for len(p.jobs) > 0 && p.jobs[0].finished() {
		if err := p.finishLocked(); err != nil {
			return err
		}
	}
	return nil
}

// headFinished says whether the oldest job in flight finished (and waits to be taken back).
func (p *Processor) headFinished() bool { return len(p.jobs) > 0 && p.jobs[0].finished() }

// retryingLocked says whether a job in flight is failing and retrying.
func (p *Processor) retryingLocked() bool {
	for _, j := range p.jobs {
		if j.retrying.Load() {
			return true
		}
	}
	return false
}

// waitingSpansLocked counts the spans of closed traces not yet in any job.
func (p *Processor) waitingSpansLocked() int {
	n := p.held
	for _, j := range p.jobs {
		n -= j.spans
	}
	return n
}

// startWritesLocked starts write jobs for the unwritten traces: one when none is in
// flight, and more, up to cfg.WriteJobs, while a whole chunk waits (a short chunk waits
// for a free slot instead, so it gathers more traces than the rows of one flush interval
// and ClickHouse is not sent many small inserts).
func (p *Processor) startWritesLocked() {
	if len(p.unwritten) > 0 && len(p.jobs) == 0 {
		p.startWriteLocked()
	}
	for len(p.unwritten) > 0 && len(p.jobs) < p.writeJobs() && p.waitingSpansLocked() >= writeChunk {
		p.startWriteLocked()
	}
}

// waitLocked waits for the oldest job in flight, if any, and takes it back with every
// job finished after it; ctx bounds the wait (the job goes on).
func (p *Processor) waitLocked(ctx context.Context) error {
	if len(p.jobs) == 0 {
		return nil
	}
	select {
	case <-p.jobs[0].done:
		return p.reapLocked()
	case <-ctx.Done():
		return fmt.Errorf("wait for the clickhouse write in flight: %w", ctx.Err())
	}
}

// drainLocked writes every closed trace, a chunk at a time with up to cfg.WriteJobs in
// flight, and returns once all are written (or with the error that stopped it; what is
// not written stays unwritten).
func (p *Processor) drainLocked(ctx context.Context) error {
	for {
		if err := p.reapLocked(); err != nil {
			return err
		}
		for len(p.unwritten) > 0 && len(p.jobs) < p.writeJobs() {
			p.startWriteLocked()
		}
		if len(p.jobs) == 0 {
			return nil
		}
		if err := p.waitLocked(ctx); err != nil {
			return err
		}
	}
}

// boundLocked keeps the memory bound: the spans held, open in the stitcher or closed and
// not yet written, stay within max_spans. Past it, consumption waits while closed traces
// are written, chunk by chunk, each releasing its spans; a trace closed at the bound is
// so written before more is taken in. (The stitcher itself closes its oldest trace when
// its open spans alone pass max_spans.)
func (p *Processor) boundLocked(ctx context.Context) error {
	limit := p.cfg.Stitch.WithDefaults().MaxSpans
	p.peakHeld = max(p.peakHeld, p.held+p.st.Stats().OpenSpans)
	for p.held > 0 && p.held+p.st.Stats().OpenSpans > limit {
		// One job at a time here: each chunk in flight is transient memory on top of the
		// bound (the client's columns), and the bound is what is being kept.
		if len(p.jobs) == 0 {
			if len(p.unwritten) == 0 {
				return nil
			}
			p.startWriteLocked()
		}
		if err := p.waitLocked(ctx); err != nil {
			return err
		}
	}
	return nil
}

// PeakSpansHeld is the most spans the processor held at once - open in the stitcher, or
// closed and not yet written - as of the end of a record (tests and benchmarks check it
// against max_spans plus one record's spans).
func (p *Processor) PeakSpansHeld() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakHeld
}

// maxWaitingSpans bounds the spans of closed traces waiting for the next write while
// jobs are in flight. Past ~50k spans (~80k line items) an insert is no cheaper per row,
// and the spans held meanwhile are memory.
const maxWaitingSpans = 50_000

// DefaultWriteJobs is the default of Config.WriteJobs, the most write jobs in flight at
// once. With one, ClickHouse waits while process prices and encodes the next chunk, and
// process waits while ClickHouse writes parts; two overlap them, which pays only where
// ClickHouse has cores to spare: measured on the shared 2-core build machine (BENCHMARKS.md,
// round 3), two in flight drained 1.10-1.28x slower end to end, so one stays the default.
// Each job in flight costs one chunk of transient memory.
const DefaultWriteJobs = 1

// writeJobs is the most write jobs in flight at once.
func (p *Processor) writeJobs() int {
	if p.cfg.WriteJobs > 0 {
		return p.cfg.WriteJobs
	}
	return DefaultWriteJobs
}

// mustWaitLocked says whether consumption waits for the oldest job in flight: while a
// job fails (ClickHouse down: memory must not grow with the backlog), or while the closed
// traces waiting for a write hold more than maxWaitingSpans spans (or half the open-span
// bound, if lower).
func (p *Processor) mustWaitLocked() bool {
	if len(p.jobs) == 0 {
		return false
	}
	if p.retryingLocked() {
		return true
	}
	return p.waitingSpansLocked() > min(maxWaitingSpans, p.cfg.Stitch.WithDefaults().MaxSpans/2)
}
