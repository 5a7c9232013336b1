package otlp

import (
	"errors"
	"fmt"
)

// Limits bound what one request may make the decoder do. The OTLP decoders recurse once
// per nested attribute value and allocate per value, so a small, deeply nested or
// value-dense payload could otherwise exhaust the stack (a fatal error no recover
// catches) or the heap. Scan checks a payload against them before it is decoded.
type Limits struct {
	// MaxDepth is the deepest nesting of attribute values (an array or key-value list
	// inside an attribute value counts one level). Default 32.
	MaxDepth int
	// MaxValues caps the spans, events, links, attributes and attribute values of one
	// request together; each costs the decoder an allocation. Default 1,000,000.
	MaxValues int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxValues <= 0 {
		l.MaxValues = 1_000_000
	}
	return l
}

// ErrLimit wraps every payload rejected by Scan for exceeding a limit.
var ErrLimit = errors.New("request exceeds an ingest limit")

// ScanStats is what Scan learnt about a payload.
type ScanStats struct {
	Depth  int // deepest attribute value nesting
	Values int // spans, events, links, attributes and values
}

// Scan checks a payload against the limits without decoding it: protobuf by walking the
// wire format along the OTLP trace schema (iteratively bounded: it never descends deeper
// than the limit), JSON by counting bracket nesting outside strings. A payload that is
// malformed in a way the walk notices is reported as ErrDecode; one over a limit as
// ErrLimit, naming the limit.
func Scan(b []byte, enc Encoding, lim Limits) (ScanStats, error) {
	lim = lim.withDefaults()
	if enc == EncodingJSON {
		return scanJSON(b, lim)
	}
	s := scanner{lim: lim}
	err := s.walk(b, kRequest, 0)
	return s.stats, err
}

// Message kinds of the OTLP trace schema that can hold attributes.
type kind uint8

const (
	kNone kind = iota
	kRequest
	kResourceSpans
	kResource
	kScopeSpans
	kScope
	kSpan
	kEvent
	kLink
	kKeyValue
	kAnyValue
	kArray
	kKvList
)

// child is the kind of field num of a message of kind k (kNone: not a message unitcost
// needs to look into).
func child(k kind, num uint64) kind {
	switch k {
	case kRequest:
		if num == 1 {
			return kResourceSpans
		}
	case kResourceSpans:
		switch num {
		case 1:
			return kResource
		case 2:
			return kScopeSpans
		}
	case kResource:
		if num == 1 {
			return kKeyValue
		}
	case kScopeSpans:
		switch num {
		case 1:
			return kScope
		case 2:
			return kSpan
		}
	case kScope:
		if num == 3 {
			return kKeyValue
		}
	case kSpan:
		switch num {
		case 9:
			return kKeyValue
		case 11:
			return kEvent
		case 13:
			return kLink
		}
	case kEvent:
		if num == 3 {
			return kKeyValue
		}
	case kLink:
		if num == 5 {
			return kKeyValue
		}
	case kKeyValue:
		if num == 2 {
			return kAnyValue
		}
	case kAnyValue:
		switch num {
		case 5:
			return kArray
		case 6:
			return kKvList
		}
	case kArray:
		if num == 1 {
			return kAnyValue
		}
	case kKvList:
		if num == 1 {
			return kKeyValue
		}
	}
	return kNone
}

type scanner struct {
	lim   Limits
	stats ScanStats
}

func malformed(what string) error { return fmt.Errorf("%w: malformed protobuf: %s", ErrDecode, what) }

// walk visits a message of kind k at attribute depth depth. Recursion is bounded: depth
// grows by one per nested AnyValue and the walk stops at the limit, and the fixed levels
// above the attributes are at most six.
func (s *scanner) walk(b []byte, k kind, depth int) error {
	switch k {
	case kAnyValue:
		depth++
		if depth > s.stats.Depth {
			s.stats.Depth = depth
		}
		if depth > s.lim.MaxDepth {
			return fmt.Errorf("%w: attribute values nested deeper than %d levels (ingest.max_attribute_depth)", ErrLimit, s.lim.MaxDepth)
		}
		fallthrough
	case kSpan, kEvent, kLink, kKeyValue:
		s.stats.Values++
		if s.stats.Values > s.lim.MaxValues {
			return fmt.Errorf("%w: more than %d spans, events, links and attribute values in one request (ingest.max_request_values); send smaller batches", ErrLimit, s.lim.MaxValues)
		}
	}
	for len(b) > 0 {
		tag, n := uvarint(b)
		if n <= 0 {
			return malformed("bad field tag")
		}
		b = b[n:]
		num, wt := tag>>3, tag&7
		if num == 0 {
			return malformed("field number 0")
		}
		switch wt {
		case 0:
			_, n := uvarint(b)
			if n <= 0 {
				return malformed("bad varint")
			}
			b = b[n:]
		case 1:
			if len(b) < 8 {
				return malformed("truncated fixed64")
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return malformed("truncated fixed32")
			}
			b = b[4:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return malformed("bad length")
			}
			sub := b[n : n+int(l)]
			b = b[n+int(l):]
			if c := child(k, num); c != kNone {
				if err := s.walk(sub, c, depth); err != nil {
					return err
				}
			}
		default:
			return malformed(fmt.Sprintf("wire type %d", wt))
		}
	}
	return nil
}

// uvarint decodes a protobuf varint; n <= 0 when b holds none.
func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// jsonBase is the bracket depth of an attribute's value object in OTLP JSON (request,
// resourceSpans, a resource span, scopeSpans, a scope span, spans, a span, events, an
// event, attributes, a key-value, the value); each further level of nesting adds at most
// four (kvlistValue, values, a key-value, its value). Brackets beyond jsonBase + 4 x
// MaxDepth are refused whatever they hold.
const jsonBase = 12

// scanJSON bounds the nesting of attribute values (objects under an "arrayValue" or
// "kvlistValue" key) and of brackets in general, and counts objects. Strings are skipped
// with their escapes, so brackets inside them do not count.
func scanJSON(b []byte, lim Limits) (ScanStats, error) {
	var (
		st       ScanStats
		maxDepth = jsonBase + 4*lim.MaxDepth
		nests    []bool // per open bracket: does it open a nested attribute value?
		nesting  int
		pending  bool // the last key was arrayValue or kvlistValue
	)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			start := i + 1
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return st, fmt.Errorf("%w: unterminated JSON string", ErrDecode)
			}
			key := b[start:i]
			j := i + 1
			for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n') {
				j++
			}
			if j < len(b) && b[j] == ':' {
				switch string(key) {
				case "arrayValue", "array_value", "kvlistValue", "kvlist_value":
					pending = true
				default:
					pending = false
				}
			}
		case '{', '[':
			nest := pending && c == '{'
			pending = false
			if len(nests) >= maxDepth {
				return st, fmt.Errorf("%w: JSON nested deeper than %d levels (attribute values nested deeper than about %d, ingest.max_attribute_depth)", ErrLimit, maxDepth, lim.MaxDepth)
			}
			nests = append(nests, nest)
			if nest {
				nesting++
				if nesting+1 > st.Depth {
					st.Depth = nesting + 1
				}
				if nesting+1 > lim.MaxDepth {
					return st, fmt.Errorf("%w: attribute values nested deeper than %d levels (ingest.max_attribute_depth)", ErrLimit, lim.MaxDepth)
				}
			}
			if c == '{' {
				st.Values++
				if st.Values > lim.MaxValues {
					return st, fmt.Errorf("%w: more than %d objects in one request (ingest.max_request_values); send smaller batches", ErrLimit, lim.MaxValues)
				}
			}
		case '}', ']':
			pending = false
			if len(nests) == 0 {
				return st, fmt.Errorf("%w: unbalanced JSON brackets", ErrDecode)
			}
			if nests[len(nests)-1] {
				nesting--
			}
			nests = nests[:len(nests)-1]
		case ',':
			pending = false
		}
	}
	return st, nil
}
