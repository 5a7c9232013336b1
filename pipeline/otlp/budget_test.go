package otlp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// gate holds every request it accepts until released, then hands it to the next sink.
type gate struct {
	entered atomic.Int64
	release chan struct{}
	once    sync.Once
	next    otlp.Sink
}

func (g *gate) Accept(ctx context.Context, tenant string, td ptrace.Traces) (otlp.Result, error) {
	g.entered.Add(1)
	<-g.release
	return g.next.Accept(ctx, tenant, td)
}

// open releases every request held and every later one (once; later calls do nothing).
func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// gatedKafka is a gate in front of a producer to a fresh topic (and its dead-letter topic)
// on an embedded Kafka, closed at the test's end. The caller defers g.open(), so that
// requests still held are let go when the test stops early.
func gatedKafka(t *testing.T) (g *gate, brokers []string, topic string) {
	t.Helper()
	brokers = testenv.Kfake(t, 2)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	topic = testenv.Unique("spans")
	prod := kafka.NewProducer(cl, kafka.ProducerConfig{Topic: topic, DeadLetterTopic: topic + ".dlq", Timeout: 30 * time.Second}, nil, nil)
	t.Cleanup(prod.Close)
	return &gate{release: make(chan struct{}), next: prod}, brokers, topic
}

// Many concurrent exports of the largest size a listener accepts must not grow the heap
// past ingest.max_inflight_bytes: over gRPC the budget is reserved before a message is
// read (the stream's window in the transport tap, the read's twice the largest message in
// the handler; it used to be checked only once gRPC had read the whole message, so N
// exports held N messages), over HTTP as the body is read. Exports that do not fit within
// ingest.inflight_wait are refused, retryably (UNAVAILABLE with RetryInfo, 503 with
// Retry-After), and every accepted one is in Kafka exactly.
//
// The measure is not a timing: the garbage collector is off from before the burst until
// every export is either refused or held in the sink, so the heap's growth is every byte
// allocated meanwhile - an upper bound of the peak. It must stay within the budget plus a
// slack of one budget more: the read buffers gRPC returns to its pool after each read and
// the garbage decoding leaves, which a running collector reclaims and this measure
// cannot, plus 8 MiB for connections and goroutines. Without the reservation the burst
// allocates about N x 2 messages (over 130 MiB here), well past the bound.
func TestConcurrentLargeExportsStayWithinTheInflightBudget(t *testing.T) {
	const (
		maxRequest = 4 << 20
		budget     = 32 << 20
		clients    = 16
		spans      = 240 // x ~16.5 KiB = just under maxRequest per export
	)
	slack := uint64(budget + 8<<20)
	for _, transport := range []string{"grpc", "http"} {
		t.Run(transport, func(t *testing.T) {
			g, brokers, topic := gatedKafka(t)
			defer g.open()
			r := startReceiver(t, otlp.ReceiverConfig{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
				MaxRequestBytes: maxRequest, MaxInflightBytes: budget, Limits: otlp.Limits{MaxValues: 1 << 20}}, g)

			// One export per client, each its own trace, built before the measure.
			bodies := make([][]byte, clients)
			for i := range bodies {
				td := ptrace.NewTraces()
				ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
				for j := 0; j < spans; j++ {
					sp := ss.Spans().AppendEmpty()
					sp.SetTraceID(pcommon.TraceID{byte(i + 1), 0xee})
					sp.SetSpanID(pcommon.SpanID{byte(i + 1), byte(j), byte(j >> 8), 1})
					sp.SetName("step")
					sp.Attributes().PutStr("payload", strings.Repeat(fmt.Sprintf("%02d", i), 8<<10))
				}
				var err error
				if bodies[i], err = otlp.Encode(td); err != nil {
					t.Fatal(err)
				}
				if len(bodies[i]) > maxRequest || len(bodies[i]) < maxRequest*9/10 {
					t.Fatalf("export of %d bytes", len(bodies[i]))
				}
			}
			send := make([]func() error, clients)
			for i := range send {
				body := bodies[i]
				switch transport {
				case "grpc":
					cc, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
						grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
					if err != nil {
						t.Fatal(err)
					}
					defer cc.Close()
					cc.Connect()
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					for s := cc.GetState(); s != connectivity.Ready; s = cc.GetState() {
						if !cc.WaitForStateChange(ctx, s) {
							t.Fatalf("client %d: %v", i, s)
						}
					}
					cancel()
					send[i] = func() error {
						ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
						defer cancel()
						var out []byte
						err := cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &body, &out, grpc.ForceCodecV2(bytesCodec{}))
						if err != nil && (status.Code(err) != codes.Unavailable || !hasRetryInfo(err)) {
							return fmt.Errorf("not retryable: %w", err)
						}
						return err
					}
				case "http":
					client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 30 * time.Second}}
					url := "http://" + r.HTTPAddr() + "/v1/traces"
					send[i] = func() error {
						req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
						req.Header.Set("Content-Type", "application/x-protobuf")
						// The body follows once the handler reads it: a refused export
						// is answered without it being sent.
						req.Header.Set("Expect", "100-continue")
						resp, err := client.Do(req)
						if err != nil {
							return fmt.Errorf("not retryable: %w", err)
						}
						defer resp.Body.Close()
						io.Copy(io.Discard, resp.Body)
						switch {
						case resp.StatusCode == http.StatusOK:
							return nil
						case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
							return status.Error(codes.Unavailable, "503")
						}
						return fmt.Errorf("not retryable: HTTP %d", resp.StatusCode)
					}
				}
			}

			runtime.GC()
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			var before, at runtime.MemStats
			runtime.ReadMemStats(&before)
			var (
				refused atomic.Int64
				wg      sync.WaitGroup
				results = make([]error, clients)
			)
			for i := range send {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if results[i] = send[i](); results[i] != nil {
						refused.Add(1)
					}
				}()
			}
			for deadline := time.Now().Add(60 * time.Second); g.entered.Load()+refused.Load() < clients; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d exports held, %d refused, of %d", g.entered.Load(), refused.Load(), clients)
				}
			}
			runtime.ReadMemStats(&at)
			debug.SetGCPercent(100)
			growth := at.HeapAlloc - before.HeapAlloc
			held := g.entered.Load()
			t.Logf("%s: %d exports of %d bytes: %d held, %d refused; heap grew %.1f MiB (budget %d MiB, bound %.0f MiB)",
				transport, clients, len(bodies[0]), held, refused.Load(), float64(growth)/(1<<20), budget>>20, float64(budget+slack)/(1<<20))
			if growth > budget+slack {
				t.Errorf("heap grew %d bytes, above the %d-byte budget plus %d slack", growth, budget, slack)
			}
			if held == 0 || held*maxRequest > budget || refused.Load() == 0 {
				t.Errorf("%d held, %d refused", held, refused.Load())
			}
			g.open()
			wg.Wait()

			accepted := map[string]bool{}
			for i, err := range results {
				if err != nil && strings.HasPrefix(err.Error(), "not retryable") {
					t.Errorf("client %d: %v", i, err)
				}
				if err == nil {
					accepted[pipeline.TraceID(pcommon.TraceID{byte(i + 1), 0xee}).String()] = true
				}
			}
			if int64(len(accepted)) != held {
				t.Errorf("%d accepted, %d held", len(accepted), held)
			}
			// Every accepted export is in Kafka, whole and once; no refused one is.
			c, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := map[string]map[pcommon.SpanID]int{}
			total := 0
			for deadline := time.Now().Add(30 * time.Second); total < len(accepted)*spans && time.Now().Before(deadline); {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				c.PollFetches(ctx).EachRecord(func(rec *kgo.Record) {
					td, err := otlp.Decode(rec.Value, otlp.EncodingProto)
					if err != nil {
						t.Fatal(err)
					}
					for a := 0; a < td.ResourceSpans().Len(); a++ {
						for b := 0; b < td.ResourceSpans().At(a).ScopeSpans().Len(); b++ {
							sl := td.ResourceSpans().At(a).ScopeSpans().At(b).Spans()
							for k := 0; k < sl.Len(); k++ {
								id := pipeline.TraceID(sl.At(k).TraceID()).String()
								if got[id] == nil {
									got[id] = map[pcommon.SpanID]int{}
								}
								got[id][sl.At(k).SpanID()]++
								total++
							}
						}
					}
				})
				cancel()
			}
			if total != len(accepted)*spans || len(got) != len(accepted) {
				t.Errorf("kafka holds %d spans of %d traces, want %d of %d", total, len(got), len(accepted)*spans, len(accepted))
			}
			for id, ids := range got {
				if !accepted[id] || len(ids) != spans {
					t.Errorf("trace %s: %d distinct spans in kafka (accepted %v)", id, len(ids), accepted[id])
				}
				for sp, n := range ids {
					if n != 1 {
						t.Errorf("span %s of trace %s %d times in kafka", sp, id, n)
					}
				}
			}
		})
	}
}
