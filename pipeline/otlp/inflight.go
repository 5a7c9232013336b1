package otlp

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// inflight counts the bytes held by requests being served. A request that does not fit
// waits for room a bounded time (ReceiverConfig.InflightWait) and is then refused, so
// overload answers 503 / UNAVAILABLE within a bounded time instead of growing the heap,
// while a short crowd of reads (many exports arriving together) is served in turn rather
// than refused.
type inflight struct {
	max int64
	// headroom is kept out of reach of waiting acquisitions, for the ones that cannot
	// wait (the gRPC tap's stream windows): reads filling the budget must not get new
	// streams refused.
	headroom int64
	cur      atomic.Int64

	mu sync.Mutex
	// freed is closed (and cleared) by the next release once a waiter has asked for it.
	freed chan struct{}
}

// acquire takes n bytes if they fit under the limit, at once (it never waits).
func (f *inflight) acquire(n int64) bool { return f.take(n, f.max) }

// take takes n bytes if the total stays within limit.
func (f *inflight) take(n, limit int64) bool {
	if n <= 0 {
		f.release(-n)
		return true
	}
	for {
		cur := f.cur.Load()
		if cur+n > limit {
			return false
		}
		if f.cur.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

// acquireWait takes n bytes, waiting for releases up to wait (or until ctx ends) when
// they do not fit now, the headroom excepted. It holds nothing while it waits.
func (f *inflight) acquireWait(ctx context.Context, n int64, wait time.Duration) bool {
	limit := f.max - f.headroom
	if f.take(n, limit) {
		return true
	}
	if n > limit || wait <= 0 {
		return false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		f.mu.Lock()
		if f.freed == nil {
			f.freed = make(chan struct{})
		}
		freed := f.freed
		f.mu.Unlock()
		// Checked after taking the channel: a release before this point is seen by the
		// check, one after it closes the channel.
		if f.take(n, limit) {
			return true
		}
		select {
		case <-freed:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// release gives n bytes back and wakes the waiters, which try again.
func (f *inflight) release(n int64) {
	if n == 0 {
		return
	}
	f.cur.Add(-n)
	f.mu.Lock()
	if f.freed != nil {
		close(f.freed)
		f.freed = nil
	}
	f.mu.Unlock()
}

// hold is one request's share of the budget: taken before anything of the request is
// read, resized as its real needs become known, released once. Only the request's own
// goroutine resizes it; release may come from another (the end of a gRPC stream).
type hold struct {
	f    *inflight
	mu   sync.Mutex
	n    int64
	done bool
}

// reserve takes n bytes for a new request at once, or returns nil when they do not fit.
func (f *inflight) reserve(n int64) *hold {
	if !f.acquire(n) {
		return nil
	}
	return &hold{f: f, n: n}
}

// reserveWait takes n bytes for a new request, waiting as acquireWait does.
func (f *inflight) reserveWait(ctx context.Context, n int64, wait time.Duration) *hold {
	if !f.acquireWait(ctx, n, wait) {
		return nil
	}
	return &hold{f: f, n: n}
}

// resize makes the hold n bytes: shrinking always succeeds; growing waits for room as
// acquireWait does, holding meanwhile what the hold has (the hold keeps its size if
// the room does not come, and the caller refuses the request).
func (h *hold) resize(ctx context.Context, n int64, wait time.Duration) bool {
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return false
	}
	grow := n - h.n
	if grow <= 0 {
		h.f.release(-grow)
		h.n = n
		h.mu.Unlock()
		return true
	}
	h.mu.Unlock()
	if !h.f.acquireWait(ctx, grow, wait) {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done { // released while waiting: the RPC ended
		h.f.release(grow)
		return false
	}
	h.n += grow
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
// before the first buffers are freed. The handler holds this much of the largest message
// while it reads one (its size is not known before gRPC has read it whole).
const grpcReadFactor = 2

// grpcStreamWindow is the HTTP/2 flow-control window of every gRPC stream (static:
// grpc-go's window estimation is off): the most a stream's data can occupy in the
// transport before its handler reads the message, which the tap reserves. It is gRPC's
// smallest window, so that a crowd of streams reserves little; a longer message flows
// once the handler reads it (grpc-go then opens the window to the message's length).
const grpcStreamWindow = 64 << 10

// grpcConnWindow is the connection's flow-control window. grpc-go acknowledges
// connection-level data as it arrives, whether or not a handler read it, so this window
// bounds no memory (the stream windows do); it is as large as grpc-go's own estimation
// lets it grow, so that many streams of one connection send at once.
const grpcConnWindow = 16 << 20

// decodedCost is what a request of size bytes and values values holds once decoded,
// besides its body: pdata copies every string out of the body (size) and allocates about
// ValueCost per value.
func decodedCost(size int, values int) int64 {
	return int64(size) + int64(values)*ValueCost
}
