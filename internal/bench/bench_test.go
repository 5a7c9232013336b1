package bench

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{.5, 5}, {.95, 10}, {.1, 1}, {1, 10}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("p%.0f = %d, want %d", c.p*100, got, c.want)
		}
	}
	if percentile(nil, .5) != 0 {
		t.Error("empty: want 0")
	}
}

// The core measurement prices every generated span: its line items equal the truth's.
func TestCoreMatchesTruth(t *testing.T) {
	t.Parallel()
	recs, truth, err := coreRecords(context.Background(), 300)
	if err != nil {
		t.Fatal(err)
	}
	book, err := pricing.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r := runCore(pricing.Single(book), recs, truth.Spans)
	if r.LineItems != truth.LineItems {
		t.Fatalf("%d line items, truth %d", r.LineItems, truth.LineItems)
	}
	if m := openSpanMemory(pricing.Single(book), recs); m.OpenSpans != truth.Spans {
		t.Fatalf("%d spans held open, want %d", m.OpenSpans, truth.Spans)
	}
}

// The baseline copies every record of a preloaded topic, once, on real Kafka and ClickHouse.
func TestRawCopy(t *testing.T) {
	brokers := testenv.KafkaBrokers(t)
	st := testenv.ClickHouse(t)
	ctx := context.Background()
	topic := testenv.Unique("bench_raw")
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pr := &producer{cl: cl}
	if _, err := generate(ctx, loadgen.Config{Workflows: 50}, topic, 900<<10, pr.emit); err != nil {
		t.Fatal(err)
	}
	if err := pr.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Conn().Exec(ctx, RawTableDDL(st.Database(), "raw")); err != nil {
		t.Fatal(err)
	}
	res, err := RawCopy(ctx, RawCopyConfig{Brokers: brokers, Topic: topic, Group: topic, ClickHouse: []string{testenv.ClickHouseAddr(t)},
		Database: st.Database(), Table: "raw", Records: pr.records, PollRecords: 100})
	if err != nil {
		t.Fatal(err)
	}
	var rows, bytes uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count(), sum(length(value)) FROM "+st.Database()+".raw").Scan(&rows, &bytes); err != nil {
		t.Fatal(err)
	}
	if res.Records != pr.records || int64(rows) != pr.records || int64(bytes) != pr.bytes {
		t.Fatalf("copied %d records, %d rows of %d bytes; produced %d records of %d bytes", res.Records, rows, bytes, pr.records, pr.bytes)
	}
}
