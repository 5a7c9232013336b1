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

	"github.com/unitcost/unitcost/pipeline/otlp"
)

// R1-2 (review): an OTLP/HTTP request that fits max_inflight_bytes on an idle receiver
// must be admitted. HTTP never uses the gRPC tap's headroom, yet its waits are capped at
// max - headroom, so a request between the two is answered 503 + Retry-After forever.
// Config is valid: max_inflight_bytes >= 2 x max_request_bytes.
func TestR1HTTPRequestThatFitsTheBudgetIsAdmitted(t *testing.T) {
	const maxRequest = 1 << 20
	const budget = 2*maxRequest + 200<<10
	sk := &sink{}
	r, err := otlp.NewReceiver(otlp.ReceiverConfig{HTTPAddr: "127.0.0.1:0", MaxRequestBytes: maxRequest,
		MaxInflightBytes: budget, InflightWait: 200 * time.Millisecond}, sk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < 700; i++ {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{1, 2})
		sp.SetSpanID(pcommon.SpanID{byte(i), byte(i >> 8), 1})
		sp.SetName("s")
		sp.Attributes().PutStr("a", strings.Repeat("x", 1420))
	}
	body, err := otlp.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	st, err := otlp.Scan(body, otlp.EncodingProto, otlp.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	need := int64(len(body)+1) + int64(len(body)) + int64(st.Values)*otlp.ValueCost
	t.Logf("body %d bytes, %d values: holds %d of a %d budget", len(body), st.Values, need, budget)
	if len(body) > maxRequest || need > budget {
		t.Fatalf("test payload does not fit the budget; tune it")
	}
	resp, err := http.Post("http://"+r.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("idle receiver, request within max_inflight_bytes: status %d (Retry-After %q), want 200", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
