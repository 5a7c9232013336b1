package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/encoding/json"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/loadgen"
)

func loadgenCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "loadgen",
		Short: "send a realistic synthetic AI workload over OTLP and write its ground truth",
		Long: "Send a realistic synthetic AI workload (RAG Q&A, a support agent with tools and retries,\n" +
			"invoice extraction with human validation, routed ticket classification) through the\n" +
			"official OTel Go SDK - over OTLP/gRPC, or straight into Kafka with shuffled and\n" +
			"duplicated delivery - and write its ground truth as JSON.\n\n" +
			"Each run has trace ids of its own, so a second run adds to the first; with --seed the\n" +
			"run is deterministic (the same flags give the same spans, ids and truth). Exits non-zero\n" +
			"when any export failed, saying how many.",
		Args: noArgs,
	}
	fs := c.Flags()
	endpoint := fs.String("endpoint", "127.0.0.1:4317", "OTLP/gRPC endpoint (unitcost ingest or a Collector)")
	token := fs.String("token", "", "bearer token for an authenticated ingest")
	toKafka := fs.Bool("kafka", false, "produce straight to kafka.spans_topic on kafka.brokers instead of OTLP")
	window := fs.Int("shuffle-window", 0, "with --kafka: shuffle records in windows of this many (0: in order)")
	dups := fs.Float64("duplicates", 0, "with --kafka: probability a record is delivered twice")
	perSpan := fs.Bool("per-span", false, "with --kafka: one record per span, so shuffling reorders spans within traces")
	workflows := fs.Int("workflows", 200, "workflows to generate (0 with --duration: no cap)")
	rate := fs.Float64("rate", 0, "workflows per second (0: as fast as possible)")
	duration := fs.Duration("duration", 0, "stop after this long (e.g. 10m)")
	seed := fs.Uint64("seed", 0, "random seed: the same seed and flags give the same spans, trace ids and truth (default: a new one each run, printed)")
	tenants := fs.String("tenants", "acme,globex", "comma-separated tenants the workflows are spread over")
	mix := fs.String("mix", "", "workflow type weights, e.g. rag_qa=40,support_agent=25,invoice_extraction=15,ticket_classification=20")
	truthPath := fs.String("truth", "", "write the ground truth (every workflow's cost, unit economics per type) to this JSON file")
	s := bindSettings(c, "loadgen", "kafka", "log_level")
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		return runLoadgen(s, loadgenFlags{endpoint: *endpoint, token: *token, toKafka: *toKafka, window: *window, dups: *dups, perSpan: *perSpan,
			workflows: *workflows, rate: *rate, duration: *duration, seed: *seed, seedSet: cmd.Flags().Changed("seed"),
			tenants: *tenants, mix: *mix, truthPath: *truthPath})
	}
	return c
}

type loadgenFlags struct {
	endpoint, token, tenants, mix, truthPath string
	toKafka, perSpan, seedSet                bool
	window, workflows                        int
	dups, rate                               float64
	duration                                 time.Duration
	seed                                     uint64
}

func runLoadgen(s *settings, f loadgenFlags) error {
	ss, err := s.start()
	if err != nil {
		return err
	}
	defer ss.stop()
	if !f.seedSet { // ids of their own per run; the seed printed lets the run be repeated
		f.seed = rand.Uint64()>>1 | 1
		fmt.Fprintf(os.Stderr, "loadgen: seed %d (pass --seed %d to repeat this run exactly)\n", f.seed, f.seed)
	}
	lc := loadgen.Config{Seed: f.seed, Workflows: f.workflows, Rate: f.rate, Duration: f.duration, Tenants: split(f.tenants)}
	if lc.Mix, err = parseMix(f.mix); err != nil {
		return err
	}
	if err := lc.Validate(); err != nil {
		return err
	}
	var client otlptrace.Client
	var delivery *loadgen.KafkaDelivery
	if f.toKafka {
		opts, err := ss.cfg.Kafka.ClientOpts()
		if err != nil {
			return err
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return fmt.Errorf("kafka client: %w", err)
		}
		defer cl.Close()
		if err := kafka.EnsureTopics(ss.ctx, cl, ss.cfg.Kafka); err != nil {
			return err
		}
		maxBytes := ss.cfg.Kafka.MaxRecordBytes
		if f.perSpan {
			maxBytes = 1
		}
		delivery = loadgen.NewKafkaDelivery(cl, ss.cfg.Kafka.SpansTopic, maxBytes, f.window, f.dups, f.seed)
		client = delivery
	} else {
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(f.endpoint), otlptracegrpc.WithInsecure()}
		if f.token != "" {
			opts = append(opts, otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + f.token}))
		}
		client = otlptracegrpc.NewClient(opts...)
	}
	began := time.Now()
	truth, err := sendWorkload(ss.ctx, client, lc)
	if err != nil {
		return err
	}
	wall := time.Since(began)
	fmt.Fprintf(os.Stderr, "loadgen: sent %s in %.1fs (%.0f spans/s)\n", truth.Summary(), wall.Seconds(), float64(truth.Spans)/wall.Seconds())
	if delivery != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %d Kafka records to %s, %d of them duplicates\n", delivery.Sent, ss.cfg.Kafka.SpansTopic, delivery.Dups)
	}
	if f.truthPath != "" {
		b, err := json.MarshalIndent(map[string]any{"workflows": truth.Workflows, "by_type": truth.ByType(""),
			"spans": truth.Spans, "line_items": truth.LineItems}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.truthPath, b, 0o644); err != nil {
			return fmt.Errorf("write ground truth: %w", err)
		}
	}
	return nil
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseMix(s string) (map[string]int, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]int{}
	for _, p := range split(s) {
		k, v, ok := strings.Cut(p, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, fmt.Errorf("--mix %q: want type=weight pairs, e.g. rag_qa=40,support_agent=60", p)
		}
		m[k] = n
	}
	return m, nil
}

// sendWorkload runs the generator through an OTLP exporter on client, with a progress
// line, and flushes it; any failed export is an error.
func sendWorkload(ctx context.Context, client otlptrace.Client, cfg loadgen.Config) (*loadgen.Truth, error) {
	exp, err := otlptrace.New(ctx, client)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	start := time.Now()
	pr := newProgress()
	truth, err := loadgen.Send(ctx, exp, cfg, func(done, total int) {
		pr.update(done == total, "loadgen: %d/%s workflows generated (%.1fs)", done, totalString(total), time.Since(start).Seconds())
	})
	if err != nil {
		return nil, fmt.Errorf("%w (is `unitcost ingest` running at the endpoint?)", err)
	}
	return truth, nil
}

func totalString(n int) string {
	if n == 0 {
		return "?"
	}
	return strconv.Itoa(n)
}
