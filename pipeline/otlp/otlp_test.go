package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/unitcost/unitcost/pipeline/otlp"
)

// traces builds a payload with spans of the given trace ids (first byte), over two
// resources and scopes.
func traces(ids ...byte) ptrace.Traces {
	td := ptrace.NewTraces()
	for r := 0; r < 2; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", []string{"a", "b"}[r])
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("scope")
		for i, id := range ids {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(pcommon.TraceID{id})
			sp.SetSpanID(pcommon.SpanID{byte(r), byte(i), 1})
			sp.SetName("s")
		}
	}
	return td
}

func TestSplitByTrace(t *testing.T) {
	t.Parallel()
	single := traces(1, 1)
	got := otlp.SplitByTrace(single)
	if len(got) != 1 || got[0].Traces.SpanCount() != 4 {
		t.Fatalf("single trace: %+v", got)
	}
	got = otlp.SplitByTrace(traces(1, 2, 1, 3))
	if len(got) != 3 {
		t.Fatalf("want 3 traces, got %d", len(got))
	}
	counts := map[byte]int{}
	for _, b := range got {
		rss := b.Traces.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			if v, _ := rss.At(i).Resource().Attributes().Get("service.name"); v.Str() == "" {
				t.Error("resource lost in split")
			}
			ss := rss.At(i).ScopeSpans().At(0)
			if ss.Scope().Name() != "scope" {
				t.Error("scope lost in split")
			}
			for k := 0; k < ss.Spans().Len(); k++ {
				if ss.Spans().At(k).TraceID()[0] != b.TraceID[0] {
					t.Error("span in the wrong batch")
				}
				counts[b.TraceID[0]]++
			}
		}
	}
	if counts[1] != 4 || counts[2] != 2 || counts[3] != 2 {
		t.Fatalf("counts %v", counts)
	}
	if otlp.SplitByTrace(ptrace.NewTraces()) != nil {
		t.Fatal("empty payload")
	}
}

// TakeByTrace gives the same batches as SplitByTrace, byte for byte, having moved the
// spans (with their attributes and events) rather than copied them.
func TestTakeByTraceEqualsSplitByTrace(t *testing.T) {
	t.Parallel()
	build := func() ptrace.Traces {
		td := traces(1, 2, 1, 3, 2)
		sp := td.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(3)
		sp.Attributes().PutStr("gen_ai.request.model", "m")
		sp.Events().AppendEmpty().SetName("e")
		return td
	}
	want := otlp.SplitByTrace(build())
	src := build()
	got := otlp.TakeByTrace(src)
	if len(got) != len(want) {
		t.Fatalf("%d batches, want %d", len(got), len(want))
	}
	for i := range want {
		a, _ := otlp.Encode(want[i].Traces)
		b, _ := otlp.Encode(got[i].Traces)
		if got[i].TraceID != want[i].TraceID || !bytes.Equal(a, b) {
			t.Errorf("batch %d differs", i)
		}
	}
	// The spans were moved: the source keeps empty ones.
	for i := 0; i < src.ResourceSpans().Len(); i++ {
		spans := src.ResourceSpans().At(i).ScopeSpans().At(0).Spans()
		for k := 0; k < spans.Len(); k++ {
			if spans.At(k).Name() != "" || spans.At(k).Attributes().Len() != 0 {
				t.Fatalf("span %d/%d still in the source", i, k)
			}
		}
	}
}

func TestDecodeBothEncodings(t *testing.T) {
	t.Parallel()
	td := traces(7)
	pb, _ := otlp.Encode(td)
	js, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	for _, c := range []struct {
		b   []byte
		enc otlp.Encoding
	}{{pb, otlp.EncodingFor("", pb)}, {js, otlp.EncodingFor("", js)}, {js, otlp.EncodingFor("application/json", js)}} {
		got, err := otlp.Decode(c.b, c.enc)
		if err != nil || got.SpanCount() != 2 {
			t.Fatalf("decode: %v, %d spans", err, got.SpanCount())
		}
	}
	if _, err := otlp.Decode([]byte("\xff\xff\xff garbage"), otlp.EncodingProto); err == nil {
		t.Fatal("garbage decoded")
	}
}

func FuzzDecode(f *testing.F) {
	pb, _ := otlp.Encode(traces(1, 2))
	js, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(traces(3))
	f.Add(pb)
	f.Add(js)
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := otlp.Decode(b, otlp.EncodingFor("", b))
		if err != nil {
			return
		}
		n := 0
		for _, tb := range otlp.SplitByTrace(td) {
			n += tb.Traces.SpanCount()
		}
		if n != td.SpanCount() {
			t.Fatalf("split lost spans: %d of %d", n, td.SpanCount())
		}
	})
}

type sink struct {
	mu      sync.Mutex
	spans   int
	tenants []string
	err     error
}

func (s *sink) Accept(_ context.Context, tenant string, td ptrace.Traces) (otlp.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return otlp.Result{}, s.err
	}
	s.spans += td.SpanCount()
	s.tenants = append(s.tenants, tenant)
	return otlp.Result{}, nil
}

func TestHTTPReceiverResponses(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	r, err := otlp.NewReceiver(otlp.ReceiverConfig{HTTPAddr: "127.0.0.1:0", MaxRequestBytes: 4096,
		Tokens: map[string]string{"tok-acme": "acme"}}, sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	url := "http://" + r.HTTPAddr() + "/v1/traces"
	pb, _ := otlp.Encode(traces(1))
	js, _ := (&ptrace.JSONMarshaler{}).MarshalTraces(traces(2))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pb)
	zw.Close()
	big, _ := otlp.Encode(traces(bytes.Repeat([]byte{5}, 200)...))

	post := func(body []byte, ctype, enc, token string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if enc != "" {
			req.Header.Set("Content-Encoding", enc)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct {
		name            string
		body            []byte
		ctype, enc, tok string
		want            int
	}{
		{"protobuf", pb, "application/x-protobuf", "", "tok-acme", 200},
		{"json", js, "application/json", "", "tok-acme", 200},
		{"gzip", gz.Bytes(), "application/x-protobuf", "gzip", "tok-acme", 200},
		{"no token", pb, "application/x-protobuf", "", "", 401},
		{"wrong token", pb, "application/x-protobuf", "", "nope", 401},
		{"undecodable", []byte("\xff\xff\xff\xff"), "application/x-protobuf", "", "tok-acme", 400},
		{"too large", big, "application/x-protobuf", "", "tok-acme", 413},
		{"bad gzip", pb, "application/x-protobuf", "gzip", "tok-acme", 400},
		{"wrong content type", pb, "text/plain", "", "tok-acme", 415},
	} {
		if resp := post(c.body, c.ctype, c.enc, c.tok); resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	if sk.spans != 6 || strings.Join(sk.tenants, ",") != "acme,acme,acme" {
		t.Fatalf("sink got %d spans, tenants %v", sk.spans, sk.tenants)
	}
	// Partial success: the valid span is accepted, the one without a trace id is rejected
	// and named in the response.
	mixed := traces(9)
	bad := mixed.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	bad.SetName("orphan")
	bad.SetSpanID(pcommon.SpanID{7})
	mb, _ := otlp.Encode(mixed)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(mb))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Authorization", "Bearer tok-acme")
	presp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(presp.Body)
	presp.Body.Close()
	er := ptraceotlp.NewExportResponse()
	if err := er.UnmarshalProto(body); err != nil || presp.StatusCode != 200 {
		t.Fatalf("partial success response: %d %v", presp.StatusCode, err)
	}
	if er.PartialSuccess().RejectedSpans() != 1 || !strings.Contains(er.PartialSuccess().ErrorMessage(), `span "orphan": all-zero trace id`) {
		t.Fatalf("partial success = %d %q", er.PartialSuccess().RejectedSpans(), er.PartialSuccess().ErrorMessage())
	}
	if sk.spans != 8 {
		t.Fatalf("sink has %d spans, want 8 (6 + the 2 valid ones)", sk.spans)
	}

	sk.mu.Lock()
	sk.err = otlp.ErrBackpressure
	sk.mu.Unlock()
	resp := post(pb, "application/x-protobuf", "", "tok-acme")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("backpressure: %d Retry-After=%q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
