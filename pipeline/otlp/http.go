package otlp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errInflight is a request that does not fit in ingest.max_inflight_bytes now.
var errInflight = errors.New("ingest is at its in-flight memory limit (ingest.max_inflight_bytes); retry later")

// errTooLarge is a body above ingest.max_request_bytes once decompressed.
var errTooLarge = errors.New("request body too large")

func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	remote := req.RemoteAddr
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.httpReject(w, EncodingProto, http.StatusMethodNotAllowed, "method", "use POST", remote)
		return
	}
	ct, _, _ := strings.Cut(req.Header.Get("Content-Type"), ";")
	enc := EncodingProto
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/json":
		enc = EncodingJSON
	case "application/x-protobuf", "application/protobuf":
	default:
		r.httpReject(w, enc, http.StatusUnsupportedMediaType, "content_type", "content type must be application/x-protobuf or application/json", remote)
		return
	}
	// Authenticate before reading the body.
	tenant, ok := r.tenant(req.Header.Get("Authorization"))
	if !ok {
		r.httpReject(w, enc, http.StatusUnauthorized, "auth", "missing or unknown bearer token", remote)
		return
	}
	var body io.Reader = req.Body
	switch strings.ToLower(req.Header.Get("Content-Encoding")) {
	case "gzip":
		gz, err := gzip.NewReader(req.Body)
		if err != nil {
			r.httpReject(w, enc, http.StatusBadRequest, "gzip", "bad gzip body: "+err.Error(), remote)
			return
		}
		defer gz.Close()
		body = gz
	case "", "identity":
	default:
		r.httpReject(w, enc, http.StatusUnsupportedMediaType, "content_encoding", "content encoding must be gzip or identity", remote)
		return
	}
	b, h, err := r.readBody(req.Context(), body, req.ContentLength)
	if h != nil {
		defer h.release()
	}
	switch {
	case errors.Is(err, errInflight):
		r.httpBusy(w, enc, "inflight", errInflight.Error(), 0, remote)
		return
	case errors.Is(err, errTooLarge):
		r.httpReject(w, enc, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("request exceeds %d bytes after decompression (ingest.max_request_bytes); send smaller batches", r.cfg.MaxRequestBytes), remote)
		return
	case errors.Is(err, errNeverFits):
		r.httpReject(w, enc, http.StatusRequestEntityTooLarge, "too_large", errNeverFits.Error(), remote)
		return
	case err != nil:
		r.httpReject(w, enc, http.StatusBadRequest, "read", "read body: "+err.Error(), remote)
		return
	}
	st, err := Scan(b, enc, r.cfg.Limits)
	if err != nil {
		reason := "decode"
		if errors.Is(err, ErrLimit) {
			reason = "limit"
		}
		r.httpReject(w, enc, http.StatusBadRequest, reason, err.Error(), remote)
		return
	}
	// The decoded form: the strings pdata copies out of the body, and about ValueCost
	// per value, on top of the body (which the request holds while it waits for that).
	switch err := h.grow(req.Context(), int64(cap(b))+decodedCost(len(b), st.Values), int64(cap(b)), r.cfg.InflightWait); {
	case errors.Is(err, errNeverFits):
		r.httpReject(w, enc, http.StatusRequestEntityTooLarge, "too_large", errNeverFits.Error(), remote)
		return
	case err != nil:
		r.httpBusy(w, enc, "inflight", errInflight.Error(), 0, remote)
		return
	}
	td, err := Decode(b, enc)
	if err != nil {
		r.httpReject(w, enc, http.StatusBadRequest, "decode", err.Error(), remote)
		return
	}
	b = nil
	resp, n, err := r.accept(req.Context(), tenant, td)
	if err != nil {
		r.httpBusy(w, enc, "kafka", err.Error(), n, remote)
		return
	}
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

// readBody reads at most MaxRequestBytes (decompressed) into a buffer covered by a hold
// on the in-flight budget: the first buffer (Content-Length, or 64 KiB when the length
// is unknown) is reserved before anything is read, holding nothing while it waits; a
// buffer that must grow (unknown length) holds the old and the new one while it copies,
// and waits for room holding only the old one (see hold.grow: at most one request waits
// while holding). What is not read yet waits in the connection. It returns the hold
// (nil when none was taken), which the caller releases.
func (r *Receiver) readBody(ctx context.Context, body io.Reader, contentLength int64) ([]byte, *hold, error) {
	limit := r.cfg.MaxRequestBytes
	size := int64(64 << 10)
	if contentLength > 0 && contentLength+1 > size {
		size = min(contentLength+1, limit+1)
	}
	h, err := r.inflight.reserveWait(ctx, size, r.cfg.InflightWait)
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, h, errTooLarge
			}
			old, to := int64(cap(buf)), min(2*int64(cap(buf)), limit+1)
			if err := h.grow(ctx, old+to, old, r.cfg.InflightWait); err != nil {
				return nil, h, err
			}
			nb := make([]byte, len(buf), to)
			copy(nb, buf)
			buf = nb
			h.grow(ctx, to, to, 0) // the old buffer is garbage now: shrinks, never fails
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, h, errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, h, nil
		}
		if err != nil {
			return nil, h, err
		}
	}
}

// httpReject answers a request refused for what it is (4xx).
func (r *Receiver) httpReject(w http.ResponseWriter, enc Encoding, code int, reason, msg, remote string) {
	r.reject("http", code, reason, msg, remote)
	r.stats.Request("http", 0, code)
	writeHTTPStatus(w, enc, code, msg)
}

// httpBusy answers 503 with Retry-After: the request may succeed if sent again.
func (r *Receiver) httpBusy(w http.ResponseWriter, enc Encoding, reason, msg string, spans int, remote string) {
	r.reject("http", http.StatusServiceUnavailable, reason, msg, remote)
	r.stats.Request("http", spans, http.StatusServiceUnavailable)
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(r.cfg.RetryAfter.Seconds()+0.5))))
	writeHTTPStatus(w, enc, http.StatusServiceUnavailable, msg)
}

// writeHTTPStatus writes an OTLP Status message in the request's encoding.
func writeHTTPStatus(w http.ResponseWriter, enc Encoding, code int, msg string) {
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
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusMethodNotAllowed:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.Internal
}
