package otlp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// Many concurrent exports of an ordinary size, together well under the in-flight budget,
// are all admitted, even though reading one gRPC message reserves twice the largest
// message: the transport tap reserves only the stream's flow-control window, and the
// handler waits its turn for the read's reservation instead of being refused (the tap
// used to reserve the read's 2 x 4 MiB, so that at most 4 of these 48 exports were
// admitted and 44 were refused UNAVAILABLE). All 48 are held by the sink at once, so
// each one's hold is its real size; none is refused, and each is in Kafka once. The huge
// exports of TestConcurrentLargeExportsStayWithinTheInflightBudget, with the same limits,
// are still refused beyond the budget.
func TestConcurrentOrdinaryExportsAreAllAdmitted(t *testing.T) {
	const (
		maxRequest = 4 << 20
		budget     = 32 << 20
		clients    = 48
		spans      = 100 // x ~600 B = ~60 KB per export, 48 x ~2 x 60 KB = ~6 MB held
	)
	for _, transport := range []string{"grpc", "http"} {
		t.Run(transport, func(t *testing.T) {
			g, brokers, topic := gatedKafka(t)
			defer g.open()
			rec := &recordedStats{}
			// The wait is long so that a slow machine cannot turn a turn into a refusal:
			// what is asserted is admission, not speed.
			r, err := otlp.NewReceiver(otlp.ReceiverConfig{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
				MaxRequestBytes: maxRequest, MaxInflightBytes: budget, InflightWait: 2 * time.Minute}, g, rec)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			defer func() { cancel(); <-done }()

			bodies := make([][]byte, clients)
			for i := range bodies {
				td := ptrace.NewTraces()
				ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
				for j := 0; j < spans; j++ {
					sp := ss.Spans().AppendEmpty()
					sp.SetTraceID(pcommon.TraceID{byte(i + 1), 0xaa})
					sp.SetSpanID(pcommon.SpanID{byte(i + 1), byte(j), 1})
					sp.SetName("step")
					sp.Attributes().PutStr("payload", strings.Repeat(fmt.Sprintf("%02d", i), 280))
				}
				if bodies[i], err = otlp.Encode(td); err != nil {
					t.Fatal(err)
				}
				if len(bodies[i]) < 50_000 || len(bodies[i]) > 70_000 {
					t.Fatalf("export of %d bytes", len(bodies[i]))
				}
			}
			// One gRPC connection carries every export, as a Collector's exporter or the
			// benchmark's load does: 48 streams at once.
			cc, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			send := func(i int) error {
				if transport == "grpc" {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					var out []byte
					return cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &bodies[i], &out, grpc.ForceCodecV2(bytesCodec{}))
				}
				resp, err := http.Post("http://"+r.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(bodies[i]))
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("HTTP %d", resp.StatusCode)
				}
				return nil
			}

			var (
				failed  atomic.Int64
				wg      sync.WaitGroup
				results = make([]error, clients)
			)
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if results[i] = send(i); results[i] != nil {
						failed.Add(1)
					}
				}()
			}
			// Every export is either held by the sink (all at once) or refused.
			for deadline := time.Now().Add(3 * time.Minute); g.entered.Load()+failed.Load() < clients; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d exports held, %d failed, of %d", g.entered.Load(), failed.Load(), clients)
				}
			}
			if g.entered.Load() != clients || failed.Load() != 0 {
				t.Errorf("%d of %d exports held by the sink at once, %d failed", g.entered.Load(), clients, failed.Load())
			}
			g.open()
			wg.Wait()
			for i, err := range results {
				if err != nil {
					t.Errorf("export %d: %v", i, err)
				}
			}
			rec.mu.Lock()
			if len(rec.rejected) != 0 {
				t.Errorf("refusals counted: %v", rec.rejected)
			}
			rec.mu.Unlock()

			c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := map[string]map[pcommon.SpanID]int{}
			total := 0
			for deadline := time.Now().Add(30 * time.Second); total < clients*spans && time.Now().Before(deadline); {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				c.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
					td, err := otlp.Decode(rec.Value, otlp.EncodingProto)
					if err != nil {
						t.Fatal(err)
					}
					sl := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
					for k := 0; k < sl.Len(); k++ {
						id := pipeline.TraceID(sl.At(k).TraceID()).String()
						if got[id] == nil {
							got[id] = map[pcommon.SpanID]int{}
						}
						got[id][sl.At(k).SpanID()]++
						total++
					}
				})
				cancel()
			}
			if total != clients*spans || len(got) != clients {
				t.Errorf("kafka holds %d spans of %d traces, want %d of %d", total, len(got), clients*spans, clients)
			}
			for i := range clients {
				id := pipeline.TraceID(pcommon.TraceID{byte(i + 1), 0xaa}).String()
				if len(got[id]) != spans {
					t.Errorf("trace %s: %d distinct spans in kafka, want %d", id, len(got[id]), spans)
				}
				for sp, n := range got[id] {
					if n != 1 {
						t.Errorf("span %s of trace %s %d times in kafka", sp, id, n)
					}
				}
			}
		})
	}
}
