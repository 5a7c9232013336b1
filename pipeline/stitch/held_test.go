package stitch

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/unitcost/unitcost/pipeline"
)

// fill sets every field reachable from v (structs, arrays, slices, pointers) to a value
// that is non-zero and distinct per field, from seed.
func fill(v reflect.Value, seed *int) {
	*seed++
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), seed)
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(v.Index(i), seed)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), seed)
		v.Set(p)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", *seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*seed) * 1_000_003)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*seed))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*seed) + .5)
	default:
		panic("fill: add a case for " + v.Kind().String())
	}
}

// leaves lists the paths of every non-composite field of t, to set them one at a time.
func leaves(t reflect.Type, path []int, out *[][]int) {
	for i := 0; i < t.NumField(); i++ {
		p := append(append([]int(nil), path...), i)
		if f := t.Field(i); f.Type.Kind() == reflect.Struct {
			leaves(f.Type, p, out)
		} else {
			*out = append(*out, p)
		}
	}
}

func roundTrip(t *testing.T, in []pipeline.Span) []*pipeline.Span {
	t.Helper()
	s := New(Config{})
	p := Partition{Topic: "spans", Partition: 3}
	now := time.Unix(1_700_000_000, 0)
	for i := range in {
		s.Add(p, int64(100+7*i), &in[i], now)
	}
	closed := s.Due(now, true)
	if len(closed) != 1 {
		t.Fatalf("%d traces closed, want 1", len(closed))
	}
	tr := closed[0]
	for i := range in {
		if tr.Offsets[i] != int64(100+7*i) {
			t.Errorf("offset %d = %d, want %d", i, tr.Offsets[i], 100+7*i)
		}
	}
	if n := s.syms.referenced(); n != 0 {
		t.Errorf("%d symbol references left after the trace closed", n)
	}
	return tr.Spans
}

// A held span comes back exactly as it was added: every field of pipeline.Span, set,
// unset, alone or with the others. A field added to pipeline.Span and not to the encoding
// fails here.
func TestHeldSpanRoundTrip(t *testing.T) {
	t.Parallel()
	seed := 0
	var full pipeline.Span
	fill(reflect.ValueOf(&full).Elem(), &seed)
	full.AuthTenant = "tenant-a"
	full.TraceID = pipeline.TraceID{1, 2, 3}
	full.InputContent[1].Text = strings.Repeat("long inline text ", 40) // longer than maxSymbolLen
	full.Issues[0] = ""                                                 // empty strings in lists
	var empty pipeline.Span
	empty.AuthTenant, empty.TraceID, empty.SpanID = full.AuthTenant, full.TraceID, pipeline.SpanID{9}
	// Empty but non-nil lists differ from nil ones (inheritance tests Labels == nil).
	emptyLists := empty
	emptyLists.SpanID = pipeline.SpanID{10}
	emptyLists.Labels, emptyLists.Issues, emptyLists.InputContent, emptyLists.OutputContent = []pipeline.Label{}, []string{}, []pipeline.Piece{}, []string{}
	// Times before the trace's first span, an end before the start, negative cost.
	odd := full
	odd.SpanID = pipeline.SpanID{11}
	odd.StartUnixNano, odd.EndUnixNano, odd.ProviderCost = full.StartUnixNano-5e9, full.StartUnixNano-7e9, -42

	in := []pipeline.Span{full, empty, emptyLists, odd}
	var paths [][]int
	leaves(reflect.TypeOf(pipeline.Span{}), nil, &paths)
	for i, path := range paths {
		sp := empty
		sp.SpanID = pipeline.SpanID{0xee, byte(i)}
		src, dst := reflect.ValueOf(&full).Elem().FieldByIndex(path), reflect.ValueOf(&sp).Elem().FieldByIndex(path)
		dst.Set(src)
		in = append(in, sp)
	}
	want := make([]pipeline.Span, len(in))
	copy(want, in)
	got := roundTrip(t, in)
	if len(got) != len(want) {
		t.Fatalf("%d spans back, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(*got[i], want[i]) {
			t.Errorf("span %d:\n got  %+v\n want %+v", i, *got[i], want[i])
		}
	}
}

// The symbol table is bounded: hostile cardinality (every span a new name, session,
// label) never grows it past its bounds, and every span still comes back exact.
func TestSymbolTableBounded(t *testing.T) {
	t.Parallel()
	s := New(Config{MaxSpans: 3 * maxSymbols, MaxTraces: 3 * maxSymbols})
	p := Partition{Topic: "spans"}
	now := time.Unix(1_700_000_000, 0)
	const n = maxSymbols + maxSymbols/2
	mk := func(i int) pipeline.Span {
		sp := pipeline.Span{TraceID: pipeline.TraceID{byte(i), byte(i >> 8), byte(i >> 16), 1}, SpanID: pipeline.SpanID{1},
			Name: fmt.Sprintf("name-%d", i), Session: fmt.Sprintf("session-%d", i), Model: "gpt-4o",
			Labels: []pipeline.Label{{Key: "k", Value: fmt.Sprintf("v%d", i)}}}
		sp.Issues = []string{strings.Repeat("x", i%(2*maxSymbolLen))}
		return sp
	}
	for i := 0; i < n; i++ {
		sp := mk(i)
		s.Add(p, int64(i), &sp, now)
		if l := s.syms.len(); l > maxSymbols || s.syms.bytes > maxSymbolBytes {
			t.Fatalf("after %d spans: %d symbols, %d bytes: over the bounds", i+1, l, s.syms.bytes)
		}
	}
	closed := s.Due(now, true)
	if len(closed) != n {
		t.Fatalf("%d traces closed, want %d", len(closed), n)
	}
	for i, tr := range closed {
		if want := mk(i); !reflect.DeepEqual(*tr.Spans[0], want) {
			t.Fatalf("trace %d: got %+v, want %+v", i, *tr.Spans[0], want)
		}
	}
	if r := s.syms.referenced(); r != 0 {
		t.Fatalf("%d symbols still referenced with nothing open", r)
	}
	// The unreferenced entries are swept as new strings arrive: the table keeps serving.
	for i := n; i < 2*n; i++ {
		sp := mk(i)
		s.Add(p, int64(i), &sp, now)
		s.Due(now, true)
	}
	if l := s.syms.len(); l > maxSymbols {
		t.Fatalf("%d symbols, over the bound", l)
	}
	sp := mk(2 * n)
	s.Add(p, 0, &sp, now)
	if e := s.syms.ids[sp.Name]; s.syms.entries[e].s != sp.Name {
		t.Fatalf("a new name is not interned once old ones are unreferenced")
	}
}

// Dropping a partition's traces releases their symbols.
func TestDropReleasesSymbols(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	sp := pipeline.Span{TraceID: pipeline.TraceID{1}, SpanID: pipeline.SpanID{1}, Model: "m", Tenant: "acme"}
	s.Add(Partition{Topic: "t"}, 1, &sp, time.Unix(0, 0))
	if s.syms.referenced() == 0 {
		t.Fatal("nothing interned")
	}
	s.DropPartitions(map[Partition]bool{{Topic: "t"}: true})
	if r := s.syms.referenced(); r != 0 {
		t.Fatalf("%d references left after the drop", r)
	}
}

// referenced counts the references open traces hold.
func (t *symbols) referenced() int {
	n := 0
	for _, e := range t.entries {
		n += int(e.refs)
	}
	return n
}

// A trace larger than a decoding block comes back whole and in order.
func TestHeldHugeTrace(t *testing.T) {
	t.Parallel()
	n := 2*spanBlock + 5
	in := make([]pipeline.Span, n)
	for i := range in {
		in[i] = pipeline.Span{TraceID: pipeline.TraceID{4}, SpanID: pipeline.SpanID{byte(i), byte(i >> 8), 1},
			ParentSpanID: pipeline.SpanID{1}, Name: fmt.Sprintf("step %d", i%17), StartUnixNano: 1e18 + int64(i)*1e6,
			EndUnixNano: 1e18 + int64(i)*2e6, Usage: pipeline.Usage{InputTokens: uint64(i)}}
	}
	want := append([]pipeline.Span(nil), in...)
	got := roundTrip(t, in)
	for i := range want {
		if !reflect.DeepEqual(*got[i], want[i]) {
			t.Fatalf("span %d: got %+v, want %+v", i, *got[i], want[i])
		}
	}
}

// BenchmarkHeldRoundTrip adds spans shaped like the generator's (a dozen labels and
// counts set) in traces of 5, closing them as they go: the cost of holding a span encoded
// and decoding it at close.
func BenchmarkHeldRoundTrip(b *testing.B) {
	s := New(Config{QuietPeriod: time.Millisecond})
	p := Partition{Topic: "spans"}
	now := time.Unix(1_700_000_000, 0)
	sp := pipeline.Span{Tenant: "acme", Name: "chat gpt-4o-mini", StartUnixNano: 1.7e18, EndUnixNano: 1.7e18 + 812e6,
		Operation: pipeline.OpChat, Provider: "openai", Model: "gpt-4o-mini-2024-07-18",
		Usage: pipeline.Usage{InputTokens: 1834, OutputTokens: 211, CacheReadTokens: 1024},
		Team:  "support", Feature: "answers", Service: "support-bot", Environment: "prod",
		Session: "sess-20391", WorkflowName: "support_ticket", WorkflowVersion: "v3"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sp.TraceID = pipeline.TraceID{byte(i / 5), byte(i / 5 >> 8), byte(i / 5 >> 16), 1}
		sp.SpanID = pipeline.SpanID{byte(i), 1}
		sp.ParentSpanID = pipeline.SpanID{}
		if i%5 != 0 {
			sp.ParentSpanID = pipeline.SpanID{1}
		}
		s.Add(p, int64(i), &sp, now)
		i++
		if i%1000 == 0 {
			now = now.Add(time.Second)
			s.Due(now, false)
		}
	}
}

// Add keeps no string of the span it is given: every string may alias a buffer the
// caller reuses (a decoded record), so overwriting that buffer changes nothing held.
func TestAddKeepsNoStringOfTheSpan(t *testing.T) {
	t.Parallel()
	buf := []byte("tenant-a acme support gpt-4o " + strings.Repeat("long ", 60))
	view := func(i, j int) string { return unsafe.String(&buf[i], j-i) }
	sp := pipeline.Span{AuthTenant: view(0, 8), TraceID: pipeline.TraceID{5}, SpanID: pipeline.SpanID{1},
		Tenant: view(9, 13), Team: view(14, 21), Model: view(22, 28), Issues: []string{view(29, len(buf))},
		Labels: []pipeline.Label{{Key: view(14, 21), Value: view(9, 13)}}}
	want := sp
	want.AuthTenant, want.Tenant, want.Team, want.Model = "tenant-a", "acme", "support", "gpt-4o"
	want.Issues = []string{strings.Repeat("long ", 60)}
	want.Labels = []pipeline.Label{{Key: "support", Value: "acme"}}
	s := New(Config{})
	s.Add(Partition{Topic: "t"}, 0, &sp, time.Unix(0, 0))
	for i := range buf {
		buf[i] = 'x'
	}
	closed := s.Due(time.Unix(0, 0), true)
	if len(closed) != 1 || closed[0].AuthTenant != "tenant-a" || !reflect.DeepEqual(*closed[0].Spans[0], want) {
		t.Fatalf("held span changed with the caller's buffer: %+v", closed)
	}
}
