package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/unitcost/unitcost/pipeline/loadgen"
)

// SustainedResult is ingest and process running together under an OTLP load: every
// generated span sent to `unitcost ingest` over OTLP/gRPC until acknowledged, Kafka in
// between, one `unitcost process` writing ClickHouse; done when every workflow and line
// item of the truth is in ClickHouse, then every figure is checked against the truth.
type SustainedResult struct {
	Workflows, Spans, LineItems int
	Requests                    int
	Retries                     int64         // exports answered with an error and sent again
	Acked                       time.Duration // first export to the last acknowledgement
	Done                        time.Duration // first export to the last row in ClickHouse
	IngestCPU, ProcessCPU       time.Duration
	IngestRSS, ProcessRSS       int64
	LoadStart, LoadEnd          string
}

// SpansPerSec is the end-to-end rate: spans over the time from the first export to the
// last row written.
func (r SustainedResult) SpansPerSec() float64 { return float64(r.Spans) / r.Done.Seconds() }

// sustained generates n workflows, then runs `unitcost ingest` and `unitcost process`
// on a fresh topic and database while clients concurrent OTLP/gRPC exporters (one
// request of ~512 spans in flight each, as SDK exporters send) send all of them, each
// request again after an error until it is acknowledged.
func (b *run) sustained(ctx context.Context, n, clients int) (SustainedResult, error) {
	res := SustainedResult{Workflows: n}
	var recs []*kgo.Record
	truth, err := generate(ctx, loadgen.Config{Seed: uint64(n) + 15, Workflows: n}, "sustained", 900<<10,
		func(_ context.Context, rs []*kgo.Record) error { recs = append(recs, rs...); return nil })
	if err != nil {
		return res, err
	}
	from := time.Now().Add(-72 * time.Hour)
	to := time.Now().Add(time.Duration(n)*2*time.Second + 72*time.Hour)
	reqs, _, _, err := otlpRequests(recs, 512)
	if err != nil {
		return res, err
	}
	recs = nil
	res.Spans, res.LineItems, res.Requests = truth.Spans, truth.LineItems, len(reqs)

	topic := fmt.Sprintf("%s_sustained_w%d", b.id, n)
	if err := b.createTopic(ctx, topic); err != nil {
		return res, err
	}
	db := topic
	st, err := b.openStore(ctx, db)
	if err != nil {
		return res, err
	}
	defer st.Close()
	grpcAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	ing, err := startChild(b.cfg.Dir, topic+"_ingest", b.cfg.Unitcost, []string{"ingest"}, []string{
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
	defer ing.stop()
	adminAddr, err := freeAddr()
	if err != nil {
		return res, err
	}
	proc, err := startChild(b.cfg.Dir, topic+"_process", b.cfg.Unitcost, []string{"process"},
		processEnv(b.cfg.Brokers, b.cfg.ClickHouse, topic, db, db, adminAddr))
	if err != nil {
		return res, err
	}
	defer proc.stop()
	if err := waitPort(ctx, ing, grpcAddr); err != nil {
		return res, fmt.Errorf("ingest: %w", err)
	}
	if err := waitReady(ctx, proc, adminAddr); err != nil {
		return res, err
	}

	res.LoadStart = LoadAvg()
	began := time.Now()
	retries, err := exportAll(ctx, grpcAddr, reqs, clients)
	res.Acked, res.Retries = time.Since(began), retries
	if err != nil {
		return res, err
	}
	deadline := time.Now().Add(30 * time.Minute)
	progress := time.Now().Add(30 * time.Second)
	for {
		w, l, err := drained(ctx, st, adminAddr, truth)
		if err == nil && w >= uint64(len(truth.Workflows)) && l >= uint64(truth.LineItems) {
			// A resent export may have written rows twice: count after dedup.
			if w, l, err = st.Counts(ctx); err == nil && w >= uint64(len(truth.Workflows)) && l >= uint64(truth.LineItems) {
				break
			}
		}
		if time.Now().After(progress) {
			fmt.Fprintf(b.out, "  ... %.0fs: %.0f/%d workflows, %.0f/%d line items written (loadavg %s)\n", time.Since(began).Seconds(),
				scrape(adminAddr, "unitcost_process_workflows_written_total"), len(truth.Workflows),
				scrape(adminAddr, "unitcost_process_line_items_written_total"), truth.LineItems, LoadAvg())
			progress = time.Now().Add(30 * time.Second)
		}
		select {
		case <-proc.done:
			return res, fmt.Errorf("process exited: %v\n%s", proc.err, proc.tail())
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("process did not write everything within 30 minutes (%d/%d workflows, %d/%d line items)", w, len(truth.Workflows), l, truth.LineItems)
		}
	}
	res.Done = time.Since(began)
	res.LoadEnd = LoadAvg()
	if err := proc.stop(); err != nil {
		return res, fmt.Errorf("process: %v\n%s", err, proc.tail())
	}
	if err := ing.stop(); err != nil {
		return res, fmt.Errorf("ingest: %v\n%s", err, ing.tail())
	}
	res.ProcessCPU, res.ProcessRSS = proc.usage()
	res.IngestCPU, res.IngestRSS = ing.usage()
	if d := b.checkTruth(ctx, st, truth, from, to); d != "" {
		return res, fmt.Errorf("ingest + process differs from the truth: %s", d)
	}
	return res, nil
}

// exportAll sends every request once acknowledged: clients exporters take the next
// request each; an error (UNAVAILABLE while Kafka is slow, a timeout) sends the same
// request again after a pause, as an SDK's retry does. It returns the retries.
func exportAll(ctx context.Context, addr string, reqs []*collectortrace.ExportTraceServiceRequest, clients int) (int64, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	cl := collectortrace.NewTraceServiceClient(conn)
	var next, retries atomic.Int64
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
					if ctx.Err() != nil {
						return
					}
					rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := cl.Export(rctx, reqs[i])
					cancel()
					if err == nil {
						break
					}
					retries.Add(1)
					select {
					case <-ctx.Done():
						return
					case <-time.After(wait):
					}
				}
			}
		}()
	}
	wg.Wait()
	return retries.Load(), ctx.Err()
}
