package pricing

import "sync"

// memoCap bounds the memo: spans name a handful of (provider, model) pairs, but the
// names come from outside, so a flood of distinct ones must not grow memory.
const memoCap = 4096

type memoKey struct{ provider, model string }

type memoVal struct {
	m  *Model
	ok bool
}

// lookupMemo remembers model lookups: resolving an id runs several regular expressions
// (snapshot suffixes, cloud paths) and was a tenth of the processing core's time per
// span. A book is immutable once indexed, so an answer never goes stale. Safe for
// concurrent use.
type lookupMemo struct {
	mu sync.RWMutex
	m  map[memoKey]memoVal
}

func newLookupMemo() *lookupMemo { return &lookupMemo{m: map[memoKey]memoVal{}} }

func (c *lookupMemo) get(provider, model string, resolve func(string, string) (*Model, bool)) (*Model, bool) {
	k := memoKey{provider, model}
	c.mu.RLock()
	v, hit := c.m[k]
	c.mu.RUnlock()
	if hit {
		return v.m, v.ok
	}
	v.m, v.ok = resolve(provider, model)
	c.mu.Lock()
	if len(c.m) < memoCap {
		// Cloned keys: the span's strings may alias a record buffer the memo must not pin.
		c.m[memoKey{cloneString(provider), cloneString(model)}] = v
	}
	c.mu.Unlock()
	return v.m, v.ok
}

func cloneString(s string) string { return string(append([]byte(nil), s...)) }
