// Package otlp decodes OTLP trace payloads (protobuf and JSON, as sent by SDKs and as
// written to Kafka by the OpenTelemetry Collector's kafka exporter), splits them by trace
// id, and serves the OTLP/gRPC and OTLP/HTTP receivers of `unitcost ingest`.
package otlp

import (
	"bytes"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Encoding is how a payload is serialised.
type Encoding uint8

// Supported encodings. They match the Collector kafka exporter's otlp_proto and otlp_json.
const (
	EncodingProto Encoding = iota
	EncodingJSON
)

// ContentType is the MIME type recorded in the Kafka record header.
func (e Encoding) ContentType() string {
	if e == EncodingJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// EncodingFor maps a content type (HTTP header or Kafka record header) to an encoding;
// unknown or empty types sniff the body: OTLP JSON always starts with '{'.
func EncodingFor(contentType string, body []byte) Encoding {
	switch contentType {
	case "application/json":
		return EncodingJSON
	case "application/x-protobuf", "application/protobuf":
		return EncodingProto
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '{' {
		return EncodingJSON
	}
	return EncodingProto
}

// ErrDecode wraps every failure to decode a payload.
var ErrDecode = errors.New("undecodable OTLP payload")

// Decode parses an ExportTraceServiceRequest (equivalently, a TracesData) payload.
func Decode(b []byte, enc Encoding) (ptrace.Traces, error) {
	var (
		td  ptrace.Traces
		err error
	)
	if enc == EncodingJSON {
		var u ptrace.JSONUnmarshaler
		td, err = u.UnmarshalTraces(b)
	} else {
		var u ptrace.ProtoUnmarshaler
		td, err = u.UnmarshalTraces(b)
	}
	if err != nil {
		return ptrace.Traces{}, fmt.Errorf("%w (%s, %d bytes): %v", ErrDecode, enc.ContentType(), len(b), err)
	}
	return td, nil
}

// Encode serialises traces as protobuf (the form unitcost writes to Kafka).
func Encode(td ptrace.Traces) ([]byte, error) {
	var m ptrace.ProtoMarshaler
	return m.MarshalTraces(td)
}

// TraceBatch is the part of a payload that belongs to one trace.
type TraceBatch struct {
	TraceID [16]byte
	Traces  ptrace.Traces
}

// SplitByTrace groups a payload's spans by trace id, keeping each span's resource and
// scope. A payload that holds a single trace is returned as is, without copying. Order of
// the result follows the first appearance of each trace id.
func SplitByTrace(td ptrace.Traces) []TraceBatch { return splitByTrace(td, false) }

// TakeByTrace is SplitByTrace for a payload its caller is done with: the spans are moved
// out of td rather than copied (a span's attributes, events and links are not
// duplicated), leaving td's spans empty. Resources and scopes are still copied, once per
// trace.
func TakeByTrace(td ptrace.Traces) []TraceBatch { return splitByTrace(td, true) }

func splitByTrace(td ptrace.Traces, move bool) []TraceBatch {
	var first [16]byte
	seen, single := false, true
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len() && single; i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len() && single; j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				id := [16]byte(spans.At(k).TraceID())
				if !seen {
					first, seen = id, true
				} else if id != first {
					single = false
					break
				}
			}
		}
	}
	if !seen {
		return nil
	}
	if single {
		return []TraceBatch{{TraceID: first, Traces: td}}
	}

	var out []TraceBatch
	index := map[[16]byte]int{}
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			// per (resource, scope): the destination scope in each trace's batch
			dst := map[[16]byte]ptrace.SpanSlice{}
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				id := [16]byte(sp.TraceID())
				slice, ok := dst[id]
				if !ok {
					n, ok := index[id]
					if !ok {
						n = len(out)
						index[id] = n
						out = append(out, TraceBatch{TraceID: id, Traces: ptrace.NewTraces()})
					}
					nrs := out[n].Traces.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(nrs.Resource())
					nrs.SetSchemaUrl(rs.SchemaUrl())
					nss := nrs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(nss.Scope())
					nss.SetSchemaUrl(ss.SchemaUrl())
					slice = nss.Spans()
					dst[id] = slice
				}
				if move {
					sp.MoveTo(slice.AppendEmpty())
				} else {
					sp.CopyTo(slice.AppendEmpty())
				}
			}
		}
	}
	return out
}
