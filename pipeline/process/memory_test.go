package process_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// The memory bound (DESIGN.md invariant 6). The spans held - open in the stitcher, or
// closed and not yet written - never exceed process.stitch.max_spans plus one record's,
// including while a trace closed at the bound is priced and written (checked exactly, by
// count). On the heap, the runtime's live figure stays under
//
//	base + max_spans x per-span size x boundFactor + boundSlack
//
// where the per-span size is measured here, on the same spans, through the processing
// core. After the trace is written the heap and the RSS come back.
const (
	// The held spans, and as many again: the runtime counts everything allocated while a
	// GC cycle marks as live in that cycle, and the consumer decodes spans (and drops
	// written ones) throughout a cycle, which over a 1 GB heap lasts seconds; the close's
	// dedup and assignment maps (~80 B per span) are within it. (1M spans: 1.78x measured.)
	boundFactor = 2.0
	// one write chunk through the ClickHouse client (~90 MiB at 20k line items), Kafka's
	// buffered fetches (~30 MiB), one record's decode
	boundSlack = 128 << 20
	// after the trace: the live heap within this of where it started (connection and
	// fetch buffers kept for reuse), the RSS within twice it
	comeBack = 48 << 20
)

// countingWriter counts what its writer took.
type countingWriter struct {
	w                process.Writer
	lines, workflows atomic.Int64
}

func (c *countingWriter) Write(ctx context.Context, b pipeline.Batch) error {
	if err := c.w.Write(ctx, b); err != nil {
		return err
	}
	c.lines.Add(int64(len(b.LineItems)))
	c.workflows.Add(int64(len(b.Workflows)))
	return nil
}

func rssBytes(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// hugeTrace returns the records of spans from..to (numbered from 1) of one trace, as
// ingest produces them (5,000 spans per request): span 1 is the root, the others model
// calls of 100 input and 10 output tokens.
func hugeTrace(t *testing.T, trace pcommon.TraceID, from, to int, topic string) []*kgo.Record {
	t.Helper()
	start := time.Unix(1_790_000_000, 0)
	var out []*kgo.Record
	for next, n := from, to; next <= n; {
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		for i := 0; i < 5000 && next <= n; i, next = i+1, next+1 {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(trace)
			sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, byte(next >> 24), byte(next >> 16), byte(next >> 8), byte(next)})
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
			if next == 1 {
				sp.SetName("batch job")
				sp.Attributes().PutStr("unitcost.workflow.name", "huge")
				continue
			}
			sp.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 1})
			sp.SetName("chat")
			sp.Attributes().PutStr("gen_ai.provider.name", "openai")
			sp.Attributes().PutStr("gen_ai.request.model", "gpt-4o-mini")
			sp.Attributes().PutInt("gen_ai.usage.input_tokens", 100)
			sp.Attributes().PutInt("gen_ai.usage.output_tokens", 10)
		}
		recs, err := kafka.TraceRecords(td, "", topic, kafka.Defaults().MaxRecordBytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	for i, r := range out {
		r.Offset = int64(i)
	}
	return out
}

// perSpanBytes measures the live heap one span of the trace's shape costs the processing
// core (decode, normalise, stitch) once its trace is closed, over n spans: a closed span
// is held decoded (an open one, encoded, costs less), so this is what max_spans can cost.
func perSpanBytes(t *testing.T, book *pricing.Books, n int) uint64 {
	t.Helper()
	const topic = "spans"
	recs := hugeTrace(t, pcommon.TraceID{0x5e}, 1, n, topic)
	c := process.NewCore(process.Config{Stitch: stitch.Config{MaxSpans: 2 * n, MaxOpen: time.Hour}}, topic, book)
	before := liveHeap()
	now := time.Now()
	for _, r := range recs {
		// each record a fresh copy, as a fetch is
		c.Add(&kgo.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key,
			Value: append([]byte(nil), r.Value...), Headers: r.Headers, Timestamp: r.Timestamp}, now)
	}
	recs = nil
	if got := c.Close(now, true); got != n {
		t.Fatalf("core holds %d closed spans, want %d", got, n)
	}
	after := liveHeap()
	runtime.KeepAlive(c)
	return (after - before) / uint64(n)
}

// One trace of twice max_spans spans (each a priced model call) through the processor on
// real Kafka and ClickHouse: it is closed at the bound, priced and written in chunks while
// consumption goes on, and every line is stored exactly once. The live heap (the runtime's
// figure after each GC, sampled every 10 ms) stays under the bound above throughout, and
// once the trace is written the live heap and the RSS come back to where they started.
//
// make test runs it at 400,000 spans with max_spans 200,000 (the same property, scaled);
// UNITCOST_MEMORY_SPANS=2000000 runs the 2M-span trace at the default max_spans.
func TestHugeTraceStaysWithinTheMemoryBound(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("not under the race detector or -short")
	}
	spans, maxSpans := 400_000, 200_000
	if v := os.Getenv("UNITCOST_MEMORY_SPANS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("UNITCOST_MEMORY_SPANS=%q", v)
		}
		spans, maxSpans = n, n/2
	}
	brokers := testenv.KafkaBrokers(t)
	st := testenv.ClickHouse(t)
	builtin, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	book := pricing.Single(builtin)
	perSpan := perSpanBytes(t, book, min(maxSpans, 200_000))

	kcfg := kafka.Defaults()
	kcfg.Brokers = brokers
	kcfg.SpansTopic, kcfg.DeadLetterTopic = testenv.Unique("spans"), testenv.Unique("dlq")
	kcfg.CollectorTopics = []string{testenv.Unique("otlp")}
	kcfg.Group = testenv.Unique("g")
	kcfg.Partitions = 1
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := kafka.EnsureTopics(ctx, cl, kcfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kadm.NewClient(cl).DeleteTopics(context.Background(), kcfg.SpansTopic, kcfg.DeadLetterTopic, kcfg.CollectorTopics[0])
		cl.Close()
	})
	trace := pcommon.TraceID{0x20, 0, 0, 1}
	for from := 1; from <= spans; from += 100_000 { // in slices: the test's own memory stays small
		recs := hugeTrace(t, trace, from, min(spans, from+100_000-1), kcfg.SpansTopic)
		for _, r := range recs {
			r.Offset = 0
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	w := &countingWriter{w: st}
	cfg := process.Config{Stitch: stitch.Config{QuietPeriod: 500 * time.Millisecond, MaxSpans: maxSpans}}
	p, err := process.New(cfg, kcfg, w, book, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	debug.FreeOSMemory()
	base := liveHeap()
	baseRSS := rssBytes(t)
	bound := base + uint64(float64(maxSpans)*float64(perSpan)*boundFactor) + boundSlack

	var peakLive, peakRSS atomic.Uint64
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			metrics.Read(live)
			if v := live[0].Value.Uint64(); v > peakLive.Load() {
				peakLive.Store(v)
			}
			if r := rssBytes(t); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
		}
	}()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	deadline := time.Now().Add(10 * time.Minute)
	for w.lines.Load() < int64(spans-1) || w.workflows.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("wrote %d of %d line items in 10 minutes", w.lines.Load(), spans-1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	afterRSS := rssBytes(t) // as the processor left it: no FreeOSMemory here
	after := liveHeap()
	t.Logf("%d spans, max_spans %d: at most %d spans held; %d B per closed span measured; live heap %d MiB before, peak %d MiB (bound %d MiB), %d MiB after; RSS %d MiB before, peak %d MiB, %d MiB after",
		spans, maxSpans, p.PeakSpansHeld(), perSpan, base>>20, peakLive.Load()>>20, bound>>20, after>>20, baseRSS>>20, peakRSS.Load()>>20, afterRSS>>20)
	if peakLive.Load() > bound {
		t.Errorf("peak live heap %d MiB exceeds the bound %d MiB (max_spans %d x %d B x %.2f + %d MiB over %d MiB)",
			peakLive.Load()>>20, bound>>20, maxSpans, perSpan, boundFactor, boundSlack>>20, base>>20)
	}
	if after > base+comeBack {
		t.Errorf("live heap did not come back: %d MiB before, %d MiB after", base>>20, after>>20)
	}
	if afterRSS > baseRSS+2*comeBack {
		t.Errorf("RSS did not come back: %d MiB before, peak %d MiB, %d MiB after", baseRSS>>20, peakRSS.Load()>>20, afterRSS>>20)
	}
	// The spans held - open, or closed and not yet written - never passed max_spans by
	// more than one record's (5,000 spans here).
	if got := p.PeakSpansHeld(); got > maxSpans+5000 {
		t.Errorf("held %d spans at once; max_spans is %d", got, maxSpans)
	}
	// Exactly once: every line item written once (no chunk repeated or lost), one workflow
	// row, and the stored total to the nano-dollar.
	if got := w.lines.Load(); got != int64(spans-1) {
		t.Errorf("wrote %d line items, want %d", got, spans-1)
	}
	if got := w.workflows.Load(); got != 1 {
		t.Errorf("wrote %d workflow rows, want 1", got)
	}
	cost, lines, err := st.WorkflowCost(ctx, "", trace.String())
	// 100 x $0.15/M + 10 x $0.60/M = $0.000021 per call
	if err != nil || lines != uint64(spans-1) || cost != pipeline.Money(spans-1)*21_000 {
		t.Fatalf("the trace costs %d over %d lines (%v), want %d over %d", cost, lines, err, (spans-1)*21_000, spans-1)
	}
}
