package pricing

import (
	"hash/maphash"
	"sync"
)

// countMemoCap bounds the remembered counts; when full the memo starts over.
const countMemoCap = 8192

// countMemoMin is the shortest text remembered. Every non-empty text is: a short text
// costs tiktoken-go a few microseconds and a dozen allocations (its regexp2 pre-split),
// a memo hit two hashes and a map lookup, and short texts (a system prompt, a canned
// question, a tool name) repeat as much as long ones.
const countMemoMin = 1

type countKey struct {
	enc    uint8
	n      int
	h1, h2 uint64
}

// countMemo remembers token counts of texts seen before. Captured content repeats -
// system instructions on every call of an agent, the same retrieved documents, the
// conversation history resent each turn - and BPE encoding was a fifth of the processing
// core's time. Texts are keyed by two independent 64-bit hashes and their length (a
// false match is beyond any practical chance) and are never kept. Safe for concurrent use.
type countMemo struct {
	once   sync.Once
	s1, s2 maphash.Seed
	mu     sync.Mutex
	m      map[countKey]uint64
}

func (c *countMemo) count(enc uint8, text string, encode func(string) uint64) uint64 {
	if len(text) < countMemoMin {
		return encode(text)
	}
	c.once.Do(func() { c.s1, c.s2, c.m = maphash.MakeSeed(), maphash.MakeSeed(), map[countKey]uint64{} })
	k := countKey{enc: enc, n: len(text), h1: maphash.String(c.s1, text), h2: maphash.String(c.s2, text)}
	c.mu.Lock()
	n, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return n
	}
	n = encode(text)
	c.mu.Lock()
	if len(c.m) >= countMemoCap {
		clear(c.m)
	}
	c.m[k] = n
	c.mu.Unlock()
	return n
}
