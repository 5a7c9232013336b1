// Command unitcost-bench is `make bench-e2e`: see internal/bench. `unitcost-bench
// raw-copy CONFIG_JSON` is the baseline copy it runs as a child process.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/unitcost/unitcost/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "unitcost-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 2 && args[0] == "raw-copy" {
		var c bench.RawCopyConfig
		if err := json.Unmarshal([]byte(args[1]), &c); err != nil {
			return fmt.Errorf("raw-copy config: %w", err)
		}
		res, err := bench.RawCopy(ctx, c)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fs := flag.NewFlagSet("unitcost-bench", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:19092", "Kafka brokers (comma-separated)")
	ch := fs.String("clickhouse", "127.0.0.1:19000", "ClickHouse native addresses (comma-separated)")
	unitcost := fs.String("unitcost", "./unitcost", "the unitcost binary to run `process` from")
	compare := fs.String("compare", "", "another unitcost binary whose `process` also runs in every round, after the first (an A/B of two builds under the same load); \"\": none")
	compareEnv := fs.String("compare-env", "", "variables set for the -compare process only, comma-separated K=V (e.g. UNITCOST_PROCESS_WRITE_JOBS=1 with -compare naming the same binary: an A/B of a setting)")
	sizes := fs.String("sizes", "40000,200000", "workflows per preloaded topic (comma-separated)")
	rounds := fs.Int("rounds", 2, "raw copy + process pairs per size, interleaved")
	partitions := fs.Int("partitions", 8, "partitions of the preloaded topics")
	core := fs.Int("core-workflows", 20000, "workflows for the in-process core and memory measurements")
	fresh := fs.Int("fresh-samples", 30, "workflows sent one per second for the freshness measurement (0: skip)")
	collector := fs.String("otelcol", "", "an OTel Collector binary with the OTLP receiver and kafka exporter (deploy/local/otelcol.sh builds one); \"\": ingest alone")
	clients := fs.Int("ingest-clients", 16, "concurrent OTLP exporters for the ingest comparison (0: skip it)")
	ingestFor := fs.Duration("ingest-for", 15*time.Second, "measured time per ingest run")
	ingestRounds := fs.Int("ingest-rounds", 2, "interleaved rounds of the ingest comparison (the order of the targets alternates)")
	ingestNoRetryDelay := fs.Bool("ingest-no-retry-delay", false, "in the ingest comparison, follow a refused export at once instead of waiting its RetryInfo delay as SDKs do")
	ingestBaseline := fs.String("ingest-baseline", "", "another unitcost binary measured beside -unitcost in each ingest round (e.g. built from main before a change)")
	dir := fs.String("dir", os.TempDir(), "directory for the children's logs")
	keep := fs.Bool("keep", false, "keep the benchmark's topics and databases")
	sustained := fs.Int("sustained-workflows", 40000, "workflows sent over OTLP/gRPC to ingest while process runs, for the sustained end-to-end rate (0: skip)")
	sustainedClients := fs.Int("sustained-clients", 16, "concurrent OTLP exporters of the sustained run")
	profile := fs.Bool("profile", false, "take CPU profiles of every `process` round (admin.pprof) into -dir")
	corePasses := fs.Int("core-passes", 3, "passes of the in-process core measurement (0: skip the core and memory figures)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cfg := bench.Config{Brokers: strings.Split(*brokers, ","), ClickHouse: strings.Split(*ch, ","), Self: self,
		IngestClients: *clients, IngestFor: *ingestFor, IngestRounds: *ingestRounds, IngestNoRetryDelay: *ingestNoRetryDelay,
		Rounds: *rounds, Partitions: int32(*partitions), CoreWorkflows: *core, FreshSamples: *fresh, Dir: *dir, Keep: *keep, Out: os.Stdout,
		Profile: *profile, CorePasses: *corePasses, SustainedWorkflows: *sustained, SustainedClients: *sustainedClients}
	if cfg.Unitcost, err = filepath.Abs(*unitcost); err != nil {
		return err
	}
	if *ingestBaseline != "" {
		if cfg.IngestBaseline, err = filepath.Abs(*ingestBaseline); err != nil {
			return err
		}
	}
	if *compare != "" {
		if cfg.Compare, err = filepath.Abs(*compare); err != nil {
			return err
		}
	}
	for _, kv := range strings.Split(*compareEnv, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		if !strings.Contains(kv, "=") {
			return fmt.Errorf("-compare-env: %q is not K=V", kv)
		}
		cfg.CompareEnv = append(cfg.CompareEnv, kv)
	}
	if len(cfg.CompareEnv) > 0 && cfg.Compare == "" {
		return errors.New("-compare-env needs -compare (the binary to run with it; it may be the same as -unitcost)")
	}
	if *collector != "" {
		if cfg.Collector, err = filepath.Abs(*collector); err != nil {
			return err
		}
	}
	for _, s := range strings.Split(*sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("-sizes: %q is not a positive number", s)
		}
		cfg.Sizes = append(cfg.Sizes, n)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	return bench.Run(ctx, cfg)
}
