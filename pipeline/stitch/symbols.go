package stitch

import "strings"

// symbols interns the strings of held spans: tenants, teams, features, models, providers,
// span, service and workflow names repeat across spans and traces, so a held span refers
// to each by a small id instead of carrying its own copy.
//
// Invariants:
//   - An entry's refs count the encoded references held by open traces; materialising or
//     dropping a trace releases them. An entry with no reference stays (a later span is
//     likely to name it again) until the table is full, when a sweep frees such entries
//     and their ids are reused.
//   - The table is bounded (maxSymbols entries, maxSymbolBytes of text, strings up to
//     maxSymbolLen): hostile cardinality cannot grow it without limit. A string that does
//     not fit is held inline in its span, which the open-span bound (max_spans) bounds.
//   - The table owns copies of its strings: a held span never keeps a decoded record's
//     buffer alive.
type symbols struct {
	ids     map[string]uint32
	entries []symbol // by id
	free    []uint32 // ids of swept entries, for reuse
	unused  int      // entries with refs == 0 still in ids
	bytes   int      // text held by entries in ids
	// recent remembers, per field, the last string interned and its id: most spans of a
	// stream repeat their neighbours' model, tenant, service..., and a string equal to the
	// last one (often the very same bytes) skips the map.
	recent [fieldCount]recentSym
}

type symbol struct {
	s    string
	refs uint32
}

type recentSym struct {
	s  string
	id uint32
	ok bool
}

// The table's bounds. At most ~12 MB however hostile the input (entries, map and text).
const (
	maxSymbols     = 1 << 16
	maxSymbolBytes = 4 << 20
	maxSymbolLen   = 256
)

func newSymbols() *symbols {
	return &symbols{ids: make(map[string]uint32)}
}

// ref takes a reference to s for field f and returns its id, or false when s is not
// interned (too long, or the table is full of referenced strings).
func (t *symbols) ref(f field, s string) (uint32, bool) {
	if r := &t.recent[f]; r.ok && r.s == s {
		t.take(r.id)
		return r.id, true
	}
	id, ok := t.ids[s]
	if !ok {
		if id, ok = t.add(s); !ok {
			return 0, false
		}
	}
	t.take(id)
	t.recent[f] = recentSym{s: t.entries[id].s, id: id, ok: true}
	return id, true
}

func (t *symbols) take(id uint32) {
	e := &t.entries[id]
	if e.refs == 0 {
		t.unused--
	}
	e.refs++
}

// add enters s with no reference yet (counted unused until take).
func (t *symbols) add(s string) (uint32, bool) {
	if len(s) > maxSymbolLen {
		return 0, false
	}
	if len(t.ids) >= maxSymbols || t.bytes+len(s) > maxSymbolBytes {
		// Sweep only when it frees at least an eighth of the table, so sweeping costs
		// O(1) per string added however the table is used.
		if t.unused == 0 || t.unused < len(t.ids)/8 {
			return 0, false
		}
		t.sweep()
		if len(t.ids) >= maxSymbols || t.bytes+len(s) > maxSymbolBytes {
			return 0, false
		}
	}
	s = strings.Clone(s) // own a copy: s may alias a record's buffer
	var id uint32
	if n := len(t.free); n > 0 {
		id, t.free = t.free[n-1], t.free[:n-1]
		t.entries[id] = symbol{s: s}
	} else {
		id = uint32(len(t.entries))
		t.entries = append(t.entries, symbol{s: s})
	}
	t.ids[s] = id
	t.bytes += len(s)
	t.unused++
	return id, true
}

// release drops a reference to id and returns its string.
func (t *symbols) release(id uint32) string {
	e := &t.entries[id]
	e.refs--
	if e.refs == 0 {
		t.unused++
	}
	return e.s
}

// sweep frees every entry no open span refers to.
func (t *symbols) sweep() {
	for id := range t.entries {
		e := &t.entries[id]
		if e.refs != 0 || e.s == "" {
			continue
		}
		delete(t.ids, e.s)
		t.bytes -= len(e.s)
		*e = symbol{}
		t.free = append(t.free, uint32(id))
	}
	t.unused = 0
	t.recent = [fieldCount]recentSym{}
}

// len is the number of strings in the table (referenced or not).
func (t *symbols) len() int { return len(t.ids) }
