package process

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// gatedWriter holds every write until the test releases it (or the write's context
// ends), so a test decides the order in which ClickHouse "acknowledges" the jobs in
// flight. The jobs in flight call Write from their own goroutines, in whatever order the
// scheduler runs them (on a loaded machine the later job often arrives first): a test
// finds a job's call by its batch (callOf), never by its place in the order of arrival.
type gatedWriter struct {
	mu      sync.Mutex
	open    bool // every write from now on is acknowledged at once
	calls   []*gatedCall
	arrived chan struct{}
	written []pipeline.Batch // acknowledged batches, in acknowledgement order
	// reversed makes a batch without workflow rows (the first job of chunkedRecords: trace
	// A's first chunk only) arrive only after a batch with workflow rows (the second job):
	// the arrival order the scheduler produces under load, made certain.
	reversed bool
	laterIn  chan struct{} // closed once a batch with workflow rows arrived
	once     sync.Once
}

type gatedCall struct {
	batch   pipeline.Batch
	version uint64 // pipeline.WriteVersion of the call's context
	release chan struct{}
}

func newGatedWriter() *gatedWriter {
	return &gatedWriter{arrived: make(chan struct{}, 64), laterIn: make(chan struct{})}
}

func (w *gatedWriter) Write(ctx context.Context, b pipeline.Batch) error {
	if w.reversed && len(b.Workflows) == 0 {
		select {
		case <-w.laterIn:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	v, ok := pipeline.WriteVersion(ctx)
	if !ok {
		return errors.New("gatedWriter: a write without its job's version")
	}
	c := &gatedCall{batch: b, version: v, release: make(chan struct{})}
	w.mu.Lock()
	w.calls = append(w.calls, c)
	if w.open {
		close(c.release)
	}
	w.mu.Unlock()
	if len(b.Workflows) > 0 {
		w.once.Do(func() { close(w.laterIn) })
	}
	select { // a waiter re-checks calls after each token: a full buffer loses nothing
	case w.arrived <- struct{}{}:
	default:
	}
	select {
	case <-c.release:
		w.mu.Lock()
		w.written = append(w.written, b)
		w.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// openAll acknowledges every write not yet released and every later one.
func (w *gatedWriter) openAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.open = true
	for _, c := range w.calls {
		select {
		case <-c.release:
		default:
			close(c.release)
		}
	}
}

// callOf waits for job's write to arrive and returns it: the call whose batch is the
// job's (the same line items).
func (w *gatedWriter) callOf(t *testing.T, job *writeJob) *gatedCall {
	t.Helper()
	for {
		w.mu.Lock()
		for _, c := range w.calls {
			if len(c.batch.LineItems) > 0 && &c.batch.LineItems[0] == &job.batch.LineItems[0] {
				w.mu.Unlock()
				return c
			}
		}
		w.mu.Unlock()
		<-w.arrived
	}
}

// arrivedFirst is the call that reached the writer first.
func (w *gatedWriter) arrivedFirst() *gatedCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls[0]
}

// arrivals are the orders in which the two jobs in flight reach the writer: as the
// scheduler runs them, and the later job first.
var arrivals = []struct {
	name     string
	reversed bool
}{{"as scheduled", false}, {"later job first", true}}

// bigTrace is one record of trace id {id}: its root (when root) and n model calls.
func bigTrace(t *testing.T, topic string, id byte, offset int64, root bool, from, n int) *kgo.Record {
	t.Helper()
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	tid := pcommon.TraceID{id, 0x77}
	if root {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{id, 0, 0, 0, 0, 0, 0, 1})
		sp.SetName("workflow")
		sp.SetStartTimestamp(pcommon.Timestamp(t0))
		sp.SetEndTimestamp(pcommon.Timestamp(t0 + 2e9))
		sp.Attributes().PutStr("unitcost.workflow.name", "chunks")
	}
	for i := from; i < from+n; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{id, 1, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		sp.SetParentSpanID(pcommon.SpanID{id, 0, 0, 0, 0, 0, 0, 1})
		sp.SetName("chat gpt-4o")
		sp.SetStartTimestamp(pcommon.Timestamp(t0 + 1e6))
		sp.SetEndTimestamp(pcommon.Timestamp(t0 + 1e9))
		a := sp.Attributes()
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.response.model", "gpt-4o")
		a.PutInt("gen_ai.usage.input_tokens", 100)
		a.PutInt("gen_ai.usage.output_tokens", 10)
	}
	b, err := otlp.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Topic: topic, Offset: offset, Value: b, Timestamp: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
}

// chunkedRecords are three traces on one partition: A (offset 0) and B (offset 1) each
// larger than a write chunk, C (offset 2) small. So the first two jobs in flight share
// trace A: the first writes its beginning, the second its end and B's beginning.
func chunkedRecords(t *testing.T, kcfg kafka.Config) []*kgo.Record {
	return []*kgo.Record{
		bigTrace(t, kcfg.SpansTopic, 0xa, 0, true, 0, writeChunk+5_000),
		bigTrace(t, kcfg.SpansTopic, 0xb, 1, true, 0, writeChunk+5_000),
		bigTrace(t, kcfg.SpansTopic, 0xc, 2, true, 0, 10),
	}
}

// gated is a bare processor writing through w, its records added and every trace closed.
func gated(t *testing.T, w Writer) *Processor {
	t.Helper()
	p := bare(t)
	p.w = w
	p.wake = make(chan struct{}, 1)
	p.wctx, p.wcancel = context.WithCancel(context.Background())
	t.Cleanup(p.wcancel)
	now := time.Now()
	for _, r := range chunkedRecords(t, p.kcfg) {
		p.add(r, now)
	}
	p.closeLocked(p.st.Due(now, true))
	return p
}

// safeOffset is the offset the processor would commit for partition 0 of the spans
// topic now (-1: nothing beyond the last commit, offset 0 here).
func safeOffset(p *Processor) int64 {
	o, ok := p.safeOffsetsLocked(nil)[p.kcfg.SpansTopic][0]
	if !ok {
		return -1
	}
	return o.Offset
}

// lineKey identifies a line item.
func lineKey(li pipeline.LineItem) string {
	return fmt.Sprintf("%s/%s/%s", li.Span.TraceID, li.Span.SpanID, li.Component)
}

// Jobs in flight are taken back in the order they started, whatever order ClickHouse
// acknowledges them in: a later job's acknowledgement neither releases a trace whose
// earlier chunk is still unacknowledged nor moves the commit past it. Every line item is
// written exactly once, and the line items equal pricing the same records whole.
func TestWriteJobsAreTakenBackInOrder(t *testing.T) {
	want := run(t, func(k kafka.Config) []*kgo.Record { return chunkedRecords(t, k) })
	for _, a := range arrivals {
		t.Run(a.name, func(t *testing.T) { writeJobsInOrder(t, want, a.reversed) })
	}
}

func writeJobsInOrder(t *testing.T, want pipeline.Batch, reversed bool) {
	w := newGatedWriter()
	w.reversed = reversed
	p := gated(t, w)
	p.cfg.WriteJobs = 2
	spans := p.held

	p.startWritesLocked()
	if len(p.jobs) != 2 {
		t.Fatalf("%d jobs in flight, want 2 (write_jobs)", len(p.jobs))
	}
	first, second := p.jobs[0], p.jobs[1]
	if first.part == nil || first.part.TraceID[0] != 0xa || second.part == nil || second.part.TraceID[0] != 0xb {
		t.Fatalf("jobs do not share trace A as planned: first part %v, second traces %d part %v", first.part, len(second.traces), second.part)
	}
	if got := safeOffset(p); got != -1 {
		t.Fatalf("commit before any write: offset %d, want none", got)
	}

	// Versions follow the start order, whatever order the writes arrive in: the second
	// job's rows replace the first's with the same key even if the first is retried later.
	if v1, v2 := w.callOf(t, first).version, w.callOf(t, second).version; v1 == 0 || v2 <= v1 {
		t.Fatalf("write versions %d (first job), %d (second): want 0 < first < second", v1, v2)
	}

	// The second job is acknowledged first: nothing is taken back, nothing released.
	close(w.callOf(t, second).release)
	if reversed && w.arrivedFirst() != w.callOf(t, second) {
		t.Fatal("the later job did not reach the writer first")
	}
	<-second.done
	if err := p.reapLocked(); err != nil {
		t.Fatal(err)
	}
	if len(p.jobs) != 2 || p.held != spans || p.pending[first.part].written != 0 {
		t.Fatalf("after the later job's acknowledgement: %d jobs, %d of %d spans held, A written to %d", len(p.jobs), p.held, spans, p.pending[first.part].written)
	}
	if got := safeOffset(p); got != -1 {
		t.Fatalf("commit after the later job's acknowledgement: offset %d, want none (A's first chunk is unacknowledged)", got)
	}

	// The first one: both are taken back; A is complete, B holds the commit at 1.
	close(w.callOf(t, first).release)
	<-first.done
	if err := p.reapLocked(); err != nil {
		t.Fatal(err)
	}
	if len(p.jobs) != 0 {
		t.Fatalf("%d jobs left after both were acknowledged", len(p.jobs))
	}
	if got := safeOffset(p); got != 1 {
		t.Fatalf("commit after A was written: offset %d, want 1", got)
	}

	// The rest drains; every later write is acknowledged at once.
	w.openAll()
	if err := p.drainLocked(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := safeOffset(p); got != 3 {
		t.Fatalf("commit after everything was written: offset %d, want 3", got)
	}
	if p.held != 0 || len(p.pending) != 0 || len(p.unwritten) != 0 {
		t.Fatalf("after the drain: %d spans held, %d pending, %d unwritten", p.held, len(p.pending), len(p.unwritten))
	}
	seen := map[string]bool{}
	workflows := 0
	for _, b := range w.written {
		for _, li := range b.LineItems {
			k := lineKey(li)
			if seen[k] {
				t.Fatalf("line item %s written twice", k)
			}
			seen[k] = true
		}
		workflows += len(b.Workflows)
	}
	if len(seen) != len(want.LineItems) || workflows != len(want.Workflows) {
		t.Fatalf("wrote %d line items and %d workflows, want %d and %d", len(seen), workflows, len(want.LineItems), len(want.Workflows))
	}
	for _, li := range want.LineItems {
		if !seen[lineKey(li)] {
			t.Fatalf("line item %s never written", lineKey(li))
		}
	}
}

// When the oldest job is abandoned (the processor is closing), every job in flight gives
// its traces back, even one ClickHouse acknowledged: a trace is released only once all of
// its chunks are taken back written, so nothing is committed past a span in no table.
func TestAbandonedWriteGivesEveryJobBack(t *testing.T) {
	for _, a := range arrivals {
		t.Run(a.name, func(t *testing.T) { abandonedWrite(t, a.reversed) })
	}
}

func abandonedWrite(t *testing.T, reversed bool) {
	w := newGatedWriter()
	w.reversed = reversed
	p := gated(t, w)
	p.cfg.WriteJobs = 2
	spans, traces := p.held, len(p.unwritten)
	p.startWritesLocked()
	if len(p.jobs) != 2 {
		t.Fatalf("%d jobs in flight, want 2", len(p.jobs))
	}
	first, second := p.jobs[0], p.jobs[1]
	close(w.callOf(t, second).release) // the later job is acknowledged...
	<-second.done
	w.callOf(t, first)
	p.wcancel() // ...the earlier one abandoned
	err := p.waitLocked(context.Background())
	if err == nil {
		t.Fatal("an abandoned write returned no error")
	}
	if len(p.jobs) != 0 || len(p.unwritten) != traces || p.held != spans {
		t.Fatalf("after abandoning: %d jobs, %d of %d traces unwritten, %d of %d spans held", len(p.jobs), len(p.unwritten), traces, p.held, spans)
	}
	for i, tr := range p.unwritten {
		pd := p.pending[tr]
		if pd == nil || pd.next != 0 || pd.written != 0 || pd.wfQueued {
			t.Fatalf("trace %d not given back whole: %+v", i, pd)
		}
		if want := byte([]byte{0xa, 0xb, 0xc}[i]); tr.TraceID[0] != want {
			t.Fatalf("trace %d is %x, want %x (order kept)", i, tr.TraceID[0], want)
		}
	}
	if got := safeOffset(p); got != -1 {
		t.Fatalf("commit after abandoning: offset %d, want none", got)
	}
}
