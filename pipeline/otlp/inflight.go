package otlp

import (
	"context"
	"sync"
	"sync/atomic"
)

// inflight counts the bytes held by requests being served and refuses (never waits for)
// what does not fit, so overload answers 503 / UNAVAILABLE at once instead of growing the
// heap.
type inflight struct {
	max int64
	cur atomic.Int64
}

// acquire takes n bytes if they fit under the limit.
func (f *inflight) acquire(n int64) bool {
	if n <= 0 {
		f.cur.Add(n)
		return true
	}
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

// hold is one request's share of the budget: taken in full before anything of the
// request is read, resized as its real size becomes known, released once.
type hold struct {
	f    *inflight
	mu   sync.Mutex
	n    int64
	done bool
}

// reserve takes n bytes for a new request, or nil when they do not fit.
func (f *inflight) reserve(n int64) *hold {
	if !f.acquire(n) {
		return nil
	}
	return &hold{f: f, n: n}
}

// resize makes the hold n bytes: shrinking always succeeds, growing only if the budget
// has room (the hold keeps its size otherwise).
func (h *hold) resize(n int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return false
	}
	if !h.f.acquire(n - h.n) {
		return false
	}
	h.n = n
	return true
}

// release gives the hold back. Idempotent.
func (h *hold) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.done {
		h.done = true
		h.f.release(h.n)
	}
}

type holdKey struct{}

func withHold(ctx context.Context, h *hold) context.Context {
	return context.WithValue(ctx, holdKey{}, h)
}

func holdOf(ctx context.Context) *hold {
	h, _ := ctx.Value(holdKey{}).(*hold)
	return h
}

// grpcReadFactor is how many times its size one gRPC message may hold while it is read:
// grpc-go gathers the message from the transport's buffers (or, compressed, from the
// compressed buffers into decompressed ones) and the codec copies it into one slice
// before the first buffers are freed. The tap reserves this much of the largest message
// before a byte of it is read.
const grpcReadFactor = 2

// decodedCost is what a request of size bytes and values values holds once decoded,
// besides its body: pdata copies every string out of the body (size) and allocates about
// ValueCost per value.
func decodedCost(size int, values int) int64 {
	return int64(size) + int64(values)*ValueCost
}
