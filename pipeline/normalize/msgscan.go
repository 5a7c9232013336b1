package normalize

import (
	"strings"
	"unicode/utf8"
)

// maxScanned is the most messages scanMessages returns; more go to the JSON parser.
const maxScanned = 16

// scanMessages is parseMessages' fast path for the shape instrumentation writes: a JSON
// array of message objects whose strings need no unescaping. Into p.out it reads what
// parseMessages returns for t (the trimmed attribute value, starting with '['), in
// document order, without building the generic JSON tree twice; it returns false for
// anything outside that shape (escapes, duplicate keys, invalid UTF-8, exponents, deep
// nesting, an element that is not an object, more than maxScanned messages), which the
// general parser then reads. Texts are views into t. (The messages live in p itself, so
// a scan on the caller's stack allocates nothing.)
func (p *jscan) scanMessages(t, role string) bool {
	*p = jscan{s: t}
	if !p.array() {
		return false
	}
	p.i = 1
	for idx := 0; ; idx++ {
		p.ws()
		if p.s[p.i] == ']' {
			return true
		}
		start := p.i
		p.mode, p.role, p.idx = scanRole, role, idx
		p.object(1)
		end := p.i
		p.i, p.mode = start, scanTexts
		p.object(1)
		if p.full {
			return false
		}
		p.i = end
		p.ws()
		if p.s[p.i] == ',' {
			p.i++
		}
	}
}

// textKey: the keys whose strings messageTexts takes.
func textKey(k string) bool {
	switch k {
	case "content", "text", "system", "response", "result":
		return true
	}
	return false
}

// jscan checks and walks the JSON subset scanMessages takes. Each string value is seen
// (seen) with the key it is under (array elements inherit their array's key) and its
// depth (1: a member of a top-level element).
type jscan struct {
	s    string
	i    int
	mode uint8
	role string // scanRole: the element's role; scanTexts: the role of its texts
	idx  int
	out  [maxScanned]msg
	n    int
	full bool // more texts than out holds
}

// What a walk does with the strings it sees.
const (
	scanCheck uint8 = iota
	scanRole
	scanTexts
)

func (p *jscan) seen(key string, depth int, v string) {
	switch p.mode {
	case scanRole:
		if depth == 1 && key == "role" {
			p.role = strings.ToLower(v)
		}
	case scanTexts:
		if v != "" && textKey(key) {
			if p.n == len(p.out) {
				p.full = true
				return
			}
			p.out[p.n] = msg{idx: p.idx, role: p.role, text: v}
			p.n++
		}
	}
}

const jscanMaxDepth = 16

func (p *jscan) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// array checks the top-level array of objects and that nothing follows it.
func (p *jscan) array() bool {
	if len(p.s) == 0 || p.s[0] != '[' {
		return false
	}
	p.i = 1
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
	} else {
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '{' || !p.object(1) {
				return false
			}
			p.ws()
			if p.i >= len(p.s) {
				return false
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] != ']' {
				return false
			}
			p.i++
			break
		}
	}
	p.ws()
	return p.i == len(p.s)
}

// object reads the object at p.i (a '{') whose members are at depth.
func (p *jscan) object(depth int) bool {
	if depth > jscanMaxDepth {
		return false
	}
	p.i++
	var keys [16]string
	n := 0
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return true
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return false
		}
		k, ok := p.str()
		if !ok || n == len(keys) {
			return false
		}
		for _, x := range keys[:n] {
			if x == k { // a duplicate key: the general parser keeps the last
				return false
			}
		}
		keys[n] = k
		n++
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return false
		}
		p.i++
		if !p.value(k, depth) {
			return false
		}
		p.ws()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

func (p *jscan) value(key string, depth int) bool {
	p.ws()
	if p.i >= len(p.s) {
		return false
	}
	switch c := p.s[p.i]; {
	case c == '"':
		v, ok := p.str()
		if ok {
			p.seen(key, depth, v)
		}
		return ok
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		if depth+1 > jscanMaxDepth {
			return false
		}
		p.i++
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return true
		}
		for {
			if !p.value(key, depth+1) {
				return false
			}
			p.ws()
			if p.i >= len(p.s) {
				return false
			}
			switch p.s[p.i] {
			case ',':
				p.i++
			case ']':
				p.i++
				return true
			default:
				return false
			}
		}
	case c == 't':
		return p.lit("true")
	case c == 'f':
		return p.lit("false")
	case c == 'n':
		return p.lit("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.num()
	}
	return false
}

func (p *jscan) lit(w string) bool {
	if !strings.HasPrefix(p.s[p.i:], w) {
		return false
	}
	p.i += len(w)
	return true
}

// num takes plain numbers only: an optional minus, at most 15 integer digits without a
// leading zero, an optional fraction of at most 15 digits (no exponent).
func (p *jscan) num() bool {
	if p.s[p.i] == '-' {
		p.i++
	}
	d := p.digits()
	if d == 0 || d > 15 || d > 1 && p.s[p.i-d] == '0' {
		return false
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if d := p.digits(); d == 0 || d > 15 {
			return false
		}
	}
	return p.i >= len(p.s) || p.s[p.i] != 'e' && p.s[p.i] != 'E'
}

func (p *jscan) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// str reads the string at p.i (a '"'): only strings without escapes or control
// characters, valid UTF-8 (the general parser decodes the others).
func (p *jscan) str() (string, bool) {
	for j := p.i + 1; j < len(p.s); j++ {
		switch c := p.s[j]; {
		case c == '"':
			v := p.s[p.i+1 : j]
			if !utf8.ValidString(v) {
				return "", false
			}
			p.i = j + 1
			return v, true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}
