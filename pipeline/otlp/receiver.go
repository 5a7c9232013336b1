package otlp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/unitcost/unitcost/internal/bearer"
	"github.com/unitcost/unitcost/internal/ratelog"
)

// Sink takes decoded traces for one tenant. Accept returns nil only once the traces are
// durably handed on (produced to Kafka), so the receiver can acknowledge the client. The
// Result names spans the sink refused for good (dead-lettered with the reason), which the
// client learns through the OTLP partial-success response.
type Sink interface {
	Accept(ctx context.Context, tenant string, td ptrace.Traces) (Result, error)
}

// Result is what a Sink refused for good out of an accepted request.
type Result struct {
	Rejected int
	Message  string
}

// ErrBackpressure is returned by a Sink that cannot take the request now; clients get
// 503 (HTTP) or UNAVAILABLE (gRPC) with a retry hint, as the OTLP spec asks. Every error a
// Sink returns is answered that way: a failure to hand spans on is never a 500.
var ErrBackpressure = errors.New("ingest cannot take this request now; retry later")

// ReceiverConfig configures the OTLP receivers.
type ReceiverConfig struct {
	// GRPCAddr is the OTLP/gRPC listen address. Default "127.0.0.1:4317"; "" disables.
	GRPCAddr string
	// HTTPAddr is the OTLP/HTTP listen address. Default "127.0.0.1:4318"; "" disables.
	HTTPAddr string
	// MaxRequestBytes caps one request body after decompression. Default 16 MiB.
	MaxRequestBytes int64
	// MaxInflightBytes caps the memory held by requests being served together: their
	// bodies plus an estimate of the decoded form (ValueCost per value, and the strings
	// copied out of the body). An OTLP/HTTP body takes it as it is read. A gRPC export
	// reserves its stream's flow-control window (64 KiB) when it arrives, and twice the
	// largest message gRPC accepts while its message is read (see tap), then what it
	// really holds; the largest gRPC message is MaxRequestBytes or half the budget,
	// whichever is smaller. A request that does not fit waits for room up to
	// InflightWait, then is answered 503 / UNAVAILABLE with a retry hint; one that would
	// not fit even alone is answered 413 / RESOURCE_EXHAUSTED at once. Default 256 MiB.
	MaxInflightBytes int64
	// InflightWait bounds how long a request waits for room in MaxInflightBytes before it
	// is refused. Default 1s: with the sink's timeout, well inside the SDKs' 10 s export
	// timeout.
	InflightWait time.Duration
	// Limits bound nesting and value count (see Scan).
	Limits Limits
	// Tokens maps bearer tokens to tenants. Empty: no authentication, DefaultTenant.
	// Empty tokens or tenants are refused by NewReceiver.
	Tokens map[string]string
	// DefaultTenant is the tenant of unauthenticated requests ("" lets span attributes
	// name the tenant, falling back to "default").
	DefaultTenant string
	// RetryAfter is the hint sent with backpressure responses. Default 2s.
	RetryAfter time.Duration
	// TLS, when set, serves both listeners over TLS (with client certificates verified
	// when its ClientCAs are set).
	TLS *tls.Config
	// Log receives one line per rejected request (rate-limited per reason). nil: slog.Default().
	Log *slog.Logger
}

// ValueCost is the heap the OTLP decoder allocates per span, attribute or value, measured
// on pdata 1.70 (88 B per empty array element); it turns a value count into the memory a
// request will hold once decoded.
const ValueCost = 88

// Receiver serves OTLP over gRPC and HTTP.
type Receiver struct {
	cfg      ReceiverConfig
	sink     Sink
	grpc     *grpc.Server
	http     *http.Server
	gl, hl   net.Listener
	stats    ReceiverStats
	log      *ratelog.Logger
	tokens   *bearer.Set
	inflight *inflight
	// grpcMax is the largest gRPC message: MaxRequestBytes, or half the in-flight
	// budget when that is smaller (a message being read holds twice its size).
	grpcMax int64
}

// ReceiverStats are counters a metrics layer can read.
type ReceiverStats interface {
	// Request counts one answered request with its spans and HTTP status.
	Request(transport string, spans int, status int)
	// Rejected counts a request refused before the sink, by a bounded reason.
	Rejected(transport, reason string)
}

type noStats struct{}

func (noStats) Request(string, int, int) {}
func (noStats) Rejected(string, string)  {}

// NewReceiver binds the listeners (so the addresses are known at once) without serving.
func NewReceiver(cfg ReceiverConfig, sink Sink, stats ReceiverStats) (*Receiver, error) {
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 16 << 20
	}
	if cfg.MaxInflightBytes <= 0 {
		cfg.MaxInflightBytes = 256 << 20
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 2 * time.Second
	}
	if cfg.InflightWait <= 0 {
		cfg.InflightWait = time.Second
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if stats == nil {
		stats = noStats{}
	}
	grpcMax := min(cfg.MaxRequestBytes, cfg.MaxInflightBytes/grpcReadFactor)
	// A sixteenth of the budget (256 stream windows with the defaults) is left to the
	// tap, unless that leaves no room to read the largest message.
	headroom := max(0, min(cfg.MaxInflightBytes/16, cfg.MaxInflightBytes-grpcReadFactor*grpcMax))
	r := &Receiver{cfg: cfg, sink: sink, stats: stats, log: ratelog.New(cfg.Log, 5*time.Second),
		inflight: &inflight{max: cfg.MaxInflightBytes, headroom: headroom}, grpcMax: grpcMax}
	for tok, tenant := range cfg.Tokens {
		if tok == "" || tenant == "" {
			return nil, errors.New("ingest.tokens: every token and every tenant must be non-empty (an unset ${VAR} in the config file?)")
		}
	}
	r.tokens = bearer.NewSet(cfg.Tokens)
	var err error
	if cfg.GRPCAddr != "" {
		if r.gl, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
			return nil, fmt.Errorf("listen otlp grpc on %s: %w (is another collector running? set ingest.grpc_addr)", cfg.GRPCAddr, err)
		}
		opts := []grpc.ServerOption{
			grpc.MaxRecvMsgSize(int(r.grpcMax)),
			// Static windows: what a stream buffers before its handler reads is at most
			// grpcStreamWindow, which the tap reserves (see inflight.go).
			grpc.InitialWindowSize(grpcStreamWindow),
			grpc.InitialConnWindowSize(grpcConnWindow),
			grpc.ForceServerCodecV2(rawCodec{}),
			grpc.InTapHandle(r.tap),
			grpc.StatsHandler(grpcStats{r}),
		}
		if cfg.TLS != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.TLS)))
		}
		r.grpc = grpc.NewServer(opts...)
		r.grpc.RegisterService(&traceServiceDesc, r)
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
		r.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
			IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10, TLSConfig: cfg.TLS,
			ErrorLog: slog.NewLogLogger(logHandler(cfg.Log), slog.LevelDebug)}
	}
	return r, nil
}

func logHandler(l *slog.Logger) slog.Handler {
	if l == nil {
		return slog.Default().Handler()
	}
	return l.Handler()
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

// Run serves until ctx is cancelled, then stops accepting and drains in-flight requests
// (each is answered within the sink's timeout).
func (r *Receiver) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	if r.grpc != nil {
		go func() { errc <- r.grpc.Serve(r.gl) }()
	}
	if r.http != nil {
		go func() {
			var err error
			if r.cfg.TLS != nil {
				err = r.http.ServeTLS(r.hl, "", "")
			} else {
				err = r.http.Serve(r.hl)
			}
			if !errors.Is(err, http.ErrServerClosed) {
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

// Close stops both servers gracefully (in-flight requests finish, bounded by 15 s).
// Idempotent.
func (r *Receiver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if r.grpc != nil {
		done := make(chan struct{})
		go func() { r.grpc.GracefulStop(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			r.grpc.Stop()
		}
	}
	if r.http != nil {
		if err := r.http.Shutdown(ctx); err != nil {
			r.http.Close()
			return err
		}
	}
	return nil
}

// tenant maps an Authorization value to a tenant (bearer scheme case-insensitive, token
// compared in constant time), or to DefaultTenant when no tokens are configured.
func (r *Receiver) tenant(authz string) (string, bool) {
	if r.tokens.Len() == 0 {
		return r.cfg.DefaultTenant, true
	}
	return r.tokens.Lookup(authz)
}

// reject logs (rate-limited per reason) and counts a refused request.
func (r *Receiver) reject(transport string, status int, reason, msg, remote string) {
	r.stats.Rejected(transport, reason)
	r.log.Log(slog.LevelWarn, transport+":"+reason, "ingest: request rejected",
		"transport", transport, "status", status, "reason", reason, "remote", remote, "detail", clip(msg, 300))
}

// accept runs the sink and turns its outcome into the OTLP response.
func (r *Receiver) accept(ctx context.Context, tenant string, td ptrace.Traces) (ptraceotlp.ExportResponse, int, error) {
	rejected, why := DropInvalid(td)
	n := td.SpanCount()
	if n == 0 {
		return partial(rejected, why), 0, nil
	}
	res, err := r.sink.Accept(ctx, tenant, td)
	if err != nil {
		return ptraceotlp.ExportResponse{}, n, err
	}
	if res.Rejected > 0 {
		rejected += res.Rejected
		if why != "" {
			why += "; "
		}
		why += res.Message
	}
	return partial(rejected, why), n - res.Rejected, nil
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
