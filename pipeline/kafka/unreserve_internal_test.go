package kafka

import (
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// genAIRequest is an export of n GenAI-shaped spans of 12 attributes each, none reserved.
func genAIRequest(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < n; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{byte(i / 10), 1})
		sp.SetSpanID(pcommon.SpanID{byte(i), 1})
		sp.SetName("chat gpt-4o-mini")
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", "gpt-4o-mini")
		a.PutStr("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
		a.PutInt("gen_ai.usage.input_tokens", 1200)
		a.PutInt("gen_ai.usage.output_tokens", 300)
		a.PutInt("gen_ai.usage.cache_read.input_tokens", 512)
		a.PutStr("unitcost.workflow.name", "support_agent")
		a.PutStr("unitcost.team", "support")
		a.PutStr("session.id", fmt.Sprintf("s-%d", i/10))
		a.PutStr("user.id", "u-1")
		a.PutStr("unitcost.step", "answer")
	}
	return td
}

// BenchmarkUnreserve is the pass that removes client-set reserved attributes, beside the
// whole of Bound.Records it runs in (sizing, splitting by trace, encoding), on the same
// request: its share of ingest's record-making, per span.
func BenchmarkUnreserve(b *testing.B) {
	td := genAIRequest(200)
	b.Run("unreserve", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			unreserve(td, "ingest")
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/span")
	})
	b.Run("records", func(b *testing.B) {
		b.ReportAllocs()
		bd := Bound{Topic: "spans", MaxRecordBytes: 900 << 10}
		for b.Loop() {
			if _, err := bd.Records(td, "acme"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/span")
	})
}
