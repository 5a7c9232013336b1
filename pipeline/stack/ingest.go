package stack

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/process"
)

// ingest builds the OTLP receiver and its Kafka producer. Ingest starts even when Kafka
// is unreachable: it then answers 503 / UNAVAILABLE (with a retry hint) until Kafka is
// back, and /readyz says why.
func (s *Stack) ingest(ctx context.Context, cfg config.Config, reg *prometheus.Registry, checks map[string]admin.Check) error {
	opts, err := cfg.Kafka.ClientOpts()
	if err != nil {
		return err
	}
	// Records stay in the client's bounded buffer until Kafka acknowledges them (no
	// record timeout, unlimited retries: franz-go's defaults); Accept stops waiting
	// after ingest.produce_timeout and answers 503 while they are still delivered.
	opts = append(opts, kgo.DefaultProduceTopic(cfg.Kafka.SpansTopic), kgo.AllowAutoTopicCreation(),
		kgo.MaxBufferedBytes(int(cfg.Ingest.MaxBufferedBytes)))
	if s.producer, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	limit := cfg.Kafka.MaxRecordBytes
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := kafka.EnsureTopics(tctx, s.producer, cfg.Kafka); err != nil {
		s.log.Warn("ingest: cannot reach Kafka to check its topics; serving anyway and answering 503 until Kafka takes records", "err", err)
	} else if limit, err = kafka.RecordLimit(tctx, s.producer, cfg.Kafka.SpansTopic, cfg.Kafka.MaxRecordBytes); err != nil {
		s.log.Warn("ingest: cannot read the spans topic's max.message.bytes; using kafka.max_record_bytes", "err", err, "max_record_bytes", limit)
	}
	var preg prometheus.Registerer
	if reg != nil {
		preg = reg
	}
	s.sink = kafka.NewProducer(s.producer, kafka.ProducerConfig{Topic: cfg.Kafka.SpansTopic, DeadLetterTopic: cfg.Kafka.DeadLetterTopic,
		MaxRecordBytes: limit, Timeout: cfg.Ingest.ProduceTimeout, Estimate: process.Estimator(cfg.Process.Limits)}, s.log, preg)
	tc, err := cfg.Ingest.TLS.Load()
	if err != nil {
		return fmt.Errorf("ingest.tls: %w", err)
	}
	s.Receiver, err = otlp.NewReceiver(otlp.ReceiverConfig{
		GRPCAddr: cfg.Ingest.GRPCAddr, HTTPAddr: cfg.Ingest.HTTPAddr,
		MaxRequestBytes: cfg.Ingest.MaxRequestBytes, MaxInflightBytes: cfg.Ingest.MaxInflightBytes, InflightWait: cfg.Ingest.InflightWait,
		Limits: otlp.Limits{MaxDepth: cfg.Ingest.MaxAttributeDepth, MaxValues: cfg.Ingest.MaxRequestValues},
		Tokens: cfg.Ingest.Tokens, DefaultTenant: cfg.Ingest.DefaultTenant, RetryAfter: cfg.Ingest.RetryAfter,
		TLS: tc, Log: s.log,
	}, s.sink, newIngestMetrics(reg))
	if err != nil {
		return err
	}
	s.runs = append(s.runs, s.Receiver.Run)
	checks["kafka"] = func(ctx context.Context) error { return s.producer.Ping(ctx) }
	return nil
}

// closeIngest gives records still waiting for Kafka (every one was answered 503, none
// acknowledged) ingest.shutdown_timeout (1s when Kafka is known to be down) to be
// delivered, then drops the rest and says so.
func (s *Stack) closeIngest() {
	wait := s.shutdown
	if s.sink.Down() {
		// Kafka is known to be unreachable: waiting would only delay the exit.
		wait = min(wait, time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if left, err := s.sink.Flush(ctx); err != nil && left > 0 {
		s.log.Warn("ingest: records not acknowledged by Kafka at shutdown were dropped; their requests had been answered 503, so clients retry them",
			"records", left, "err", err)
	}
	s.sink.Close()
	s.sink = nil
}
