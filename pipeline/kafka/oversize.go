package kafka

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/semconv"
)

// Estimator counts the tokens of a span's captured content while it is still whole, for
// a span whose content is about to be trimmed. It returns the input and output token
// counts it estimated (0 where the span reports usage itself) and the issues to record.
type Estimator func(res pcommon.Map, sp ptrace.Span, tenant string) (input, output uint64, issues []string)

// keepBytes is what trimming keeps of each captured value: enough to read what it was.
const keepBytes = 4 << 10

// records turns a request into the records to produce. A span too large for one record
// on its own (Kafka would refuse it: MESSAGE_TOO_LARGE) is made to fit: its token usage is
// estimated from the whole content first when it reports none (Estimator), then its
// largest string values are trimmed, and both facts are written on the span
// (unitcost.ingest.issues, unitcost.usage.estimated) so that process records them as span
// issues. A span that still does not fit - thousands of attributes, say - is taken out of
// the request and dead-lettered as a stub with its ids, name, times and the reason; the
// client learns it from the partial-success response. Nothing is dropped silently.
func (p *Producer) records(ctx context.Context, td ptrace.Traces, tenant string) ([]*kgo.Record, otlp.Result, error) {
	var (
		res   otlp.Result
		dead  []*kgo.Record
		sizer ptrace.ProtoMarshaler
		why   []string
	)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			budget := p.cfg.MaxRecordBytes - envelopeSize(rs, ss) - 64
			ss.Spans().RemoveIf(func(sp ptrace.Span) bool {
				if sizer.SpanSize(sp) <= budget {
					return false
				}
				if p.fit(rs, sp, tenant, budget) {
					p.m.trimmed.Inc()
					return false
				}
				reason := fmt.Sprintf("span %q of trace %s is %d bytes after trimming its captured content, above the %d-byte record limit (kafka.max_record_bytes / the topic's max.message.bytes)",
					clip(sp.Name(), 64), pipeline.TraceID(sp.TraceID()), sizer.SpanSize(sp), p.cfg.MaxRecordBytes)
				dead = append(dead, p.deadLetter(rs, ss, sp, tenant, reason))
				res.Rejected++
				if len(why) < 3 {
					why = append(why, reason)
				}
				return true
			})
		}
	}
	if res.Rejected > 0 {
		res.Message = fmt.Sprintf("%d span(s) dead-lettered: %s", res.Rejected, strings.Join(why, "; "))
		// The dead letters are produced (and acknowledged) before the request is: a
		// rejected span is never lost, even if the rest of the request must be retried.
		if err := p.produceAll(ctx, dead); err != nil {
			return nil, res, err
		}
		p.m.deadLettered.Add(float64(res.Rejected))
	}
	recs, err := TraceRecords(td, tenant, p.cfg.Topic, p.cfg.MaxRecordBytes)
	return recs, res, err
}

// fit estimates (when the span reports no usage) and trims sp until it encodes in budget
// bytes, recording both on the span. It reports whether the span fits.
func (p *Producer) fit(rs ptrace.ResourceSpans, sp ptrace.Span, tenant string, budget int) bool {
	var issues []string
	if p.cfg.Estimate != nil {
		in, out, est := p.cfg.Estimate(rs.Resource().Attributes(), sp, tenant)
		attrs := sp.Attributes()
		if in > 0 {
			attrs.PutInt("gen_ai.usage.input_tokens", int64(in))
		}
		if out > 0 {
			attrs.PutInt("gen_ai.usage.output_tokens", int64(out))
		}
		if in > 0 || out > 0 {
			attrs.PutBool(semconv.UsageEstimated, true)
			issues = append(issues, fmt.Sprintf("usage estimated at ingest from the captured content before it was trimmed (%d input, %d output tokens)", in, out))
		}
		issues = append(issues, est...)
	}
	trimmed := trimStrings(sp, budget)
	if len(trimmed) > 0 {
		issues = append(issues, "captured content trimmed at ingest to fit a Kafka record: "+strings.Join(trimmed, ", "))
	}
	if len(issues) > 0 {
		s := sp.Attributes().PutEmptySlice(semconv.IngestIssues)
		for _, is := range issues {
			s.AppendEmpty().SetStr(is)
		}
	}
	var sizer ptrace.ProtoMarshaler
	return sizer.SpanSize(sp) <= budget
}

// trimStrings cuts the largest string values of the span's and its events' attributes
// (captured prompts and completions, in practice) to keepBytes plus a marker, largest
// first, until the span fits budget. It returns what it cut ("key: from -> to bytes").
func trimStrings(sp ptrace.Span, budget int) []string {
	type str struct {
		key string
		v   pcommon.Value
	}
	var strs []str
	var collect func(key string, v pcommon.Value, depth int)
	collect = func(key string, v pcommon.Value, depth int) {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if len(v.Str()) > keepBytes {
				strs = append(strs, str{key, v})
			}
		case pcommon.ValueTypeSlice:
			if depth < 8 {
				for i := 0; i < v.Slice().Len(); i++ {
					collect(key, v.Slice().At(i), depth+1)
				}
			}
		case pcommon.ValueTypeMap:
			if depth < 8 {
				v.Map().Range(func(k string, e pcommon.Value) bool { collect(key+"."+k, e, depth+1); return true })
			}
		}
	}
	sp.Attributes().Range(func(k string, v pcommon.Value) bool { collect(k, v, 0); return true })
	for i := 0; i < sp.Events().Len(); i++ {
		ev := sp.Events().At(i)
		ev.Attributes().Range(func(k string, v pcommon.Value) bool { collect(ev.Name()+":"+k, v, 0); return true })
	}
	sort.SliceStable(strs, func(i, j int) bool { return len(strs[i].v.Str()) > len(strs[j].v.Str()) })
	var (
		sizer ptrace.ProtoMarshaler
		out   []string
	)
	excess := sizer.SpanSize(sp) - budget
	for _, s := range strs {
		if excess <= 0 {
			break
		}
		old := s.v.Str()
		cut := keepBytes
		for cut > 0 && !utf8.RuneStart(old[cut]) {
			cut--
		}
		marker := fmt.Sprintf(" [trimmed by unitcost ingest: %d of %d bytes kept]", cut, len(old))
		s.v.SetStr(old[:cut] + marker)
		excess -= len(old) - cut - len(marker)
		out = append(out, fmt.Sprintf("%s: %d -> %d bytes", s.key, len(old), cut))
	}
	return out
}

// deadLetter is a record for the dead-letter topic holding a stub of sp (ids, name, kind,
// times, status, its unitcost.* labels) with the reason in a header.
func (p *Producer) deadLetter(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, sp ptrace.Span, tenant, reason string) *kgo.Record {
	td := ptrace.NewTraces()
	nrs := td.ResourceSpans().AppendEmpty()
	rs.Resource().CopyTo(nrs.Resource())
	nss := nrs.ScopeSpans().AppendEmpty()
	ss.Scope().CopyTo(nss.Scope())
	stub := nss.Spans().AppendEmpty()
	stub.SetTraceID(sp.TraceID())
	stub.SetSpanID(sp.SpanID())
	stub.SetParentSpanID(sp.ParentSpanID())
	stub.SetName(clip(sp.Name(), 256))
	stub.SetKind(sp.Kind())
	stub.SetStartTimestamp(sp.StartTimestamp())
	stub.SetEndTimestamp(sp.EndTimestamp())
	sp.Status().CopyTo(stub.Status())
	sp.Attributes().Range(func(k string, v pcommon.Value) bool {
		if strings.HasPrefix(k, "unitcost.") && v.Type() != pcommon.ValueTypeStr || strings.HasPrefix(k, "unitcost.") && len(v.Str()) < 256 {
			v.CopyTo(stub.Attributes().PutEmpty(k))
		}
		return true
	})
	if (&ptrace.ProtoMarshaler{}).TracesSize(td) > p.cfg.MaxRecordBytes/2 {
		nrs.Resource().Attributes().Clear()
	}
	val, _ := otlp.Encode(td)
	r := newRecord(p.cfg.DeadLetterTopic, []byte(pipeline.TraceID(sp.TraceID()).String()), val, tenant)
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)}, kgo.RecordHeader{Key: HeaderSource, Value: []byte("ingest")})
	return r
}

// produceAll produces recs and waits for all of them, as Accept does.
func (p *Producer) produceAll(ctx context.Context, recs []*kgo.Record) error {
	return p.await(ctx, recs)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
