package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline/otlp"
)

// records turns a request into the records to produce.
func (p *Producer) records(_ context.Context, td ptrace.Traces, tenant string) ([]*kgo.Record, otlp.Result, error) {
	recs, err := TraceRecords(td, tenant, p.cfg.Topic, p.cfg.MaxRecordBytes)
	return recs, otlp.Result{}, err
}
