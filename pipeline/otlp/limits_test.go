package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/unitcost/unitcost/pipeline/otlp"
)

// nestedProto is an ExportTraceServiceRequest with one span whose attribute "a" holds an
// array nested depth levels deep, written straight onto the wire (pdata itself would
// overflow its stack encoding it). Built from the inside out, back to front.
func nestedProto(depth int) []byte {
	buf := make([]byte, depth*12+256)
	pos := len(buf)
	put := func(b ...byte) { pos -= len(b); copy(buf[pos:], b) }
	putLen := func(tag byte, n int) {
		var v [binary.MaxVarintLen64]byte
		k := binary.PutUvarint(v[:], uint64(n))
		put(v[:k]...)
		put(tag)
	}
	end := len(buf)
	for i := 0; i < depth; i++ {
		putLen(0x0a, end-pos) // ArrayValue.values = the AnyValue below
		putLen(0x2a, end-pos) // AnyValue.array_value
	}
	putLen(0x12, end-pos)                                            // KeyValue.value
	put(0x0a, 1, 'a')                                                // KeyValue.key
	putLen(0x4a, end-pos)                                            // Span.attributes
	put(append([]byte{0x12, 8}, bytes.Repeat([]byte{2}, 8)...)...)   // Span.span_id
	put(append([]byte{0x0a, 16}, bytes.Repeat([]byte{1}, 16)...)...) // Span.trace_id
	putLen(0x12, end-pos)                                            // ScopeSpans.spans
	putLen(0x12, end-pos)                                            // ResourceSpans.scope_spans
	putLen(0x0a, end-pos)                                            // request.resource_spans
	return buf[pos:]
}

func nestedJSON(depth int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","attributes":[{"key":"a","value":`)
	b.WriteString(strings.Repeat(`{"arrayValue":{"values":[`, depth))
	b.WriteString(`{"stringValue":"x"}`)
	b.WriteString(strings.Repeat(`]}}`, depth))
	b.WriteString(`}]}]}]}]}`)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestScanNestingAndValues(t *testing.T) {
	t.Parallel()
	lim := otlp.Limits{MaxDepth: 8, MaxValues: 100}
	for _, d := range []int{1, 7} {
		st, err := otlp.Scan(nestedProto(d), otlp.EncodingProto, lim)
		if err != nil || st.Depth != d+1 {
			t.Fatalf("depth %d: %+v %v", d, st, err)
		}
		if _, err := otlp.Decode(nestedProto(d), otlp.EncodingProto); err != nil {
			t.Fatalf("the hand-written payload must be valid OTLP: %v", err)
		}
		if st, err := otlp.Scan(nestedJSON(d), otlp.EncodingJSON, lim); err != nil || st.Depth != d+1 {
			t.Fatalf("json depth %d: %+v %v", d, st, err)
		}
		if _, err := otlp.Decode(nestedJSON(d), otlp.EncodingJSON); err != nil {
			t.Fatalf("the hand-written JSON must be valid OTLP: %v", err)
		}
	}
	for _, enc := range []otlp.Encoding{otlp.EncodingProto, otlp.EncodingJSON} {
		b := nestedProto(9)
		if enc == otlp.EncodingJSON {
			b = nestedJSON(9)
		}
		if _, err := otlp.Scan(b, enc, lim); !errors.Is(err, otlp.ErrLimit) || !strings.Contains(err.Error(), "ingest.max_attribute_depth") {
			t.Fatalf("%s: depth 9 over a limit of 8: %v", enc.ContentType(), err)
		}
	}
	many := traces(bytes.Repeat([]byte{1}, 60)...) // 120 spans
	pb, _ := otlp.Encode(many)
	if _, err := otlp.Scan(pb, otlp.EncodingProto, lim); !errors.Is(err, otlp.ErrLimit) || !strings.Contains(err.Error(), "ingest.max_request_values") {
		t.Fatalf("120 spans over a limit of 100 values: %v", err)
	}
	if _, err := otlp.Scan([]byte{0x0a, 0x05, 0x01}, otlp.EncodingProto, lim); !errors.Is(err, otlp.ErrDecode) {
		t.Fatalf("truncated message: %v", err)
	}
	// Brackets inside strings do not count.
	if _, err := otlp.Scan([]byte(`{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"[[["}`), otlp.EncodingJSON, lim); err != nil {
		t.Fatal(err)
	}
}

func startReceiver(t *testing.T, cfg otlp.ReceiverConfig, sk otlp.Sink) *otlp.Receiver {
	t.Helper()
	r, err := otlp.NewReceiver(cfg, sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func post(t *testing.T, url string, body []byte, ctype, enc, authz string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// bytesCodec sends and receives raw protobuf bytes, as a hand-made OTLP client would.
type bytesCodec struct{}

func (bytesCodec) Name() string { return "proto" }
func (bytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}
func (bytesCodec) Unmarshal(d mem.BufferSlice, v any) error {
	*v.(*[]byte) = d.Materialize()
	return nil
}

func grpcExport(t *testing.T, addr string, body []byte, authz string) error {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if authz != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authz)
	}
	var out []byte
	return cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &body, &out, grpc.ForceCodecV2(bytesCodec{}))
}

// The request of issue 12: an attribute holding an array nested ~1.3M deep (12.5 MB of
// protobuf, or gzip-compressed) used to overflow the decoder's stack and kill ingest.
// Now it is refused with 400 / INVALID_ARGUMENT naming the limit, over HTTP (raw and gzip,
// protobuf and JSON) and gRPC, and ingest keeps serving. Over gRPC a request without a
// valid token is refused before its message is read or decoded.
func TestDeeplyNestedRequestIsRefusedAndIngestStaysUp(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	r := startReceiver(t, otlp.ReceiverConfig{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Tokens: map[string]string{"tok": "acme"}}, sk)
	url := "http://" + r.HTTPAddr() + "/v1/traces"
	deep := nestedProto(1_300_000)
	if len(deep) < 12_000_000 {
		t.Fatalf("payload is %d bytes; want the issue's 12.5 MB", len(deep))
	}
	deepJSON := nestedJSON(300_000)
	for _, c := range []struct {
		name        string
		body        []byte
		ctype, cenc string
	}{
		{"protobuf", deep, "application/x-protobuf", ""},
		{"protobuf gzip", gz(deep), "application/x-protobuf", "gzip"},
		{"json", deepJSON, "application/json", ""},
		{"json gzip", gz(deepJSON), "application/json", "gzip"},
	} {
		code, _, body := post(t, url, c.body, c.ctype, c.cenc, "Bearer tok")
		if code != http.StatusBadRequest || !strings.Contains(body, "max_attribute_depth") {
			t.Errorf("%s: %d %.200q; want 400 naming ingest.max_attribute_depth", c.name, code, body)
		}
	}
	err := grpcExport(t, r.GRPCAddr(), deep, "Bearer tok")
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "max_attribute_depth") {
		t.Errorf("grpc: %v; want INVALID_ARGUMENT naming ingest.max_attribute_depth", err)
	}
	if err := grpcExport(t, r.GRPCAddr(), deep, "Bearer wrong"); status.Code(err) != codes.Unauthenticated {
		t.Errorf("grpc with a wrong token: %v; want UNAUTHENTICATED before decoding", err)
	}
	// Still up: a normal request over each transport goes through.
	pb, _ := otlp.Encode(traces(1))
	if code, _, body := post(t, url, pb, "application/x-protobuf", "", "Bearer tok"); code != 200 {
		t.Fatalf("after the nested requests: %d %s", code, body)
	}
	if err := grpcExport(t, r.GRPCAddr(), pb, "Bearer tok"); err != nil {
		t.Fatalf("grpc after the nested requests: %v", err)
	}
	if sk.spans != 4 {
		t.Fatalf("sink has %d spans, want 4", sk.spans)
	}
}

// Each memory limit: the decompressed size (a gzip bomb gets 413 after reading at most
// the limit), the in-flight budget for a request that can never fit it (413 /
// RESOURCE_EXHAUSTED, no retry hint).
func TestRequestMemoryLimits(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	r := startReceiver(t, otlp.ReceiverConfig{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", MaxRequestBytes: 1 << 20, MaxInflightBytes: 4 << 20}, sk)
	url := "http://" + r.HTTPAddr() + "/v1/traces"
	bomb := gz(make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KiB
	if code, _, body := post(t, url, bomb, "application/x-protobuf", "gzip", ""); code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "max_request_bytes") {
		t.Fatalf("gzip bomb: %d %q", code, body)
	}
	// 100k values fit the byte limit (300 KB) but their decoded form (8.8 MB) does not
	// fit the 4 MiB in-flight budget.
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID([16]byte{1})
	sp.SetSpanID([8]byte{1})
	arr := sp.Attributes().PutEmptySlice("a")
	for i := 0; i < 100_000; i++ {
		arr.AppendEmpty()
	}
	dense, _ := otlp.Encode(td)
	// It could never fit, so it is refused for good (not "retry later"), like a body over
	// max_request_bytes. (A request that fits but finds the budget busy gets 503: see
	// TestInflightBudgetRefusesNewRequests.)
	code, h, body := post(t, url, dense, "application/x-protobuf", "", "")
	if code != http.StatusRequestEntityTooLarge || h.Get("Retry-After") != "" || !strings.Contains(body, "max_inflight_bytes") {
		t.Fatalf("over the in-flight budget: %d Retry-After=%q %q", code, h.Get("Retry-After"), body)
	}
	err := grpcExport(t, r.GRPCAddr(), dense, "")
	if status.Code(err) != codes.ResourceExhausted || hasRetryInfo(err) || !strings.Contains(status.Convert(err).Message(), "max_inflight_bytes") {
		t.Fatalf("grpc over the in-flight budget: %v", err)
	}
	if sk.spans != 0 {
		t.Fatalf("sink got %d spans", sk.spans)
	}
}

type recordedStats struct {
	mu       sync.Mutex
	rejected []string
}

func (s *recordedStats) Request(string, int, int) {}
func (s *recordedStats) Rejected(transport, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected = append(s.rejected, transport+":"+reason)
}

// gRPC refuses a message over max_request_bytes itself (RESOURCE_EXHAUSTED), before the
// handler; it is still logged and counted as a refusal.
func TestGRPCTooLargeIsCounted(t *testing.T) {
	t.Parallel()
	rec := &recordedStats{}
	r, err := otlp.NewReceiver(otlp.ReceiverConfig{GRPCAddr: "127.0.0.1:0", MaxRequestBytes: 4096}, &sink{}, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	big, _ := otlp.Encode(traces(bytes.Repeat([]byte{5}, 200)...))
	if err := grpcExport(t, r.GRPCAddr(), big, ""); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("%v", err)
	}
	// The server records the end of the RPC after the client has its answer: poll.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rec.mu.Lock()
		got := strings.Join(rec.rejected, ",")
		rec.mu.Unlock()
		if got == "grpc:too_large" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rejections counted: %q", got)
		}
	}
}

func hasRetryInfo(err error) bool {
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.RetryDelay.AsDuration() > 0 {
			return true
		}
	}
	return false
}

// Tokens: the scheme is case-insensitive, an empty token after "Bearer " is refused,
// and a configuration with an empty token or tenant is refused outright.
func TestBearerTokens(t *testing.T) {
	t.Parallel()
	sk := &sink{}
	r := startReceiver(t, otlp.ReceiverConfig{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Tokens: map[string]string{"tok-a": "acme", "tok-b": "globex"}}, sk)
	url := "http://" + r.HTTPAddr() + "/v1/traces"
	pb, _ := otlp.Encode(traces(1))
	for authz, want := range map[string]int{
		"Bearer tok-a": 200, "bearer tok-b": 200, "BEARER  tok-a ": 200,
		"Bearer ": 401, "Bearer": 401, "": 401, "Basic tok-a": 401, "Bearer tok-": 401, "Bearer tok-ab": 401,
	} {
		if code, _, _ := post(t, url, pb, "application/x-protobuf", "", authz); code != want {
			t.Errorf("Authorization %q: %d, want %d", authz, code, want)
		}
	}
	if err := grpcExport(t, r.GRPCAddr(), pb, "Bearer "); status.Code(err) != codes.Unauthenticated {
		t.Errorf("grpc with an empty bearer token: %v", err)
	}
	if err := grpcExport(t, r.GRPCAddr(), pb, "bearer tok-b"); err != nil {
		t.Errorf("grpc with a lower-case scheme: %v", err)
	}
	if strings.Join(sk.tenants, ",") != "acme,globex,acme,globex" && len(sk.tenants) != 4 {
		t.Errorf("tenants %v", sk.tenants)
	}
	for _, tokens := range []map[string]string{{"": "acme"}, {"tok": ""}} {
		if _, err := otlp.NewReceiver(otlp.ReceiverConfig{Tokens: tokens}, sk, nil); err == nil {
			t.Errorf("tokens %v accepted", tokens)
		}
	}
}

// A sink failure of any kind is answered as retryable: 503 with Retry-After over HTTP,
// UNAVAILABLE with RetryInfo over gRPC; never 500 / INTERNAL.
func TestSinkFailuresAreRetryable(t *testing.T) {
	t.Parallel()
	sk := &sink{err: errors.New("kafka exploded")}
	r := startReceiver(t, otlp.ReceiverConfig{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0"}, sk)
	pb, _ := otlp.Encode(traces(1))
	if code, h, _ := post(t, "http://"+r.HTTPAddr()+"/v1/traces", pb, "application/x-protobuf", "", ""); code != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("http: %d Retry-After=%q", code, h.Get("Retry-After"))
	}
	if err := grpcExport(t, r.GRPCAddr(), pb, ""); status.Code(err) != codes.Unavailable || !hasRetryInfo(err) {
		t.Fatalf("grpc: %v", err)
	}
}

func FuzzScanProto(f *testing.F) {
	pb, _ := otlp.Encode(traces(1, 2))
	f.Add(pb)
	f.Add(nestedProto(3))
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := otlp.Limits{MaxDepth: 4, MaxValues: 1000}
		st, err := otlp.Scan(b, otlp.EncodingProto, lim)
		if err != nil {
			return
		}
		if st.Depth > 4 || st.Values > 1000 {
			t.Fatalf("scan passed %+v over the limits", st)
		}
		otlp.Decode(b, otlp.EncodingProto) // must not crash on what Scan passed
	})
}

func FuzzScanJSON(f *testing.F) {
	f.Add(nestedJSON(2))
	f.Add([]byte(`{"resourceSpans":[]}`))
	f.Add([]byte(`{"a":"\"[[["}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := otlp.Scan(b, otlp.EncodingJSON, otlp.Limits{MaxDepth: 4, MaxValues: 1000}); err != nil {
			return
		}
		otlp.Decode(b, otlp.EncodingJSON)
	})
}

// blockingSink holds every request until released.
type blockingSink struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSink) Accept(ctx context.Context, _ string, _ ptrace.Traces) (otlp.Result, error) {
	b.entered <- struct{}{}
	<-b.release
	return otlp.Result{}, nil
}

// While requests being served hold the in-flight budget, a new gRPC export is refused in
// the transport tap (UNAVAILABLE with RetryInfo) before its message is read, and a new
// HTTP request gets 503; once they finish, requests are served again.
func TestInflightBudgetRefusesNewRequests(t *testing.T) {
	t.Parallel()
	sk := &blockingSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	r := startReceiver(t, otlp.ReceiverConfig{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", MaxRequestBytes: 1 << 20, MaxInflightBytes: 2 << 20}, sk)
	released := false
	t.Cleanup(func() { // never leave a request blocked if an assertion fails
		if !released {
			close(sk.release)
		}
	})
	url := "http://" + r.HTTPAddr() + "/v1/traces"
	td := traces(1)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("big", strings.Repeat("x", 1000<<10))
	big, _ := otlp.Encode(td)
	first := make(chan int, 1)
	go func() {
		code, _, _ := post(t, url, big, "application/x-protobuf", "", "")
		first <- code
	}()
	<-sk.entered // the first request holds its body and its decoded copy: ~2,000 KiB of the 2,048 KiB budget
	small, _ := otlp.Encode(traces(2))
	if err := grpcExport(t, r.GRPCAddr(), small, ""); status.Code(err) != codes.Unavailable || !hasRetryInfo(err) {
		t.Fatalf("grpc while the budget is spent: %v", err)
	}
	if code, h, _ := post(t, url, small, "application/x-protobuf", "", ""); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("http while the budget is spent: %d", code)
	}
	close(sk.release)
	released = true
	if code := <-first; code != 200 {
		t.Fatalf("first request: %d", code)
	}
	go func() { <-sk.entered }()
	if err := grpcExport(t, r.GRPCAddr(), small, ""); err != nil {
		t.Fatalf("grpc after the budget was freed: %v", err)
	}
}
