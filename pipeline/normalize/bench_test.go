package normalize_test

import (
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/otlp"
)

// payload is 100 spans shaped like a real GenAI trace batch (model calls with usage,
// tools, a workflow root), encoded as OTLP protobuf.
func payload() ([]byte, int) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "support-bot")
	rs.Resource().Attributes().PutStr("deployment.environment", "prod")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < 100; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, byte(i / 10)})
		sp.SetSpanID(pcommon.SpanID{byte(i), 1})
		sp.SetName("chat claude-sonnet-4-5")
		sp.SetStartTimestamp(1_700_000_000_000_000_000)
		sp.SetEndTimestamp(1_700_000_001_000_000_000)
		a := sp.Attributes()
		if i%10 == 0 {
			a.PutStr("unitcost.workflow.name", "support_agent")
			a.PutStr("unitcost.workflow.outcome", "completed")
			a.PutInt("unitcost.outputs.validated", 1)
			a.PutStr("unitcost.tenant", "acme")
			continue
		}
		sp.SetParentSpanID(pcommon.SpanID{byte(i - i%10), 1})
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "anthropic")
		a.PutStr("gen_ai.request.model", "claude-sonnet-4-5")
		a.PutStr("gen_ai.response.model", "claude-sonnet-4-5-20250929")
		a.PutInt("gen_ai.usage.input_tokens", 12000)
		a.PutInt("gen_ai.usage.output_tokens", 700)
		a.PutInt("gen_ai.usage.cache_read.input_tokens", 8000)
		a.PutStr("gen_ai.response.id", "msg_01XyZ")
		a.PutStr("gen_ai.response.finish_reasons", "stop")
	}
	b, _ := otlp.Encode(td)
	return b, 100
}

// BenchmarkDecodeNormalize is the processing core's front half: decode a protobuf batch
// and normalise every span. Compare with BenchmarkUnmarshalOnly on the same bytes.
func BenchmarkDecodeNormalize(b *testing.B) {
	buf, n := payload()
	var nz normalize.Normalizer
	spans := make([]pipeline.Span, n)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		td, err := otlp.Decode(buf, otlp.EncodingProto)
		if err != nil {
			b.Fatal(err)
		}
		rs := td.ResourceSpans().At(0)
		ss := rs.ScopeSpans().At(0).Spans()
		for i := 0; i < ss.Len(); i++ {
			if err := nz.Span(rs.Resource().Attributes(), ss.At(i), "", &spans[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/span")
}

// BenchmarkDecodeNormalizeWire is BenchmarkDecodeNormalize on the wire path
// (normalize.Decoder): the same bytes to the same spans, without pdata.
func BenchmarkDecodeNormalizeWire(b *testing.B) {
	buf, n := payload()
	var d normalize.Decoder
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		spans, err := d.Decode(buf, "")
		if err != nil || len(spans) != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/span")
}

// cpuTime is the process's user and system CPU time so far: on a shared machine the
// honest per-core figure, where wall time counts other jobs' load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkUnmarshalOnly is the baseline: a plain protobuf unmarshal of the same bytes.
func BenchmarkUnmarshalOnly(b *testing.B) {
	buf, n := payload()
	var u ptrace.ProtoUnmarshaler
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := u.UnmarshalTraces(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "spans/s")
}

func FuzzNormalize(f *testing.F) {
	buf, _ := payload()
	f.Add(buf)
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := otlp.Decode(b, otlp.EncodingProto)
		if err != nil {
			return
		}
		var nz normalize.Normalizer
		var out pipeline.Span
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			for j := 0; j < rss.At(i).ScopeSpans().Len(); j++ {
				ss := rss.At(i).ScopeSpans().At(j).Spans()
				for k := 0; k < ss.Len(); k++ {
					if err := nz.Span(rss.At(i).Resource().Attributes(), ss.At(k), "", &out); err == nil {
						if out.Usage.InputTokens > 2*normalize.DefaultLimits.MaxTokens || len(out.Model) > normalize.DefaultLimits.MaxStringBytes {
							t.Fatalf("limits not applied: %+v", out)
						}
					}
				}
			}
		}
	})
}
