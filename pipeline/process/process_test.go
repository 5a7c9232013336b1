package process_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
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

// faultyWriter fails every write while broken and records what it wrote otherwise. It
// stands in for ClickHouse only to inject the failure; the real store is covered by the
// end-to-end suites.
type faultyWriter struct {
	mu       sync.Mutex
	broken   bool
	attempts int
	written  []pipeline.Batch
}

func (w *faultyWriter) Write(_ context.Context, b pipeline.Batch) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts++
	if w.broken {
		return errors.New("clickhouse unavailable")
	}
	w.written = append(w.written, b)
	return nil
}

func (w *faultyWriter) state() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, b := range w.written {
		n += len(b.Workflows)
	}
	return w.attempts, n
}

// A workflow whose write fails must hold the committed offset back even when the process
// shuts down in the middle of retrying: the next member re-reads and writes it. (Before
// the fix, closed-but-unwritten traces left the watermark and the shutdown commit passed
// them: the workflow was lost.)
func TestFailedWriteHoldsTheCommitBack(t *testing.T) {
	brokers := testenv.Kfake(t, 1)
	kcfg := kafka.Defaults()
	kcfg.Brokers = brokers
	kcfg.SpansTopic, kcfg.DeadLetterTopic = testenv.Unique("spans"), testenv.Unique("dlq")
	kcfg.CollectorTopics = []string{testenv.Unique("otlp")}
	kcfg.Group = testenv.Unique("g")
	kcfg.Partitions = 1
	cfg := process.Config{FlushInterval: 20 * time.Millisecond, Stitch: stitch.Config{QuietPeriod: 10 * time.Millisecond}}
	builtin, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	book := pricing.Single(builtin)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// One complete workflow on the spans topic.
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1})
	sp.SetSpanID(pcommon.SpanID{1})
	sp.Attributes().PutStr("unitcost.workflow.name", "qa")
	recs, _ := kafka.TraceRecords(td, "acme", kcfg.SpansTopic, kcfg.MaxRecordBytes)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := kafka.EnsureTopics(context.Background(), cl, kcfg); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	broken := &faultyWriter{broken: true}
	p1, err := process.New(cfg, kcfg, broken, book, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p1.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for attempts, _ := broken.state(); attempts < 2; attempts, _ = broken.state() {
		if time.Now().After(deadline) {
			t.Fatal("the write was never attempted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel() // shut down while the write is failing
	<-done

	offsets, err := kadm.NewClient(cl).FetchOffsets(context.Background(), kcfg.Group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offsets.Lookup(kcfg.SpansTopic, 0); ok && o.At > 0 {
		t.Fatalf("committed offset %d passes a workflow that was never written", o.At)
	}

	healthy := &faultyWriter{}
	p2, err := process.New(cfg, kcfg, healthy, book, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- p2.Run(ctx2) }()
	defer func() { cancel2(); <-done2 }()
	for _, n := healthy.state(); n != 1; _, n = healthy.state() {
		if time.Now().After(deadline) {
			t.Fatal("the next member did not write the workflow")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
