package otlp

import "sync/atomic"

// inflight counts the bytes held by requests being served and refuses (never waits for)
// what does not fit, so overload answers 503 at once instead of growing the heap.
type inflight struct {
	max int64
	cur atomic.Int64
}

// acquire takes n bytes if they fit under the limit.
func (f *inflight) acquire(n int64) bool {
	for {
		cur := f.cur.Load()
		if cur+n > f.max {
			return false
		}
		if f.cur.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (f *inflight) release(n int64) { f.cur.Add(-n) }

// admissionBytes is the least a new request needs (the first read buffer): with less
// left, gRPC refuses a new export in the transport tap, before reading its message.
const admissionBytes = 64 << 10

// full reports whether a new request cannot even start.
func (f *inflight) full() bool { return f.max-f.cur.Load() < admissionBytes }
