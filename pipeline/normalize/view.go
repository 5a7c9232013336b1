package normalize

import (
	"encoding/base64"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
)

// spanIn is one span as normalisation reads it: what pdata or the wire decoder
// (wire.go) found, in one shape, so both feed the same code. On the wire path its
// strings alias the payload (see Decoder for who owns what).
type spanIn struct {
	traceID     pipeline.TraceID
	spanID      pipeline.SpanID
	parent      pipeline.SpanID
	name        string
	start, end  uint64
	code        ptrace.StatusCode
	res, attrs  []kv // resource attributes, span attributes, in payload order
	events      []eventIn
	eventsAttrs []kv // backing store of events' attributes (wire path)
}

type eventIn struct {
	name  string
	attrs []kv
}

type kv struct {
	key string
	v   value
}

// value is one attribute value. Scalars are held directly; maps, slices and bytes keep
// either the pdata value (pv) or their wire bytes (raw) and are rendered only when read
// as a string.
type value struct {
	typ pcommon.ValueType
	s   string
	i   int64
	d   float64
	b   bool
	raw []byte // wire: BytesValue's bytes, or the ArrayValue / KeyValueList message
	pv  *pcommon.Value
}

// get is the first attribute named key (as pcommon.Map.Get).
func get(attrs []kv, key string) (*value, bool) {
	for i := range attrs {
		if attrs[i].key == key {
			return &attrs[i].v, true
		}
	}
	return nil, false
}

// asString is pcommon.Value.AsString.
func (v *value) asString() string {
	switch v.typ {
	case pcommon.ValueTypeEmpty:
		return ""
	case pcommon.ValueTypeStr:
		return v.s
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.b)
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.i, 10)
	case pcommon.ValueTypeDouble:
		return pcommon.NewValueDouble(v.d).AsString()
	}
	if v.pv != nil {
		return v.pv.AsString()
	}
	if v.typ == pcommon.ValueTypeBytes {
		return base64.StdEncoding.EncodeToString(v.raw)
	}
	return wireComposite(v).AsString()
}

// elems calls fn with each element of a slice value, at most max of them.
func (v *value) elems(max int, fn func(e *value)) {
	if v.typ != pcommon.ValueTypeSlice {
		return
	}
	if v.pv != nil {
		s := v.pv.Slice()
		for i := 0; i < s.Len() && i < max; i++ {
			e := fromPdata(s.At(i))
			fn(&e)
		}
		return
	}
	wireElems(v.raw, max, fn)
}

// fromPdata is a pdata value in normalisation's shape.
func fromPdata(pv pcommon.Value) value {
	v := value{typ: pv.Type()}
	switch v.typ {
	case pcommon.ValueTypeStr:
		v.s = pv.Str()
	case pcommon.ValueTypeBool:
		v.b = pv.Bool()
	case pcommon.ValueTypeInt:
		v.i = pv.Int()
	case pcommon.ValueTypeDouble:
		v.d = pv.Double()
	case pcommon.ValueTypeEmpty:
	default:
		v.pv = &pv
	}
	return v
}

func kvsFromPdata(m pcommon.Map) []kv {
	if m.Len() == 0 {
		return nil
	}
	out := make([]kv, 0, m.Len())
	for k, v := range m.All() {
		out = append(out, kv{key: k, v: fromPdata(v)})
	}
	return out
}

// spanFromPdata is the pdata path's view of a span: what Normalizer.Span reads.
func spanFromPdata(res pcommon.Map, sp ptrace.Span) spanIn {
	in := spanIn{
		traceID: pipeline.TraceID(sp.TraceID()),
		spanID:  pipeline.SpanID(sp.SpanID()),
		parent:  pipeline.SpanID(sp.ParentSpanID()),
		name:    sp.Name(),
		start:   uint64(sp.StartTimestamp()),
		end:     uint64(sp.EndTimestamp()),
		code:    sp.Status().Code(),
		res:     kvsFromPdata(res),
		attrs:   kvsFromPdata(sp.Attributes()),
	}
	if evs := sp.Events(); evs.Len() > 0 {
		in.events = make([]eventIn, evs.Len())
		for i := range in.events {
			in.events[i] = eventIn{name: evs.At(i).Name(), attrs: kvsFromPdata(evs.At(i).Attributes())}
		}
	}
	return in
}
