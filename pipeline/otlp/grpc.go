package otlp

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// The OTLP trace service is registered by hand rather than through pdata's generated
// server so that nothing is decoded before unitcost has looked at the request: the
// bearer token is checked in the transport's tap (before the message is even read), the
// message arrives as raw bytes (rawCodec), and Scan bounds its nesting and size before
// pdata decodes it.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*any)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Export", Handler: exportHandler}},
	Metadata:    "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

// rawMessage is a request or response kept as its protobuf bytes.
type rawMessage struct{ b []byte }

// rawCodec passes rawMessage through untouched and everything else to gRPC's proto codec.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(*rawMessage); ok {
		return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
	}
	return encoding.GetCodecV2("proto").Marshal(v)
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(*rawMessage); ok {
		m.b = data.Materialize()
		return nil
	}
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}

// tap rejects an export without a valid token before its message is read, and reserves
// from the in-flight budget what the stream's data may occupy before its handler reads it:
// the stream's flow-control window (grpcStreamWindow), so the budget holds for streams
// waiting for a handler too. The tap runs on the connection's reader goroutine, which it
// must never block, so an export that does not fit even that is refused here, UNAVAILABLE
// with RetryInfo, having read nothing. The handler grows the reservation before it reads
// the message (it may wait for room there), resizes it to the request's real needs once
// read, and the reservation is given back when the RPC ends, whichever way it ends.
func (r *Receiver) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if info.FullMethodName != exportMethod {
		return ctx, nil
	}
	if _, ok := r.tenant(first(info.Header, "authorization")); !ok {
		r.reject("grpc", http.StatusUnauthorized, "auth", "missing or unknown bearer token", remoteOf(ctx))
		r.stats.Request("grpc", 0, http.StatusUnauthorized)
		return ctx, status.Error(codes.Unauthenticated, "missing or unknown bearer token")
	}
	h := r.inflight.reserve(grpcStreamWindow)
	if h == nil {
		return ctx, r.grpcBusy(ctx, "inflight", errInflight.Error(), 0)
	}
	// The stream's context ends with the RPC in every case (answered, cancelled, reset).
	context.AfterFunc(ctx, h.release)
	return withHold(ctx, h), nil
}

func first(md metadata.MD, k string) string {
	if v := md.Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}

func remoteOf(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

func exportHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	r := srv.(*Receiver)
	md, _ := metadata.FromIncomingContext(ctx)
	tenant, ok := r.tenant(first(md, "authorization"))
	if !ok { // the tap checked already; kept so the handler is safe on its own
		return nil, r.grpcReject(ctx, codes.Unauthenticated, http.StatusUnauthorized, "auth", "missing or unknown bearer token")
	}
	// Reading the message holds up to grpcReadFactor times the largest message (its size
	// is unknown until gRPC has read it whole): wait for that much, a bounded time, so
	// that exports arriving together are read in turn rather than refused.
	read := grpcReadFactor * r.grpcMax
	h := holdOf(ctx)
	if h == nil { // no tap ran (the handler used on its own): reserve now
		var err error
		if h, err = r.inflight.reserveWait(ctx, read, r.cfg.InflightWait); err != nil {
			return nil, r.grpcBusy(ctx, "inflight", errInflight.Error(), 0)
		}
	} else if !h.resize(ctx, read, r.cfg.InflightWait) {
		return nil, r.grpcBusy(ctx, "inflight", errInflight.Error(), 0)
	}
	defer h.release()
	var raw rawMessage
	if err := dec(&raw); err != nil {
		return nil, err
	}
	// Read: gRPC's buffers are gone, the body stays; the hold still covers twice it.
	st, err := Scan(raw.b, EncodingProto, r.cfg.Limits)
	if err != nil {
		reason := "decode"
		if errors.Is(err, ErrLimit) {
			reason = "limit"
		}
		return nil, r.grpcReject(ctx, codes.InvalidArgument, http.StatusBadRequest, reason, err.Error())
	}
	// The body and its decoded form; usually less than the read held, so this shrinks.
	// When it must wait for more, it holds only the body meanwhile (see hold.grow).
	switch err := h.grow(ctx, int64(len(raw.b))+decodedCost(len(raw.b), st.Values), int64(len(raw.b)), r.cfg.InflightWait); {
	case errors.Is(err, errNeverFits):
		// As for a message over the size limit: RESOURCE_EXHAUSTED without a retry hint
		// (logged and counted by grpcStats, like that one).
		return nil, status.Error(codes.ResourceExhausted, errNeverFits.Error())
	case err != nil:
		return nil, r.grpcBusy(ctx, "inflight", errInflight.Error(), 0)
	}
	td, err := Decode(raw.b, EncodingProto)
	if err != nil {
		return nil, r.grpcReject(ctx, codes.InvalidArgument, http.StatusBadRequest, "decode", err.Error())
	}
	raw.b = nil
	resp, n, err := r.accept(ctx, tenant, td)
	if err != nil {
		return nil, r.grpcBusy(ctx, "kafka", err.Error(), n)
	}
	out, err := resp.MarshalProto()
	if err != nil {
		return nil, status.Error(codes.Internal, fmt.Sprintf("encode response: %v", err))
	}
	r.stats.Request("grpc", n, http.StatusOK)
	return &rawMessage{b: out}, nil
}

func (r *Receiver) grpcReject(ctx context.Context, code codes.Code, httpCode int, reason, msg string) error {
	r.reject("grpc", httpCode, reason, msg, remoteOf(ctx))
	r.stats.Request("grpc", 0, httpCode)
	return status.Error(code, msg)
}

// grpcBusy answers UNAVAILABLE with a RetryInfo hint: the request may succeed if sent again.
func (r *Receiver) grpcBusy(ctx context.Context, reason, msg string, spans int) error {
	r.reject("grpc", http.StatusServiceUnavailable, reason, msg, remoteOf(ctx))
	r.stats.Request("grpc", spans, http.StatusServiceUnavailable)
	st, err := status.New(codes.Unavailable, msg).WithDetails(retryInfo(r.cfg.RetryAfter))
	if err != nil {
		return status.Error(codes.Unavailable, msg)
	}
	return st.Err()
}

// grpcStats sees what gRPC refuses before the handler runs - a message over
// ingest.max_request_bytes (RESOURCE_EXHAUSTED) - and the handler's RESOURCE_EXHAUSTED
// (a request that can never fit ingest.max_inflight_bytes), so that they are logged and
// counted like every other refusal.
type grpcStats struct{ r *Receiver }

func (grpcStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }

func (g grpcStats) HandleRPC(ctx context.Context, s stats.RPCStats) {
	end, ok := s.(*stats.End)
	if !ok || end.Error == nil || status.Code(end.Error) != codes.ResourceExhausted {
		return
	}
	g.r.reject("grpc", http.StatusRequestEntityTooLarge, "too_large", status.Convert(end.Error).Message(), remoteOf(ctx))
	g.r.stats.Request("grpc", 0, http.StatusRequestEntityTooLarge)
}

func (grpcStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (grpcStats) HandleConn(context.Context, stats.ConnStats)                       {}
