package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"

	"github.com/unitcost/unitcost/pipeline/loadgen"
)

// generate runs the generator through the OTel SDK into emit, as `loadgen --kafka`
// shapes its records (one record per trace of each SDK export, keyed by trace id).
func generate(ctx context.Context, lc loadgen.Config, topic string, maxBytes int,
	emit func(context.Context, []*kgo.Record) error) (*loadgen.Truth, error) {
	exp, err := otlptrace.New(ctx, &loadgen.RecordSink{Topic: topic, MaxBytes: maxBytes, Emit: emit})
	if err != nil {
		return nil, fmt.Errorf("exporter: %w", err)
	}
	tp := loadgen.NewTracerProvider(exp, lc.Seed)
	truth, err := loadgen.Run(ctx, lc, tp, nil)
	if serr := tp.Shutdown(context.WithoutCancel(ctx)); err == nil {
		err = serr
	}
	return truth, err
}

// producer produces records asynchronously and remembers the first error.
type producer struct {
	cl      *kgo.Client
	mu      sync.Mutex
	err     error
	records int64
	bytes   int64
}

func (p *producer) emit(ctx context.Context, recs []*kgo.Record) error {
	p.mu.Lock()
	err := p.err
	p.records += int64(len(recs))
	for _, r := range recs {
		p.bytes += int64(len(r.Value))
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	for _, r := range recs {
		// Not the export's context: the SDK cancels it when the export call returns,
		// before the record is acknowledged; flush waits for acknowledgements.
		p.cl.Produce(context.WithoutCancel(ctx), r, func(_ *kgo.Record, err error) {
			if err != nil {
				p.mu.Lock()
				p.err = errors.Join(p.err, err)
				p.mu.Unlock()
			}
		})
	}
	return nil
}

// flush waits for every produced record's acknowledgement.
func (p *producer) flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
