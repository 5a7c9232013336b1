package kafka

import (
	"context"
	"errors"
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

// Bound is the one path by which span records reach Kafka: ingest's producer, process
// re-keying the records an OpenTelemetry Collector wrote to its own topic, and the load
// generator all turn traces into records through it, so that no record exceeds the
// topic's limit whichever way a span arrived.
//
// A span too large for one record on its own (Kafka would refuse it: MESSAGE_TOO_LARGE)
// is made to fit: its token usage is estimated from the whole content first when it
// reports none (Estimate), then its largest string values are trimmed, and both facts are
// written on the span (unitcost.ingest.issues, unitcost.usage.estimated) so that process
// records them as span issues. A span that still does not fit - thousands of attributes,
// say - is taken out of the request and dead-lettered as a stub with its ids, name, times
// and the reason (with no DeadLetterTopic, Records fails instead). Traces are then split
// into records of whole spans under MaxRecordBytes. Nothing is dropped silently.
type Bound struct {
	// Topic receives the span records, keyed by trace id.
	Topic string
	// DeadLetterTopic receives the stubs of spans that cannot fit even trimmed.
	DeadLetterTopic string
	// MaxRecordBytes caps one record's value (see RecordLimit).
	MaxRecordBytes int
	// Estimate, when set, counts the tokens of a span about to be trimmed.
	Estimate Estimator
	// Stage names who trims in the issues and markers it writes ("ingest" when empty).
	Stage string
	// Source is the dead letters' source header ("ingest" when empty).
	Source string
	// Take lets Records move the spans out of the payload instead of copying them (the
	// caller is done with it; ingest's producer is).
	Take bool
}

// Bounded is what Bound.Records made of a request.
type Bounded struct {
	// Records are for Topic, each value at most MaxRecordBytes.
	Records []*kgo.Record
	// Dead are for DeadLetterTopic: one stub per span that could not fit.
	Dead []*kgo.Record
	// Trimmed counts spans whose content was trimmed; Rejected those dead-lettered.
	Trimmed, Rejected int
	// Message names (up to three of) the dead-lettered spans and why.
	Message string
}

// ErrUnfit is returned by Records without a dead-letter topic when a span cannot fit a
// record even trimmed.
var ErrUnfit = errors.New("span does not fit a Kafka record even trimmed")

// Records trims, splits and dead-letters td (in place) into records; see Bound.
func (b Bound) Records(td ptrace.Traces, tenant string) (Bounded, error) {
	if b.MaxRecordBytes <= 0 {
		b.MaxRecordBytes = Defaults().MaxRecordBytes
	}
	if b.Stage == "" {
		b.Stage = "ingest"
	}
	// Before anything of unitcost's own is written on a span: a client's value of a
	// reserved attribute goes, and the span says so (semconv.Reserved).
	unreserve(td, b.Stage)
	if b.MaxRecordBytes < 1024 {
		// Below the least kafka.max_record_bytes accepts: one span per record, as they
		// are (the load generator's shuffled delivery asks for that with 1).
		recs, err := traceRecords(td, tenant, b.Topic, b.MaxRecordBytes, b.Take)
		return Bounded{Records: recs}, err
	}
	if b.Source == "" {
		b.Source = "ingest"
	}
	var (
		out   Bounded
		sizer ptrace.ProtoMarshaler
		why   []string
		unfit error
	)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			budget := b.MaxRecordBytes - envelopeSize(rs, ss) - 64
			ss.Spans().RemoveIf(func(sp ptrace.Span) bool {
				if sizer.SpanSize(sp) <= budget {
					return false
				}
				if b.fit(rs, sp, tenant, budget) {
					out.Trimmed++
					return false
				}
				reason := fmt.Sprintf("span %q of trace %s is %d bytes after trimming its captured content, above the %d-byte record limit (kafka.max_record_bytes / the topic's max.message.bytes)",
					clip(sp.Name(), 64), pipeline.TraceID(sp.TraceID()), sizer.SpanSize(sp), b.MaxRecordBytes)
				if b.DeadLetterTopic == "" {
					unfit = fmt.Errorf("%w: %s", ErrUnfit, reason)
					return false
				}
				out.Dead = append(out.Dead, b.deadLetter(rs, ss, sp, tenant, reason))
				out.Rejected++
				if len(why) < 3 {
					why = append(why, reason)
				}
				return true
			})
		}
	}
	if unfit != nil {
		return Bounded{}, unfit
	}
	if out.Rejected > 0 {
		out.Message = fmt.Sprintf("%d span(s) dead-lettered: %s", out.Rejected, strings.Join(why, "; "))
	}
	recs, err := traceRecords(td, tenant, b.Topic, b.MaxRecordBytes, b.Take)
	out.Records = recs
	return out, err
}

// records turns a request into the records to produce (Bound), producing the dead
// letters first.
func (p *Producer) records(ctx context.Context, td ptrace.Traces, tenant string) ([]*kgo.Record, otlp.Result, error) {
	// td is the request's, which the receiver no longer reads: its spans are moved, not copied.
	b := Bound{Topic: p.cfg.Topic, DeadLetterTopic: p.cfg.DeadLetterTopic, MaxRecordBytes: p.cfg.MaxRecordBytes, Estimate: p.cfg.Estimate, Take: true}
	out, err := b.Records(td, tenant)
	if err != nil {
		return nil, otlp.Result{}, err
	}
	p.m.trimmed.Add(float64(out.Trimmed))
	res := otlp.Result{Rejected: out.Rejected, Message: out.Message}
	if len(out.Dead) > 0 {
		// The dead letters are produced (and acknowledged) before the request is: a
		// rejected span is never lost, even if the rest of the request must be retried.
		if err := p.produceAll(ctx, out.Dead); err != nil {
			return nil, res, err
		}
		p.m.deadLettered.Add(float64(out.Rejected))
	}
	return out.Records, res, nil
}

// unreserve removes every reserved attribute (semconv.Reserved) a client set on a span of
// td, and records each removal, with the value it had, in the span's (now unitcost's own)
// semconv.IngestIssues: a client can neither forge unitcost's findings nor erase them.
func unreserve(td ptrace.Traces, stage string) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				attrs := spans.At(k).Attributes()
				found := false
				attrs.Range(func(key string, _ pcommon.Value) bool {
					found = semconv.Reserved(key)
					return !found
				})
				if !found {
					continue
				}
				var issues []string
				attrs.RemoveIf(func(key string, v pcommon.Value) bool {
					if !semconv.Reserved(key) {
						return false
					}
					issues = append(issues, fmt.Sprintf("attribute %s set by the client removed at %s: it is reserved for unitcost's own marks (value %s)",
						key, stage, clip(v.AsString(), 256)))
					return true
				})
				s := attrs.PutEmptySlice(semconv.IngestIssues)
				for _, is := range issues {
					s.AppendEmpty().SetStr(is)
				}
			}
		}
	}
}

// fit estimates (when the span reports no usage) and trims sp until it encodes in budget
// bytes, recording both on the span. It reports whether the span fits.
func (b Bound) fit(rs ptrace.ResourceSpans, sp ptrace.Span, tenant string, budget int) bool {
	var issues []string
	if b.Estimate != nil {
		in, out, est := b.Estimate(rs.Resource().Attributes(), sp, tenant)
		attrs := sp.Attributes()
		if in > 0 {
			attrs.PutInt("gen_ai.usage.input_tokens", int64(in))
		}
		if out > 0 {
			attrs.PutInt("gen_ai.usage.output_tokens", int64(out))
		}
		if in > 0 || out > 0 {
			attrs.PutBool(semconv.UsageEstimated, true)
			issues = append(issues, fmt.Sprintf("usage estimated at %s from the captured content before it was trimmed (%d input, %d output tokens)", b.Stage, in, out))
		}
		issues = append(issues, est...)
	}
	trimmed := trimStrings(sp, budget, b.Stage)
	if len(trimmed) > 0 {
		issues = append(issues, "captured content trimmed at "+b.Stage+" to fit a Kafka record: "+strings.Join(trimmed, ", "))
	}
	if len(issues) > 0 {
		var s pcommon.Slice
		if v, ok := sp.Attributes().Get(semconv.IngestIssues); ok && v.Type() == pcommon.ValueTypeSlice {
			s = v.Slice() // issues an earlier stage wrote stay
		} else {
			s = sp.Attributes().PutEmptySlice(semconv.IngestIssues)
		}
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
func trimStrings(sp ptrace.Span, budget int, stage string) []string {
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
		marker := fmt.Sprintf(" [trimmed by unitcost %s: %d of %d bytes kept]", stage, cut, len(old))
		s.v.SetStr(old[:cut] + marker)
		excess -= len(old) - cut - len(marker)
		out = append(out, fmt.Sprintf("%s: %d -> %d bytes", s.key, len(old), cut))
	}
	return out
}

// deadLetter is a record for the dead-letter topic holding a stub of sp (ids, name, kind,
// times, status, its unitcost.* labels) with the reason in a header.
func (b Bound) deadLetter(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, sp ptrace.Span, tenant, reason string) *kgo.Record {
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
	if (&ptrace.ProtoMarshaler{}).TracesSize(td) > b.MaxRecordBytes/2 {
		nrs.Resource().Attributes().Clear()
	}
	val, _ := otlp.Encode(td)
	r := newRecord(b.DeadLetterTopic, []byte(pipeline.TraceID(sp.TraceID()).String()), val, tenant)
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)}, kgo.RecordHeader{Key: HeaderSource, Value: []byte(b.Source)})
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
