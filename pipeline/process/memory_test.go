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

// The memory bound the processor states (BENCHMARKS.md, "Memory bound"): at the default
// process.stitch.max_spans (1,000,000) the live heap stays under statedLiveBound,
// including the transient copies made while closing a trace at the bound and writing it;
// with the Go runtime's soft limit at recommendedMemLimit (GOMEMLIMIT) the process's RSS
// stays under statedRSSBound.
const (
	statedLiveBound     = 1280 << 20 // 1.25 GiB: ~1.3 KB per span of max_spans
	recommendedMemLimit = 1400 << 20 // GOMEMLIMIT=1400MiB
	statedRSSBound      = 1792 << 20 // 1.75 GiB
)

// countingWriter counts the line items its writer took.
type countingWriter struct {
	w     process.Writer
	lines atomic.Int64
}

func (c *countingWriter) Write(ctx context.Context, b pipeline.Batch) error {
	if err := c.w.Write(ctx, b); err != nil {
		return err
	}
	c.lines.Add(int64(len(b.LineItems)))
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

// One trace of 2,000,000 spans (each a priced model call) through the processor at the
// default max_spans on real Kafka and ClickHouse: it is closed at the bound, written in
// chunks, and every line is stored exactly. The live heap (the runtime's figure after each
// GC) and the RSS, sampled every 10 ms, stay within the stated bounds throughout, and once
// the trace is written the memory goes back to the operating system (RSS within 256 MiB of
// where it started).
func TestTwoMillionSpanTraceStaysWithinTheMemoryBound(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("2M spans: not under the race detector or -short")
	}
	const spans = 2_000_000
	brokers := testenv.KafkaBrokers(t)
	st := testenv.ClickHouse(t)
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

	// The trace, produced in chunks of 5,000 spans as ingest would: a root, then model calls.
	trace := pcommon.TraceID{0x20, 0, 0, 1}
	start := time.Now().Add(-time.Hour)
	for next := 1; next <= spans; {
		td := ptrace.NewTraces()
		ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
		for i := 0; i < 5000 && next <= spans; i, next = i+1, next+1 {
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
		recs, err := kafka.TraceRecords(td, "", kcfg.SpansTopic, kcfg.MaxRecordBytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	builtin, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	w := &countingWriter{w: st}
	p, err := process.New(process.Config{Stitch: stitch.Config{QuietPeriod: 500 * time.Millisecond}}, kcfg, w,
		pricing.Single(builtin), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	baseRSS := rssBytes(t)

	defer debug.SetMemoryLimit(debug.SetMemoryLimit(recommendedMemLimit))
	var peakHeap, peakRSS, peakLive atomic.Uint64
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			metrics.Read(live)
			if v := live[0].Value.Uint64(); v > peakLive.Load() {
				peakLive.Store(v)
			}
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			if r := rssBytes(t); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
		}
	}()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	deadline := time.Now().Add(8 * time.Minute)
	for w.lines.Load() < spans-1 {
		if time.Now().After(deadline) {
			t.Fatalf("wrote %d of %d line items in 8 minutes", w.lines.Load(), spans-1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	afterRSS := rssBytes(t)
	t.Logf("heap in use: %d MiB before, peak %d MiB; live heap peak %d MiB; RSS: %d MiB before, peak %d MiB, %d MiB after",
		base.HeapInuse>>20, peakHeap.Load()>>20, peakLive.Load()>>20, baseRSS>>20, peakRSS.Load()>>20, afterRSS>>20)
	if peakLive.Load() > statedLiveBound {
		t.Errorf("peak live heap %d MiB exceeds the stated bound of %d MiB", peakLive.Load()>>20, statedLiveBound>>20)
	}
	if peakRSS.Load() > statedRSSBound {
		t.Errorf("peak RSS %d MiB exceeds the stated bound of %d MiB (GOMEMLIMIT %d MiB)", peakRSS.Load()>>20, statedRSSBound>>20, recommendedMemLimit>>20)
	}
	if afterRSS > baseRSS+256<<20 {
		t.Errorf("RSS did not come back: %d MiB before, %d MiB after", baseRSS>>20, afterRSS>>20)
	}
	cost, lines, err := st.WorkflowCost(ctx, "", trace.String())
	// 100 x $0.15/M + 10 x $0.60/M = $0.000021 per call
	if err != nil || lines != spans-1 || cost != (spans-1)*21_000 {
		t.Fatalf("the trace costs %d over %d lines (%v), want %d over %d", cost, lines, err, (spans-1)*21_000, spans-1)
	}
}
