package otlp

import (
	"compress/gzip"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Sink takes decoded traces for one tenant. Accept returns only once the traces are
// durably handed on (produced to Kafka), so the receiver can acknowledge the client.
type Sink interface {
	Accept(ctx context.Context, tenant string, td ptrace.Traces) error
}

// ErrBackpressure is returned by a Sink that cannot take more right now; clients get
// 503 (HTTP) or UNAVAILABLE (gRPC) with a retry hint, as the OTLP spec asks.
var ErrBackpressure = errors.New("ingest is overloaded; retry later")

// ReceiverConfig configures the OTLP receivers.
type ReceiverConfig struct {
	// GRPCAddr is the OTLP/gRPC listen address. Default "127.0.0.1:4317"; "" disables.
	GRPCAddr string
	// HTTPAddr is the OTLP/HTTP listen address. Default "127.0.0.1:4318"; "" disables.
	HTTPAddr string
	// MaxRequestBytes caps one request body after decompression. Default 16 MiB.
	MaxRequestBytes int64
	// Tokens maps bearer tokens to tenants. Empty: no authentication, DefaultTenant.
	Tokens map[string]string
	// DefaultTenant is the tenant of unauthenticated requests ("" lets span attributes
	// name the tenant, falling back to "default").
	DefaultTenant string
	// RetryAfter is the hint sent with backpressure responses. Default 2s.
	RetryAfter time.Duration
}

// Receiver serves OTLP over gRPC and HTTP.
type Receiver struct {
	cfg    ReceiverConfig
	sink   Sink
	grpc   *grpc.Server
	http   *http.Server
	gl, hl net.Listener
	stats  ReceiverStats
}

// ReceiverStats are counters a metrics layer can read.
type ReceiverStats interface {
	Request(transport string, spans int, status int)
}

type noStats struct{}

func (noStats) Request(string, int, int) {}

// NewReceiver binds the listeners (so the addresses are known at once) without serving.
func NewReceiver(cfg ReceiverConfig, sink Sink, stats ReceiverStats) (*Receiver, error) {
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 16 << 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 2 * time.Second
	}
	if stats == nil {
		stats = noStats{}
	}
	r := &Receiver{cfg: cfg, sink: sink, stats: stats}
	var err error
	if cfg.GRPCAddr != "" {
		if r.gl, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			return nil, fmt.Errorf("listen otlp grpc on %s: %w (is another collector running? set ingest.grpc_addr)", cfg.GRPCAddr, err)
		}
		r.grpc = grpc.NewServer(grpc.MaxRecvMsgSize(int(cfg.MaxRequestBytes)))
		ptraceotlp.RegisterGRPCServer(r.grpc, &grpcServer{r: r})
	}
	if cfg.HTTPAddr != "" {
		if r.hl, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			if r.gl != nil {
				r.gl.Close()
			}
			return nil, fmt.Errorf("listen otlp http on %s: %w (set ingest.http_addr)", cfg.HTTPAddr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/v1/traces", r.serveHTTP)
		r.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	return r, nil
}

// GRPCAddr is the bound gRPC address ("" when disabled).
func (r *Receiver) GRPCAddr() string {
	if r.gl == nil {
		return ""
	}
	return r.gl.Addr().String()
}

// HTTPAddr is the bound HTTP address ("" when disabled).
func (r *Receiver) HTTPAddr() string {
	if r.hl == nil {
		return ""
	}
	return r.hl.Addr().String()
}

// Run serves until ctx is cancelled, then stops accepting and drains in-flight requests.
func (r *Receiver) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	if r.grpc != nil {
		go func() { errc <- r.grpc.Serve(r.gl) }()
	}
	if r.http != nil {
		go func() {
			if err := r.http.Serve(r.hl); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
				return
			}
			errc <- nil
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			r.Close()
			return fmt.Errorf("otlp receiver: %w", err)
		}
	}
	return r.Close()
}

// Close stops both servers gracefully (in-flight requests finish). Idempotent.
func (r *Receiver) Close() error {
	if r.grpc != nil {
		r.grpc.GracefulStop()
	}
	if r.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return r.http.Shutdown(ctx)
	}
	return nil
}

func (r *Receiver) tenant(authz string) (string, bool) {
	if len(r.cfg.Tokens) == 0 {
		return r.cfg.DefaultTenant, true
	}
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return "", false
	}
	for t, tenant := range r.cfg.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			return tenant, true
		}
	}
	return "", false
}

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.httpError(w, EncodingProto, http.StatusMethodNotAllowed, "use POST", 0)
		return
	}
	ct, _, _ := strings.Cut(req.Header.Get("Content-Type"), ";")
	enc := EncodingProto
	switch strings.TrimSpace(ct) {
	case "application/json":
		enc = EncodingJSON
	case "application/x-protobuf", "application/protobuf":
	default:
		r.httpError(w, enc, http.StatusUnsupportedMediaType, "content type must be application/x-protobuf or application/json", 0)
		return
	}
	tenant, ok := r.tenant(req.Header.Get("Authorization"))
	if !ok {
		r.httpError(w, enc, http.StatusUnauthorized, "missing or unknown bearer token", 0)
		return
	}
	var body io.Reader = req.Body
	switch req.Header.Get("Content-Encoding") {
	case "gzip":
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			r.httpError(w, enc, http.StatusBadRequest, "bad gzip body: "+err.Error(), 0)
			return
		}
		defer gz.Close()
		body = gz
	case "", "identity":
	default:
		r.httpError(w, enc, http.StatusUnsupportedMediaType, "content encoding must be gzip or identity", 0)
		return
	}
	b, err := io.ReadAll(io.LimitReader(body, r.cfg.MaxRequestBytes+1))
	if err != nil {
		r.httpError(w, enc, http.StatusBadRequest, "read body: "+err.Error(), 0)
		return
	}
	if int64(len(b)) > r.cfg.MaxRequestBytes {
		r.httpError(w, enc, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request exceeds %d bytes; send smaller batches (exporter max batch size)", r.cfg.MaxRequestBytes), 0)
		return
	}
	td, err := Decode(b, enc)
	if err != nil {
		r.httpError(w, enc, http.StatusBadRequest, err.Error(), 0)
		return
	}
	rejected, why := DropInvalid(td)
	n := td.SpanCount()
	if err := r.sink.Accept(req.Context(), tenant, td); err != nil {
		if errors.Is(err, ErrBackpressure) || errors.Is(err, context.DeadlineExceeded) {
			w.Header().Set("Retry-After", strconv.Itoa(int(r.cfg.RetryAfter.Seconds()+0.5)))
			r.httpError(w, enc, http.StatusServiceUnavailable, err.Error(), n)
			return
		}
		r.httpError(w, enc, http.StatusInternalServerError, err.Error(), n)
		return
	}
	resp := partial(rejected, why)
	var out []byte
	if enc == EncodingJSON {
		out, _ = resp.MarshalJSON()
	} else {
		out, _ = resp.MarshalProto()
	}
	w.Header().Set("Content-Type", enc.ContentType())
	w.WriteHeader(http.StatusOK)
	w.Write(out)
	r.stats.Request("http", n, http.StatusOK)
}

// httpError writes an OTLP Status message in the request's encoding.
func (r *Receiver) httpError(w http.ResponseWriter, enc Encoding, code int, msg string, spans int) {
	r.stats.Request("http", spans, code)
	st := status.New(httpToGRPC(code), msg).Proto()
	w.Header().Set("Content-Type", enc.ContentType())
	w.WriteHeader(code)
	if enc == EncodingJSON {
		fmt.Fprintf(w, `{"code":%d,"message":%s}`, st.Code, strconv.Quote(msg))
		return
	}
	b, _ := marshalStatus(st)
	w.Write(b)
}

func httpToGRPC(code int) codes.Code {
	switch code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.Internal
}

type grpcServer struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

func (g *grpcServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	var authz string
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("authorization"); len(v) > 0 {
			authz = v[0]
		}
	}
	tenant, ok := g.r.tenant(authz)
	if !ok {
		g.r.stats.Request("grpc", 0, http.StatusUnauthorized)
		return ptraceotlp.NewExportResponse(), status.Error(codes.Unauthenticated, "missing or unknown bearer token")
	}
	td := req.Traces()
	rejected, why := DropInvalid(td)
	n := td.SpanCount()
	if err := g.r.sink.Accept(ctx, tenant, td); err != nil {
		if errors.Is(err, ErrBackpressure) || errors.Is(err, context.DeadlineExceeded) {
			g.r.stats.Request("grpc", n, http.StatusServiceUnavailable)
			st, _ := status.New(codes.Unavailable, err.Error()).WithDetails(retryInfo(g.r.cfg.RetryAfter))
			return ptraceotlp.NewExportResponse(), st.Err()
		}
		g.r.stats.Request("grpc", n, http.StatusInternalServerError)
		return ptraceotlp.NewExportResponse(), status.Error(codes.Internal, err.Error())
	}
	g.r.stats.Request("grpc", n, http.StatusOK)
	return partial(rejected, why), nil
}

// partial is a success response that names the spans rejected, per the OTLP spec.
func partial(rejected int, why string) ptraceotlp.ExportResponse {
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(why)
	}
	return resp
}
