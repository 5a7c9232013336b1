package otlp_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/unitcost/unitcost/pipeline/otlp"
)

// fitBody builds an export of spans spans, each with attrs attributes of a value of
// size bytes, and returns it with what it holds once decoded (body + decoded form).
func fitBody(t *testing.T, spans, attrs, size int) ([]byte, int64) {
	t.Helper()
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < spans; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, 2})
		sp.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 1})
		sp.SetName("s")
		for a := 0; a < attrs; a++ {
			sp.Attributes().PutStr(string(rune('a'+a%26))+strings.Repeat("k", a/26), strings.Repeat("x", size))
		}
	}
	body, err := otlp.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	st, err := otlp.Scan(body, otlp.EncodingProto, otlp.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return body, int64(len(body)+1) + int64(len(body)) + int64(st.Values)*otlp.ValueCost
}

// R1-2 (review): a request that fits max_inflight_bytes on an idle receiver is admitted
// over both transports, even when it needs more than the budget less the headroom kept
// for the gRPC tap (it used to be answered 503 + Retry-After forever). One that can never
// fit, though within max_request_bytes, is refused for what it is, at once, without a
// retry hint: 413 over HTTP, RESOURCE_EXHAUSTED over gRPC (as a message over
// max_request_bytes is). No config passes validation with such a request (see
// pipeline/config), but the receiver must not answer it "retry later".
func TestRequestsFitTheWholeBudgetOrAreRefusedForGood(t *testing.T) {
	const maxRequest = 1 << 20
	const budget = 2*maxRequest + 200<<10
	sk := &sink{}
	// InflightWait is an hour: an answer that came from a wait would not come at all.
	r, err := otlp.NewReceiver(otlp.ReceiverConfig{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", MaxRequestBytes: maxRequest,
		MaxInflightBytes: budget, InflightWait: time.Hour}, sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	cc, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	fits, need := fitBody(t, 700, 1, 1420)
	if len(fits) > maxRequest || need > budget || need <= budget-budget/16 {
		t.Fatalf("fitting payload: %d bytes, needs %d of %d; tune it", len(fits), need, budget)
	}
	never, needNever := fitBody(t, 1000, 30, 1)
	if len(never) > maxRequest || needNever <= budget {
		t.Fatalf("never-fitting payload: %d bytes, needs %d of %d; tune it", len(never), needNever, budget)
	}
	post := func(body []byte) (int, string) {
		resp, err := http.Post("http://"+r.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	export := func(body []byte) error {
		var out []byte
		return cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &body, &out, grpc.ForceCodecV2(bytesCodec{}))
	}
	if code, ra := post(fits); code != http.StatusOK {
		t.Errorf("HTTP, fits the budget: %d (Retry-After %q), want 200", code, ra)
	}
	if err := export(fits); err != nil {
		t.Errorf("gRPC, fits the budget: %v, want OK", err)
	}
	if code, ra := post(never); code != http.StatusRequestEntityTooLarge || ra != "" {
		t.Errorf("HTTP, can never fit: %d (Retry-After %q), want 413 without Retry-After", code, ra)
	}
	if err := export(never); status.Code(err) != codes.ResourceExhausted || hasRetryInfo(err) {
		t.Errorf("gRPC, can never fit: %v (retry info %v), want RESOURCE_EXHAUSTED without retry info", err, hasRetryInfo(err))
	}
	sk.mu.Lock()
	defer sk.mu.Unlock()
	if sk.spans != 1400 {
		t.Errorf("sink got %d spans, want 1400", sk.spans)
	}
}
