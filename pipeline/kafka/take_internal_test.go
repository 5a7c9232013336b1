package kafka

import (
	"testing"

	"github.com/unitcost/unitcost/pipeline/otlp"
)

// BenchmarkBoundRecordsTake is ingest's record-making on a freshly decoded request (as
// each request is), spans copied into the per-trace records (copy) or moved (take, what
// ingest's producer does): decode included in both, per span.
func BenchmarkBoundRecordsTake(b *testing.B) {
	body, err := otlp.Encode(genAIRequest(200))
	if err != nil {
		b.Fatal(err)
	}
	for _, take := range []bool{false, true} {
		name := map[bool]string{false: "copy", true: "take"}[take]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			bd := Bound{Topic: "spans", MaxRecordBytes: 900 << 10, Take: take}
			for b.Loop() {
				td, err := otlp.Decode(body, otlp.EncodingProto)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bd.Records(td, "acme"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/span")
		})
	}
}
