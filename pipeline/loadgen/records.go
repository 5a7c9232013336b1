package loadgen

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// RecordSink is an OTLP exporter client (otlptrace.Client) that turns every export into
// the spans topic's records exactly as KafkaDelivery and ingest do (one record per trace
// of the export, keyed by trace id, split above maxBytes) and hands them to Emit, in
// order: benchmarks use it to preload a topic or to keep the records in memory.
type RecordSink struct {
	Topic    string
	MaxBytes int
	Emit     func(ctx context.Context, recs []*kgo.Record) error
}

// Start implements otlptrace.Client.
func (s *RecordSink) Start(context.Context) error { return nil }

// Stop implements otlptrace.Client.
func (s *RecordSink) Stop(context.Context) error { return nil }

// UploadTraces implements otlptrace.Client.
func (s *RecordSink) UploadTraces(ctx context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&collectortrace.ExportTraceServiceRequest{ResourceSpans: rs})
	if err != nil {
		return fmt.Errorf("marshal spans: %w", err)
	}
	td, err := otlp.Decode(b, otlp.EncodingProto)
	if err != nil {
		return err
	}
	recs, err := kafka.TraceRecords(td, "", s.Topic, s.MaxBytes)
	if err != nil {
		return err
	}
	return s.Emit(ctx, recs)
}
