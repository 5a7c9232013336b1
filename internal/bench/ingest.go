package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// IngestResult is one target's sustained rate under the OTLP load.
type IngestResult struct {
	Target        string
	Round         int
	SpansPerSec   float64
	CPUPerSpan    time.Duration
	Acked, Failed int64 // requests
	AckedTraces   int64 // traces in acknowledged requests
	Records       int64 // records the target wrote to Kafka
	Load          string
	// Refused counts the failed requests by gRPC code and the start of the message
	// (unitcost's name the reason: in-flight memory limit, Kafka).
	Refused map[string]int64
}

// refusalKey names a failed export for the refusal counts: its code and the first words
// of its message (a bounded set: each target answers from a few fixed messages).
func refusalKey(err error) string {
	st := status.Convert(err)
	msg := st.Message()
	if len(msg) > 48 {
		msg = msg[:48] + "..."
	}
	return st.Code().String() + " " + strconv.Quote(msg)
}

// retryDelay is the RetryInfo delay of a refusal (0 without one).
func retryDelay(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.RetryDelay.AsDuration()
		}
	}
	return 0
}

// refusalText prints refusal counts in a stable order.
func refusalText(m map[string]int64) string {
	if len(m) == 0 {
		return "none refused"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d x %s", m[k], k))
	}
	return "refused: " + strings.Join(parts, ", ")
}

// otlpRequests merges generated records into export requests of at least perRequest
// spans each (the last one the rest), as an SDK's batch span processor sends them; it returns the requests with
// their span and trace counts.
func otlpRequests(recs []*kgo.Record, perRequest int) ([]*collectortrace.ExportTraceServiceRequest, []int, []int, error) {
	var reqs []*collectortrace.ExportTraceServiceRequest
	var spans, traces []int
	cur, n, ids := &collectortrace.ExportTraceServiceRequest{}, 0, map[string]bool{}
	for _, r := range recs {
		var one collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(r.Value, &one); err != nil {
			return nil, nil, nil, err
		}
		for _, rs := range one.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				n += len(ss.Spans)
			}
		}
		ids[string(r.Key)] = true // a trace split over two exports is one record of a request
		cur.ResourceSpans = append(cur.ResourceSpans, one.ResourceSpans...)
		if n >= perRequest {
			reqs, spans, traces = append(reqs, cur), append(spans, n), append(traces, len(ids))
			cur, n, ids = &collectortrace.ExportTraceServiceRequest{}, 0, map[string]bool{}
		}
	}
	if n > 0 {
		reqs, spans, traces = append(reqs, cur), append(spans, n), append(traces, len(ids))
	}
	return reqs, spans, traces, nil
}

// otlpLoad runs clients concurrent exporters against addr, each with one request in
// flight (as an SDK's exporter has), for d after a warm-up. A refused export is followed,
// as an SDK's retry is, by a pause of the RetryInfo delay the answer carries (when
// honourRetry; the OTel SDKs wait at least that, and 5 s by default without it). It
// returns the spans acknowledged within d, and totals over the whole run.
func otlpLoad(ctx context.Context, addr string, reqs []*collectortrace.ExportTraceServiceRequest, spans, traces []int,
	clients int, warm, d time.Duration, honourRetry bool) (windowSpans int64, acked, failed, ackedSpans, ackedTraces int64, refused map[string]int64, err error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, 0, 0, 0, 0, nil, err
	}
	defer conn.Close()
	cl := collectortrace.NewTraceServiceClient(conn)
	began := time.Now()
	from, until := began.Add(warm), began.Add(warm+d)
	var wg sync.WaitGroup
	var win, ok, bad, okSpans, okTraces atomic.Int64
	var mu sync.Mutex
	refused = map[string]int64{}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(until) && ctx.Err() == nil; i += clients {
				k := i % len(reqs)
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := cl.Export(rctx, reqs[k])
				cancel()
				if err != nil {
					bad.Add(1)
					mu.Lock()
					refused[refusalKey(err)]++
					mu.Unlock()
					if delay := retryDelay(err); honourRetry && delay > 0 {
						select {
						case <-time.After(min(delay, time.Until(until))):
						case <-ctx.Done():
						}
					}
					continue
				}
				ok.Add(1)
				okSpans.Add(int64(spans[k]))
				okTraces.Add(int64(traces[k]))
				if now := time.Now(); now.After(from) && now.Before(until) {
					win.Add(int64(spans[k]))
				}
			}
		}()
	}
	wg.Wait()
	return win.Load(), ok.Load(), bad.Load(), okSpans.Load(), okTraces.Load(), refused, ctx.Err()
}

func waitPort(ctx context.Context, c *child, addr string) error {
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("exited before listening: %v\n%s", c.err, c.tail())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

const collectorConfig = `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
        max_recv_msg_size_mib: 16
exporters:
  kafka:
    brokers: [%s]
    traces:
      topic: %s
      encoding: otlp_proto
    partition_traces_by_id: true
    timeout: 10s
    sending_queue:
      enabled: false
    retry_on_failure:
      enabled: false
    producer:
      required_acks: -1
      compression: none
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [kafka]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
`

// ingestTarget starts `unitcost ingest` (target "unitcost", or "baseline" for the
// Config.IngestBaseline binary) or the Collector on a fresh topic, runs the load and stops
// it.
func (b *run) ingestTarget(ctx context.Context, target string, round int, reqs []*collectortrace.ExportTraceServiceRequest,
	spans, traces []int, clients int, warm, d time.Duration) (IngestResult, error) {
	res := IngestResult{Target: target, Load: LoadAvg()}
	topic := fmt.Sprintf("%s_ingest_%s%d", b.id, target, round)
	if err := b.createTopic(ctx, topic); err != nil {
		return res, err
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	var c *child
	switch target {
	case "unitcost", "baseline":
		bin := b.cfg.Unitcost
		if target == "baseline" {
			bin = b.cfg.IngestBaseline
		}
		httpAddr, err := freeAddr()
		if err != nil {
			return res, err
		}
		c, err = startChild(b.cfg.Dir, topic, bin, []string{"ingest"}, []string{
			"UNITCOST_KAFKA_BROKERS=" + strings.Join(b.cfg.Brokers, ","),
			"UNITCOST_KAFKA_SPANS_TOPIC=" + topic,
			"UNITCOST_KAFKA_COLLECTOR_TOPICS=" + topic + ".collector",
			"UNITCOST_KAFKA_DEAD_LETTER_TOPIC=" + topic + ".deadletter",
			"UNITCOST_INGEST_GRPC_ADDR=" + grpcAddr,
			"UNITCOST_INGEST_HTTP_ADDR=" + httpAddr,
			"UNITCOST_ADMIN_ADDR=",
			"UNITCOST_LOG_LEVEL=warn",
		})
		if err != nil {
			return res, err
		}
	default:
		cfgPath := filepath.Join(b.cfg.Dir, topic+".yaml")
		if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(collectorConfig, grpcAddr, strings.Join(b.cfg.Brokers, ", "), topic)), 0o644); err != nil {
			return res, err
		}
		if c, err = startChild(b.cfg.Dir, topic, b.cfg.Collector, []string{"--config", cfgPath}, nil); err != nil {
			return res, err
		}
	}
	if err := waitPort(ctx, c, grpcAddr); err != nil {
		c.stop()
		return res, fmt.Errorf("%s: %w", target, err)
	}
	win, acked, failed, ackedSpans, ackedTraces, refused, err := otlpLoad(ctx, grpcAddr, reqs, spans, traces, clients, warm, d, !b.cfg.IngestNoRetryDelay)
	serr := c.stop()
	if err != nil {
		return res, err
	}
	if serr != nil && target != "collector" {
		return res, fmt.Errorf("%s: %v\n%s", target, serr, c.tail())
	}
	cpu, _ := c.usage()
	res.SpansPerSec = float64(win) / d.Seconds()
	res.CPUPerSpan = time.Duration(float64(cpu) / float64(max(ackedSpans, 1)))
	res.Acked, res.Failed, res.AckedTraces, res.Refused = acked, failed, ackedTraces, refused
	offs, err := b.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return res, err
	}
	offs.Each(func(o kadm.ListedOffset) { res.Records += o.Offset })
	return res, nil
}
