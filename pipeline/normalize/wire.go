package normalize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
)

// Decoder reads OTLP protobuf trace payloads (ExportTraceServiceRequest, equivalently
// TracesData) straight into pipeline.Span, without building pdata: it walks the wire
// bytes once, keeps the attributes as views into the payload and hands them to the same
// normalisation as Normalizer.Span. For every payload it returns exactly what pdata's
// ProtoUnmarshaler followed by Normalizer.Span on each span returns (FuzzDecoderEqualsPdata
// holds it to that), or an error where pdata fails.
//
// It accepts only what it can take whole: a payload pdata rejects, or one with a span
// Normalizer.Span rejects, is an error, and the caller decides that payload's fate on the
// pdata path (which names the error and keeps the valid spans).
//
// Ownership: every string of a returned span that would alias the payload is copied (and
// interned: one copy per distinct label value, in a bounded table), so spans may be held
// after the payload's buffer is reused (franz-go may recycle fetch buffers) - except the
// captured content (InputContent, OutputContent), which aliases the payload and is valid
// only until the buffer is reused: count it (pricing.Tokenizer.Estimate clears it) or
// copy it before then.
//
// With Borrow set, the Decoder neither copies nor interns: the spans it returns are its
// own scratch space, reused by the next Decode, and their strings alias the payload, so
// they are valid until the next Decode and while the payload's buffer is unchanged. That
// is for a caller that copies what it keeps: process hands each span to
// stitch.Stitcher.Add, which holds an encoded copy.
//
// A Decoder is not safe for concurrent use (it reuses its scratch space); use one per
// goroutine.
type Decoder struct {
	N      Normalizer
	Borrow bool

	scratch []pipeline.Span // Borrow: the spans returned last

	in     spanIn
	scopes [][]byte
	evs    []evRange
	out    []pipeline.Span
	intern map[string]string
	last   [26]string // own: each field's last owned value
	buf    []byte     // the payload being decoded (ownership checks)
	tenant string
	err    error // first normalisation rejection
}

type evRange struct {
	name   string
	lo, hi int
}

// ErrWire wraps every payload the Decoder cannot take whole.
var ErrWire = errors.New("payload not decoded on the wire path")

var errMalformed = fmt.Errorf("%w: malformed protobuf", ErrWire)

// Decode returns the spans of payload b, normalised as Normalizer.Span does with the
// authenticated tenant. Without Borrow the spans are a fresh slice the caller owns. The
// Decoder keeps views of the last payload in its scratch space until the next Decode (one
// record's buffer at most). Every error wraps ErrWire.
func (d *Decoder) Decode(b []byte, tenant string) ([]pipeline.Span, error) {
	// The spans are normalised in place, in fresh (zeroed) memory: a span is written
	// once, never copied. At most maxPrealloc are allocated before they are read: a
	// hostile record of empty spans does not get 600 bytes per two bytes up front. With
	// Borrow the scratch space grows as spans are read (no counting pass first).
	n := 0
	if !d.Borrow {
		var err error
		if n, err = countSpans(b); err != nil {
			return nil, err // an error of the full walk too
		}
	}
	d.buf, d.tenant, d.err = b, tenant, nil
	pre := min(n, maxPrealloc)
	switch {
	case d.Borrow:
		d.out = d.scratch[:0]
	case n > 0:
		d.out = make([]pipeline.Span, 0, pre)
	default:
		d.out = nil
	}
	defer d.done()
	if err := d.request(b); err != nil {
		return nil, err
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.out) == 0 {
		return nil, nil
	}
	if !d.Borrow {
		for i := range d.out {
			d.own(&d.out[i])
		}
	}
	return d.out, nil
}

// Bounds of what a Decoder allocates ahead and keeps between records.
const (
	maxPrealloc = 1024 // spans allocated before they are read
	maxKept     = 4096 // elements of a scratch slice kept for the next record
)

// done ends a Decode: it keeps the scratch space for the next record, unless one huge
// record grew it beyond maxKept.
func (d *Decoder) done() {
	if d.Borrow && cap(d.out) > cap(d.scratch) && cap(d.out) <= maxKept {
		d.scratch = d.out[:0] // grew: the next record reuses the larger slice
	}
	if cap(d.in.res) > maxKept {
		d.in.res = nil
	}
	if cap(d.in.attrs) > maxKept {
		d.in.attrs = nil
	}
	if cap(d.in.eventsAttrs) > maxKept {
		d.in.eventsAttrs = nil
	}
	if cap(d.in.events) > maxKept || cap(d.evs) > maxKept {
		d.in.events, d.evs = nil, nil
	}
	if cap(d.scopes) > maxKept {
		d.scopes = nil
	}
	d.buf, d.out = nil, nil
}

// countSpans counts the spans Decode emits (those of scope_spans; the deprecated list is
// not read), walking only the levels above them.
func countSpans(buf []byte) (int, error) {
	n := 0
	err := each(buf, 1, func(rs []byte) error {
		return each(rs, 2, func(ss []byte) error {
			return each(ss, 2, func([]byte) error { n++; return nil })
		})
	})
	return n, err
}

// each calls fn with the bytes of every length-delimited field num of a message.
func each(buf []byte, num int32, fn func([]byte) error) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		if f.num == num {
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := fn(f.b); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- wire primitives: the same acceptance as pdata's internal/proto ----

const (
	wtVarint     = 0
	wtI64        = 1
	wtLen        = 2
	wtStartGroup = 3
	wtEndGroup   = 4
	wtI32        = 5
)

func consumeVarint(buf []byte, pos int) (uint64, int, error) {
	var num uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 || pos >= len(buf) {
			return 0, 0, errMalformed
		}
		b := buf[pos]
		pos++
		num |= uint64(b&0x7F) << shift
		if b < 0x80 {
			return num, pos, nil
		}
	}
}

func consumeTag(buf []byte, pos int) (int32, int8, int, error) {
	tag, pos, err := consumeVarint(buf, pos)
	if err != nil {
		return 0, 0, 0, err
	}
	num := int32(tag >> 3) // truncated as pdata does
	if num <= 0 {
		return 0, 0, 0, errMalformed
	}
	return num, int8(tag & 7), pos, nil
}

// consumeLen returns the field's bytes and the position after them.
func consumeLen(buf []byte, pos int) ([]byte, int, error) {
	num, pos, err := consumeVarint(buf, pos)
	if err != nil {
		return nil, 0, err
	}
	length := int(num)
	if length < 0 {
		return nil, 0, errMalformed
	}
	end := pos + length
	if end < 0 || end > len(buf) {
		return nil, 0, errMalformed
	}
	return buf[pos:end], end, nil
}

func consumeFixed(buf []byte, pos, n int) (uint64, int, error) {
	end := pos + n
	if end < 0 || end > len(buf) {
		return 0, 0, errMalformed
	}
	if n == 8 {
		return binary.LittleEndian.Uint64(buf[pos:]), end, nil
	}
	return uint64(binary.LittleEndian.Uint32(buf[pos:])), end, nil
}

// consumeUnknown skips a field unitcost does not read, exactly as pdata's
// proto.ConsumeUnknown does (including its handling of groups).
func consumeUnknown(buf []byte, pos int, wt int8) (int, error) {
	var err error
	depth := 0
	for pos < len(buf) {
		switch wt {
		case wtVarint:
			_, pos, err = consumeVarint(buf, pos)
			return pos, err
		case wtI64:
			_, pos, err = consumeFixed(buf, pos, 8)
			return pos, err
		case wtLen:
			_, pos, err = consumeLen(buf, pos)
			return pos, err
		case wtStartGroup:
			depth++
		case wtEndGroup:
			if depth == 0 {
				return 0, errMalformed
			}
			depth--
		case wtI32:
			_, pos, err = consumeFixed(buf, pos, 4)
			return pos, err
		default:
			return 0, errMalformed
		}
		if depth == 0 {
			return pos, nil
		}
		if _, wt, pos, err = consumeTag(buf, pos); err != nil {
			return 0, err
		}
	}
	return 0, errMalformed
}

// field is one field of a message: its number, wire type and value (u for varint and
// fixed types, b for length-delimited ones).
type field struct {
	num int32
	wt  int8
	u   uint64
	b   []byte
}

// next reads the field at pos. Fields of a wire type that carries no value here
// (groups, invalid types) are skipped as unknown; a message that knows the field's
// number rejects them by their wire type.
func next(buf []byte, pos int) (field, int, error) {
	// Fast path: a one-byte tag with a one-byte length or value (most OTLP fields).
	if pos+1 < len(buf) {
		if t := buf[pos]; t >= 8 && t < 0x80 {
			switch t & 7 {
			case wtLen:
				if l := int(buf[pos+1]); l < 0x80 && pos+2+l <= len(buf) {
					return field{num: int32(t >> 3), wt: wtLen, b: buf[pos+2 : pos+2+l]}, pos + 2 + l, nil
				}
			case wtVarint:
				if v := buf[pos+1]; v < 0x80 {
					return field{num: int32(t >> 3), wt: wtVarint, u: uint64(v)}, pos + 2, nil
				}
			}
		}
	}
	return nextSlow(buf, pos)
}

func nextSlow(buf []byte, pos int) (field, int, error) {
	var f field
	var err error
	if f.num, f.wt, pos, err = consumeTag(buf, pos); err != nil {
		return f, 0, err
	}
	switch f.wt {
	case wtVarint:
		f.u, pos, err = consumeVarint(buf, pos)
	case wtI64:
		f.u, pos, err = consumeFixed(buf, pos, 8)
	case wtLen:
		f.b, pos, err = consumeLen(buf, pos)
	case wtI32:
		f.u, pos, err = consumeFixed(buf, pos, 4)
	default:
		pos, err = consumeUnknown(buf, pos, f.wt)
	}
	return f, pos, err
}

// want rejects a known field of the wrong wire type (pdata: "wrong wireType").
func want(f field, wt int8) error {
	if f.wt != wt {
		return errMalformed
	}
	return nil
}

func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// ---- the OTLP trace schema ----

func (d *Decoder) request(buf []byte) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		if f.num == 1 {
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := d.resourceSpans(f.b); err != nil {
				return err
			}
		}
	}
	return nil
}

// resourceSpans reads the resource first (it may follow its spans, or come in parts,
// which protobuf merges), then the spans.
func (d *Decoder) resourceSpans(buf []byte) error {
	d.in.res = d.in.res[:0]
	d.scopes = d.scopes[:0]
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1: // resource
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := d.resource(f.b); err != nil {
				return err
			}
		case 2: // scope_spans
			if err := want(f, wtLen); err != nil {
				return err
			}
			d.scopes = append(d.scopes, f.b)
		case 3: // schema_url
			if err := want(f, wtLen); err != nil {
				return err
			}
		case 1000: // deprecated instrumentation_library_spans: pdata checks, then ignores them
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := d.scopeSpans(f.b, false); err != nil {
				return err
			}
		}
	}
	// Every span reads the resource's attributes: drop, once, those no family reads
	// (telemetry.sdk.*, process.*, host.*...).
	kept := d.in.res[:0]
	for i := range d.in.res {
		if d.N.reads(d.in.res[i].key, &d.in.res[i].v) {
			kept = append(kept, d.in.res[i])
		}
	}
	d.in.res = kept
	for _, s := range d.scopes {
		if err := d.scopeSpans(s, true); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) resource(buf []byte) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1:
			if err := want(f, wtLen); err != nil {
				return err
			}
			d.in.res = append(d.in.res, kv{})
			if err := keyValue(f.b, &d.in.res[len(d.in.res)-1]); err != nil {
				return err
			}
		case 2:
			if err := want(f, wtVarint); err != nil {
				return err
			}
		case 3: // entity_refs
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := strings4(f.b); err != nil {
				return err
			}
		}
	}
	return nil
}

// strings4 checks a message whose fields 1-4 are strings (EntityRef).
func strings4(buf []byte) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		if f.num >= 1 && f.num <= 4 {
			if err := want(f, wtLen); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *Decoder) scopeSpans(buf []byte, emit bool) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := scope(f.b); err != nil {
				return err
			}
		case 2:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := d.span(f.b, emit); err != nil {
				return err
			}
		case 3:
			if err := want(f, wtLen); err != nil {
				return err
			}
		}
	}
	return nil
}

func scope(buf []byte) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1, 2:
			if err := want(f, wtLen); err != nil {
				return err
			}
		case 3:
			if err := want(f, wtLen); err != nil {
				return err
			}
			var a kv
			if err := keyValue(f.b, &a); err != nil {
				return err
			}
		case 4:
			if err := want(f, wtVarint); err != nil {
				return err
			}
		}
	}
	return nil
}

// id reads a trace or span id as pdata does: empty is the zero id, else exactly n bytes.
func id(dst []byte, b []byte) error {
	switch len(b) {
	case 0:
		clear(dst)
	case len(dst):
		copy(dst, b)
	default:
		return errMalformed
	}
	return nil
}

func (d *Decoder) span(buf []byte, emit bool) error {
	in := &d.in
	in.traceID, in.spanID, in.parent = pipeline.TraceID{}, pipeline.SpanID{}, pipeline.SpanID{}
	in.name, in.start, in.end, in.code = "", 0, 0, 0
	in.attrs = in.attrs[:0]
	in.events = in.events[:0]
	in.eventsAttrs = in.eventsAttrs[:0]
	d.evs = d.evs[:0]
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := id(in.traceID[:], f.b); err != nil {
				return err
			}
		case 2:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := id(in.spanID[:], f.b); err != nil {
				return err
			}
		case 3: // trace_state
			if err := want(f, wtLen); err != nil {
				return err
			}
		case 4:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := id(in.parent[:], f.b); err != nil {
				return err
			}
		case 5:
			if err := want(f, wtLen); err != nil {
				return err
			}
			in.name = view(f.b)
		case 6, 10, 12, 14: // kind, dropped counts
			if err := want(f, wtVarint); err != nil {
				return err
			}
		case 7:
			if err := want(f, wtI64); err != nil {
				return err
			}
			in.start = f.u
		case 8:
			if err := want(f, wtI64); err != nil {
				return err
			}
			in.end = f.u
		case 9:
			if err := want(f, wtLen); err != nil {
				return err
			}
			in.attrs = append(in.attrs, kv{})
			if err := keyValue(f.b, &in.attrs[len(in.attrs)-1]); err != nil {
				return err
			}
		case 11:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := d.event(f.b); err != nil {
				return err
			}
		case 13:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := link(f.b); err != nil {
				return err
			}
		case 15:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := status(f.b, &in.code); err != nil {
				return err
			}
		case 16: // flags
			if err := want(f, wtI32); err != nil {
				return err
			}
		}
	}
	if !emit || d.err != nil {
		return nil
	}
	for _, e := range d.evs {
		in.events = append(in.events, eventIn{name: e.name, attrs: in.eventsAttrs[e.lo:e.hi]})
	}
	fill := d.N.fill // on zero memory, fresh from make
	switch {
	case len(d.out) == cap(d.out):
		d.out = append(d.out, pipeline.Span{})
	case d.Borrow:
		d.out = d.out[:len(d.out)+1]
		fill = d.N.span // scratch: holds the last payload's spans
	default:
		d.out = d.out[:len(d.out)+1]
	}
	if err := fill(in, d.tenant, &d.out[len(d.out)-1]); err != nil {
		d.err = errors.Join(ErrWire, err)
	}
	return nil
}

func (d *Decoder) event(buf []byte) error {
	e := evRange{lo: len(d.in.eventsAttrs)}
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1:
			if err := want(f, wtI64); err != nil {
				return err
			}
		case 2:
			if err := want(f, wtLen); err != nil {
				return err
			}
			e.name = view(f.b)
		case 3:
			if err := want(f, wtLen); err != nil {
				return err
			}
			d.in.eventsAttrs = append(d.in.eventsAttrs, kv{})
			if err := keyValue(f.b, &d.in.eventsAttrs[len(d.in.eventsAttrs)-1]); err != nil {
				return err
			}
		case 4:
			if err := want(f, wtVarint); err != nil {
				return err
			}
		}
	}
	e.hi = len(d.in.eventsAttrs)
	d.evs = append(d.evs, e)
	return nil
}

func link(buf []byte) error {
	var tid [16]byte
	var sid [8]byte
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := id(tid[:], f.b); err != nil {
				return err
			}
		case 2:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := id(sid[:], f.b); err != nil {
				return err
			}
		case 3:
			if err := want(f, wtLen); err != nil {
				return err
			}
		case 4:
			if err := want(f, wtLen); err != nil {
				return err
			}
			var a kv
			if err := keyValue(f.b, &a); err != nil {
				return err
			}
		case 5:
			if err := want(f, wtVarint); err != nil {
				return err
			}
		case 6:
			if err := want(f, wtI32); err != nil {
				return err
			}
		}
	}
	return nil
}

// status merges a Status message into code (protobuf merges a repeated message field).
func status(buf []byte, code *ptrace.StatusCode) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 2:
			if err := want(f, wtLen); err != nil {
				return err
			}
		case 3:
			if err := want(f, wtVarint); err != nil {
				return err
			}
			*code = ptrace.StatusCode(int32(f.u)) //nolint:gosec // truncated as pdata does
		}
	}
	return nil
}

// keyValue reads a KeyValue into a (zero on entry).
func keyValue(buf []byte, a *kv) error {
	// Fast path, the usual encodings: the key and the value holding one scalar, each
	// with a one-byte tag and length, key first (protobuf-go, the OTel SDKs) or value
	// first (pdata's marshaler, the Collector). Anything else (other fields, repeated or
	// merged values, longer lengths) takes the general walk below, which reads the same
	// bytes to the same result.
	if len(buf) >= 4 && buf[1] < 0x80 {
		p := 2 + int(buf[1])
		if p+2 <= len(buf) && buf[p+1] < 0x80 && p+2+int(buf[p+1]) == len(buf) {
			switch {
			case buf[0] == 1<<3|wtLen && buf[p] == 2<<3|wtLen && scalar(buf[p+2:], &a.v):
				a.key = view(buf[2:p])
				return nil
			case buf[0] == 2<<3|wtLen && buf[p] == 1<<3|wtLen && scalar(buf[2:p], &a.v):
				a.key = view(buf[p+2:])
				return nil
			}
		}
	}
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1:
			if err := want(f, wtLen); err != nil {
				return err
			}
			a.key = view(f.b)
		case 2: // a repeated value merges: the last oneof member set wins
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := anyValue(f.b, &a.v); err != nil {
				return err
			}
		case 3:
			if err := want(f, wtVarint); err != nil {
				return err
			}
		}
	}
	return nil
}

// scalar reads an AnyValue that is exactly one string (one-byte length), bool, int or
// double field, or empty, as anyValue does; false (v untouched) for anything else.
func scalar(b []byte, v *value) bool {
	if len(b) == 0 {
		return true // no field: the empty value, as anyValue leaves it
	}
	switch b[0] {
	case 1<<3 | wtLen:
		if len(b) >= 2 && b[1] < 0x80 && 2+int(b[1]) == len(b) {
			*v = value{typ: pcommon.ValueTypeStr, s: view(b[2:])}
			return true
		}
	case 2<<3 | wtVarint:
		if u, p, err := consumeVarint(b, 1); err == nil && p == len(b) {
			*v = value{typ: pcommon.ValueTypeBool, b: u != 0}
			return true
		}
	case 3<<3 | wtVarint:
		if u, p, err := consumeVarint(b, 1); err == nil && p == len(b) {
			*v = value{typ: pcommon.ValueTypeInt, i: int64(u)} //nolint:gosec // as pdata
			return true
		}
	case 4<<3 | wtI64:
		if len(b) == 9 {
			*v = value{typ: pcommon.ValueTypeDouble, d: math.Float64frombits(binary.LittleEndian.Uint64(b[1:]))}
			return true
		}
	}
	return false
}

func anyValue(buf []byte, v *value) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		switch f.num {
		case 1:
			if err := want(f, wtLen); err != nil {
				return err
			}
			*v = value{typ: pcommon.ValueTypeStr, s: view(f.b)}
		case 2:
			if err := want(f, wtVarint); err != nil {
				return err
			}
			*v = value{typ: pcommon.ValueTypeBool, b: f.u != 0}
		case 3:
			if err := want(f, wtVarint); err != nil {
				return err
			}
			*v = value{typ: pcommon.ValueTypeInt, i: int64(f.u)} //nolint:gosec // as pdata
		case 4:
			if err := want(f, wtI64); err != nil {
				return err
			}
			*v = value{typ: pcommon.ValueTypeDouble, d: math.Float64frombits(f.u)}
		case 5:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := arrayValue(f.b); err != nil {
				return err
			}
			*v = value{typ: pcommon.ValueTypeSlice, raw: f.b}
		case 6:
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := kvList(f.b); err != nil {
				return err
			}
			*v = value{typ: pcommon.ValueTypeMap, raw: f.b}
		case 7:
			if err := want(f, wtLen); err != nil {
				return err
			}
			*v = value{typ: pcommon.ValueTypeBytes, raw: f.b}
		case 8: // string_value_strindex (profiles): an empty value for traces
			if err := want(f, wtVarint); err != nil {
				return err
			}
			*v = value{}
		}
	}
	return nil
}

// arrayValue checks every element of an ArrayValue message.
func arrayValue(buf []byte) error {
	return eachElem(buf, func(b []byte) error {
		var e value
		return anyValue(b, &e)
	})
}

// kvList checks every entry of a KeyValueList message.
func kvList(buf []byte) error {
	return eachElem(buf, func(b []byte) error {
		var a kv
		return keyValue(b, &a)
	})
}

// eachElem calls check with the bytes of each field 1 (the repeated element of both
// ArrayValue and KeyValueList), after checking its wire type.
func eachElem(buf []byte, check func([]byte) error) error {
	for pos := 0; pos < len(buf); {
		f, p, err := next(buf, pos)
		if err != nil {
			return err
		}
		pos = p
		if f.num == 1 {
			if err := want(f, wtLen); err != nil {
				return err
			}
			if err := check(f.b); err != nil {
				return err
			}
		}
	}
	return nil
}

// wireElems calls fn with each element of an ArrayValue message (already checked).
func wireElems(buf []byte, max int, fn func(e *value)) {
	n := 0
	for pos := 0; pos < len(buf) && n < max; {
		f, p, err := next(buf, pos)
		if err != nil {
			return
		}
		pos = p
		if f.num == 1 && f.wt == wtLen {
			var e value
			if anyValue(f.b, &e) != nil {
				return
			}
			fn(&e)
			n++
		}
	}
}

// wireComposite is a map or slice value from the wire as pdata holds it: rare in the
// attributes unitcost reads, so it is rendered by pdata itself (AsString's JSON) rather
// than re-implemented.
func wireComposite(v *value) pcommon.Value {
	num := uint64(5)
	if v.typ == pcommon.ValueTypeMap {
		num = 6
	}
	b := appendLen(nil, num, v.raw) // AnyValue
	b = appendLen(nil, 2, b)        // KeyValue.value
	b = appendLen(nil, 1, b)        // Resource.attributes
	b = appendLen(nil, 1, b)        // ResourceSpans.resource
	b = appendLen(nil, 1, b)        // ExportTraceServiceRequest.resource_spans
	var u ptrace.ProtoUnmarshaler
	td, err := u.UnmarshalTraces(b)
	if err != nil || td.ResourceSpans().Len() != 1 {
		return pcommon.NewValueEmpty()
	}
	for _, pv := range td.ResourceSpans().At(0).Resource().Attributes().All() {
		return pv
	}
	return pcommon.NewValueEmpty()
}

func appendLen(dst []byte, num uint64, b []byte) []byte {
	dst = binary.AppendUvarint(dst, num<<3|wtLen)
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// ---- ownership ----

// internMax bounds the interned strings; when full the table starts over.
const internMax = 1 << 15

// own makes every string of sp that aliases the payload its own (interned), except the
// captured content (see Decoder).
func (d *Decoder) own(sp *pipeline.Span) {
	for i, p := range [...]*string{&sp.AuthTenant, &sp.Tenant, &sp.Name, (*string)(&sp.Operation), &sp.Provider, &sp.Model,
		&sp.ServiceTier, &sp.ProviderCostCurrency, &sp.ProviderCostSource, &sp.WorkflowName, &sp.WorkflowVersion,
		&sp.Outcome, &sp.OutcomeSource, &sp.Agent, &sp.Step, &sp.Team, &sp.Feature, &sp.Session, &sp.User,
		&sp.Service, &sp.Environment, &sp.ToolName, &sp.ComputeClass, &sp.ReviewRole, &sp.ReviewOutcome, &sp.Unpriced} {
		// Neighbouring spans mostly repeat a field's value (one service, one provider):
		// compare with the field's last value before hashing.
		if *p == d.last[i] {
			*p = d.last[i]
		} else if d.aliases(*p) {
			*p = d.str(*p)
			d.last[i] = *p
		}
	}
	for i := range sp.Labels {
		sp.Labels[i].Key, sp.Labels[i].Value = d.str(sp.Labels[i].Key), d.str(sp.Labels[i].Value)
	}
	for i := range sp.Issues {
		if d.aliases(sp.Issues[i]) {
			sp.Issues[i] = strings.Clone(sp.Issues[i])
		}
	}
	if s := sp.Signal; s != nil {
		s.Outcome, s.Source = d.str(s.Outcome), d.str(s.Source)
	}
}

func (d *Decoder) aliases(s string) bool {
	if len(s) == 0 || len(d.buf) == 0 {
		return false
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	base := uintptr(unsafe.Pointer(&d.buf[0]))
	return p >= base && p < base+uintptr(len(d.buf))
}

// str is s, copied out of the payload (once per distinct value) when it aliases it.
func (d *Decoder) str(s string) string {
	if !d.aliases(s) {
		return s
	}
	if len(s) > 1024 {
		return strings.Clone(s)
	}
	if c, ok := d.intern[s]; ok {
		return c
	}
	if d.intern == nil || len(d.intern) >= internMax {
		d.intern = make(map[string]string, 1024)
	}
	c := strings.Clone(s)
	d.intern[c] = c
	return c
}
