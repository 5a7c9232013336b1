// Package bench is `make bench-e2e`: the end-to-end performance figures of issue 15,
// measured on the real services of this machine. It preloads a Kafka topic with the
// generator's workload, then runs, interleaved, a raw Kafka -> ClickHouse copy of the
// same records (the baseline: one row per record, commit after insert) and one
// `unitcost process` draining the topic, each as a child process whose CPU time is
// measured; checks every total against the generator's ground truth; measures the
// processing core in process (spans/s per core, allocations per span), the live heap per
// open span, and freshness (a closed workflow's row, its hour in the rollups). Every
// figure is printed with the machine's load: on a shared machine only ratios measured in
// the same run mean much. No test asserts a timing; this is a tool, not a test.
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Config of a run.
type Config struct {
	Brokers       []string
	ClickHouse    []string
	Unitcost      string   // the unitcost binary; process runs as a child
	Compare       string   // another unitcost binary whose process also runs in each round (A/B of two builds); "" none
	CompareEnv    []string // variables (K=V) set for the compare process only, e.g. a setting to A/B
	Self          string   // this binary; the raw copy runs as a child (`raw-copy`)
	Sizes         []int    // workflows per preloaded topic
	Rounds        int      // baseline + process pairs per size
	Partitions    int32
	CoreWorkflows int // workflows of the in-memory core and memory measurements (and of the ingest loads)
	CorePasses    int // passes of the core measurement (0: skip the core and memory)
	FreshSamples  int
	Collector     string        // an OTel Collector binary (OTLP receiver + kafka exporter); "" skips the ingest comparison
	IngestClients int           // concurrent OTLP exporters, one request in flight each
	IngestFor     time.Duration // measured time per ingest run (after a 3s warm-up)
	IngestRounds  int           // interleaved rounds of the ingest comparison (0: 2)
	// IngestBaseline, when set, is another unitcost binary measured in each ingest round
	// beside Unitcost and the Collector (e.g. main before a change), target "baseline".
	IngestBaseline string
	// IngestNoRetryDelay sends a refused export's successor at once instead of after the
	// answer's RetryInfo delay (as SDKs wait).
	IngestNoRetryDelay bool
	Dir                string // child logs
	Keep               bool   // keep topics and databases
	Profile            bool   // CPU profiles of every process round (admin.pprof), into Dir
	// SustainedWorkflows are sent over OTLP/gRPC to ingest while process runs beside it
	// (0: skip), by SustainedClients concurrent exporters.
	SustainedWorkflows, SustainedClients int
	Out                                  io.Writer
}

type run struct {
	cfg    Config
	id     string
	adm    *kadm.Client
	cl     *kgo.Client
	topics []string
	dbs    []string
	out    io.Writer
}

// LoadAvg is the machine's load average (1, 5 and 15 minutes) for benchmark output: on a
// shared machine a figure means little without it.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Run measures and prints.
func Run(ctx context.Context, cfg Config) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(1<<20))
	if err != nil {
		return err
	}
	defer cl.Close()
	b := &run{cfg: cfg, id: fmt.Sprintf("bench_%d", time.Now().Unix()), adm: kadm.NewClient(cl), cl: cl, out: cfg.Out}
	defer b.cleanup()
	p := func(format string, a ...any) { fmt.Fprintf(b.out, format, a...) }
	st0, err := b.openStore(ctx, b.id+"_probe")
	if err != nil {
		return err
	}
	chVersion, _ := st0.ServerVersion(ctx)
	st0.Close()
	kafkaVersion := "?"
	if bm, err := b.adm.ApiVersions(ctx); err == nil {
		for _, v := range bm {
			if v.Err == nil {
				kafkaVersion = v.VersionGuess()
				break
			}
		}
	}
	p("unitcost bench-e2e %s  run %s\n", time.Now().UTC().Format(time.RFC3339), b.id)
	p("machine: %d CPUs (runtime.NumCPU), %s %s/%s; loadavg %s at start\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, LoadAvg())
	p("services: Kafka %s at %s (topic %d partitions), ClickHouse %s at %s; every figure below is from this run\n\n",
		kafkaVersion, strings.Join(cfg.Brokers, ","), cfg.Partitions, chVersion, strings.Join(cfg.ClickHouse, ","))

	var sizes []sizeResult
	for _, n := range cfg.Sizes {
		sr, err := b.size(ctx, n)
		if err != nil {
			return err
		}
		sizes = append(sizes, sr)
	}

	var sus *SustainedResult
	if cfg.SustainedWorkflows > 0 {
		p("ingest + process sustained: %d workflows sent by %d concurrent OTLP/gRPC exporters (one request of ~512 spans in flight each, sent again after an error until acknowledged) to `unitcost ingest`, Kafka, one `unitcost process`, ClickHouse...\n",
			cfg.SustainedWorkflows, cfg.SustainedClients)
		r, err := b.sustained(ctx, cfg.SustainedWorkflows, cfg.SustainedClients)
		if err != nil {
			return err
		}
		sus = &r
		p("  %d spans (%d requests, %d retries): every request acknowledged at %.1fs (%.0f spans/s), every row in ClickHouse at %.1fs: %.0f spans/s end to end; %d workflows, %d line items and every unit-economics figure (all tenants and each) equal the truth, rollups too\n",
			r.Spans, r.Requests, r.Retries, r.Acked.Seconds(), float64(r.Spans)/r.Acked.Seconds(), r.Done.Seconds(), r.SpansPerSec(), r.Workflows, r.LineItems)
		p("  CPU: ingest %.2fs (%.2f us/span, peak RSS %.0f MB), process %.2fs (%.2f us/span, peak RSS %.0f MB); loadavg %s at start, %s at the end\n\n",
			r.IngestCPU.Seconds(), us(r.IngestCPU, r.Spans), float64(r.IngestRSS)/1e6, r.ProcessCPU.Seconds(), us(r.ProcessCPU, r.Spans), float64(r.ProcessRSS)/1e6, r.LoadStart, r.LoadEnd)
	}

	book, err := pricing.Builtin()
	if err != nil {
		return err
	}
	books := pricing.Single(book)
	recs, truth, err := coreRecords(ctx, cfg.CoreWorkflows)
	if err != nil {
		return err
	}
	if cfg.CorePasses > 0 {
		p("processing core (in process, no I/O) on %d generated workflows shaped as `loadgen --kafka` writes them:\n", cfg.CoreWorkflows)
	}
	var best CoreResult
	for i := 0; i < cfg.CorePasses; i++ {
		r := runCore(books, recs, truth.Spans)
		p("  pass %d: %d spans, %d line items, %.2fs CPU, %.2fs wall: %.0f spans/s per core, %.1f allocations and %.0f B allocated per span (loadavg %s)\n",
			i+1, r.Spans, r.LineItems, r.CPU.Seconds(), r.Wall.Seconds(), r.perCoreSpansPerSec(), r.allocsPerSpan(),
			float64(r.AllocBytes)/float64(r.Spans), LoadAvg())
		if r.LineItems != truth.LineItems {
			return fmt.Errorf("core: %d line items, truth %d", r.LineItems, truth.LineItems)
		}
		if i == 0 || r.CPU < best.CPU {
			best = r
		}
	}
	var mem MemoryResult
	if cfg.CorePasses > 0 {
		mem = openSpanMemory(books, recs)
		p("  memory: %d spans held open in %d traces: %.0f B live heap per open span (after GC), %.0f B RSS growth per open span\n\n",
			mem.OpenSpans, mem.OpenTraces, mem.HeapPer, mem.RSSPer)
	}
	recsForIngest := recs
	recs = nil

	var fresh FreshResult
	if cfg.FreshSamples > 0 {
		p("freshness: `unitcost process` with default settings, one workflow sent every second, %d samples...\n", cfg.FreshSamples)
		if fresh, err = b.freshness(ctx, cfg.FreshSamples, time.Second); err != nil {
			return err
		}
		p("  workflow row: p50 %s p95 %s; rollup hour: p50 %s p95 %s; %d not seen within 3 minutes; rollups equal the truth: %v (loadavg %s)\n\n",
			ms(percentile(fresh.Row, .5)), ms(percentile(fresh.Row, .95)), ms(percentile(fresh.Rollup, .5)), ms(percentile(fresh.Rollup, .95)),
			fresh.Missing, fresh.Exact, LoadAvg())
	}

	var ingest []IngestResult
	if cfg.IngestClients > 0 {
		retry := "after a refusal each waits the answer's RetryInfo delay, as SDKs do"
		if cfg.IngestNoRetryDelay {
			retry = "a refused export is followed at once by the next"
		}
		p("ingest: %d concurrent OTLP/gRPC exporters (one request of ~512 generated spans in flight each; %s), %s measured after 3s, interleaved; acknowledged only once Kafka acknowledged (acks=all):\n",
			cfg.IngestClients, retry, cfg.IngestFor)
		reqs, spans, traces, err := otlpRequests(recsForIngest, 512)
		if err != nil {
			return err
		}
		targets := []string{"unitcost"}
		if cfg.IngestBaseline != "" {
			targets = append(targets, "baseline")
		}
		if cfg.Collector != "" {
			targets = append(targets, "collector")
		} else {
			p("  (no Collector binary: run deploy/local/otelcol.sh; only unitcost ingest is measured)\n")
		}
		rounds := cfg.IngestRounds
		if rounds <= 0 {
			rounds = 2
		}
		for round := 1; round <= rounds; round++ {
			if round > 1 { // alternate who goes first, so neither always runs after the other
				slices.Reverse(targets)
			}
			for _, tg := range targets {
				r, err := b.ingestTarget(ctx, tg, round, reqs, spans, traces, cfg.IngestClients, 3*time.Second, cfg.IngestFor)
				if err != nil {
					return err
				}
				r.Round = round
				p("  round %d %-9s %8.0f spans/s, %.2f us CPU per span; %d requests acknowledged (%d traces), %d failed (%s); %d records in Kafka (loadavg %s)\n",
					round, tg, r.SpansPerSec, float64(r.CPUPerSpan.Nanoseconds())/1000, r.Acked, r.AckedTraces, r.Failed, refusalText(r.Refused), r.Records, r.Load)
				if r.Records < r.AckedTraces {
					return fmt.Errorf("%s lost records: %d traces acknowledged, %d records in Kafka", tg, r.AckedTraces, r.Records)
				}
				ingest = append(ingest, r)
			}
		}
		p("\n")
	}
	recsForIngest = nil

	p("summary (issue 15's table; ratios are of figures measured interleaved in this run):\n")
	p("| figure | measured | target |\n|---|---|---|\n")
	for _, s := range sizes {
		p("| process vs raw copy, %d workflows (%d spans) | %s | within 2x |\n", s.workflows, s.spans, s.ratioText())
	}
	if cfg.CorePasses > 0 {
		p("| processing core, generator-shaped records | %.0fk spans/s/core, %.1f allocs/span | >= 500k spans/s/core, <= 10 allocs/span |\n",
			best.perCoreSpansPerSec()/1000, best.allocsPerSpan())
	}
	if cfg.FreshSamples > 0 {
		p("| workflow row after close | %s p50 / %s p95 | <= 2 s |\n", ms(percentile(fresh.Row, .5)), ms(percentile(fresh.Row, .95)))
		p("| its hour in the rollups | %s p50 / %s p95 | <= 5 s p95 |\n", ms(percentile(fresh.Rollup, .5)), ms(percentile(fresh.Rollup, .95)))
	}
	if cfg.CorePasses > 0 {
		p("| live heap per open span | %.0f B (RSS growth %.0f B) | <= 400 B |\n", mem.HeapPer, mem.RSSPer)
	}
	if cfg.Collector != "" {
		// ingest holds each round's targets in turn; pair them by round.
		byRound := map[int]map[string]IngestResult{}
		for _, r := range ingest {
			if byRound[r.Round] == nil {
				byRound[r.Round] = map[string]IngestResult{}
			}
			byRound[r.Round][r.Target] = r
		}
		var parts []string
		for round := 1; round <= len(byRound); round++ {
			u, c := byRound[round]["unitcost"], byRound[round]["collector"]
			part := fmt.Sprintf("round %d: %.2fx spans/s (%.0f vs %.0f), CPU per span %.2fx, %d vs %d refused", round,
				u.SpansPerSec/c.SpansPerSec, u.SpansPerSec, c.SpansPerSec, float64(u.CPUPerSpan)/float64(c.CPUPerSpan), u.Failed, c.Failed)
			if bl, ok := byRound[round]["baseline"]; ok {
				part += fmt.Sprintf(" (baseline %.2fx, %d refused)", bl.SpansPerSec/c.SpansPerSec, bl.Failed)
			}
			parts = append(parts, part)
		}
		if len(parts) > 0 {
			p("| unitcost ingest vs OTel Collector (OTLP receiver -> kafka exporter, acks=all, no queue) | %s | >= 1x |\n", strings.Join(parts, "; "))
		}
	}
	if sus != nil {
		p("| ingest + process sustained (OTLP/gRPC -> ingest -> Kafka -> process -> ClickHouse, %d exporters), nothing lost | %.0f spans/s (%d spans, first export to last row %.1fs; all acknowledged at %.1fs; loadavg %s) | >= 50k spans/s |\n",
			cfg.SustainedClients, sus.SpansPerSec(), sus.Spans, sus.Done.Seconds(), sus.Acked.Seconds(), sus.LoadEnd)
	}
	p("\nloadavg at the end: %s\n", LoadAvg())
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func (b *run) createTopic(ctx context.Context, topic string) error {
	resp, err := b.adm.CreateTopic(ctx, b.cfg.Partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	b.topics = append(b.topics, topic, topic+".deadletter", topic+".collector")
	return nil
}

func (b *run) openStore(ctx context.Context, db string) (*store.Store, error) {
	st, err := store.Open(ctx, store.Config{Addr: b.cfg.ClickHouse, Database: db, Username: "default", DialTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	b.dbs = append(b.dbs, db)
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate %s: %w", db, err)
	}
	return st, nil
}

func (b *run) cleanup() {
	if b.cfg.Keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(b.topics) > 0 {
		_, _ = b.adm.DeleteTopics(ctx, b.topics...)
	}
	if len(b.dbs) == 0 {
		return
	}
	st, err := store.Open(ctx, store.Config{Addr: b.cfg.ClickHouse, Database: b.dbs[0], Username: "default", DialTimeout: 10 * time.Second})
	if err != nil {
		return
	}
	defer st.Close()
	for _, db := range b.dbs {
		_ = st.Conn().Exec(ctx, "DROP DATABASE IF EXISTS "+db)
	}
}

// sameFigures compares unit economics per workflow type with the truth ("" when equal).
func sameFigures(got []store.UnitEconomics, want []loadgen.TypeTruth) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d workflow types, want %d", len(got), len(want))
	}
	for i, w := range want {
		exp := store.UnitEconomics{Workflow: w.Workflow, Workflows: w.Workflows, Completed: w.Completed, ValidatedOutputs: w.ValidatedOutputs,
			Exceptions: w.Exceptions, Cost: w.Cost, ExceptionCost: w.ExceptionCost, ReviewCost: w.ReviewCost}
		if got[i] != exp {
			return fmt.Sprintf("%s: got %+v, want %+v", w.Workflow, got[i], exp)
		}
	}
	return ""
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
