package otlp

import (
	"context"
	"errors"
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
	// holding is set while a request waits for more room holding memory it cannot give
	// back (a body it has read). At most one does: others in that case are refused at
	// once, giving back what they hold, so that a crowd of part-read or read requests
	// cannot fill the budget and all wait for each other until all are refused.
	holding atomic.Bool
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

// errNeverFits is a request whose needs exceed ingest.max_inflight_bytes: it would not fit
// even on an idle receiver, so it is refused for what it is (413 / RESOURCE_EXHAUSTED
// without a retry hint), not as a transient overload.
var errNeverFits = errors.New("request needs more memory than ingest.max_inflight_bytes once decoded; send smaller batches")

// limitFor is what a waiting acquisition that brings its request's hold to total bytes
// may bring the budget's total to: the budget less the tap's headroom, unless the request
// alone needs more than that, when it may use the whole budget (else it could never be
// served, even on an idle receiver, and would be refused with a retry hint forever).
func (f *inflight) limitFor(total int64) int64 {
	if total <= f.max-f.headroom {
		return f.max - f.headroom
	}
	return f.max
}

// acquireWait takes n bytes for a request that holds nothing else, waiting for releases
// up to wait (or until ctx ends) when they do not fit now, the headroom excepted (see
// limitFor). It holds nothing while it waits. n above the whole budget is refused at once.
func (f *inflight) acquireWait(ctx context.Context, n int64, wait time.Duration) bool {
	return f.waitTake(ctx, n, f.limitFor(n), wait)
}

// waitTake takes n bytes within limit, waiting for releases up to wait (or until ctx ends).
func (f *inflight) waitTake(ctx context.Context, n, limit int64, wait time.Duration) bool {
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

// reserveWait takes n bytes for a new request, waiting as acquireWait does (holding
// nothing meanwhile). It fails with errNeverFits when n exceeds the whole budget, else
// with errInflight when no room came in time.
func (f *inflight) reserveWait(ctx context.Context, n int64, wait time.Duration) (*hold, error) {
	if n > f.max {
		return nil, errNeverFits
	}
	if !f.acquireWait(ctx, n, wait) {
		return nil, errInflight
	}
	return &hold{f: f, n: n}, nil
}

// resize makes the hold n bytes: shrinking always succeeds; growing waits for room as
// acquireWait does, holding meanwhile what the hold has (the hold keeps its size if
// the room does not come, and the caller refuses the request). Only for holds that are
// no more than a stream window (the headroom covers those): a request that holds memory
// of its own grows with grow.
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
	if !h.f.waitTake(ctx, grow, h.f.limitFor(n), wait) {
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

// grow makes the hold n bytes for a request that really holds keep of the hold's bytes
// (keep <= the hold's size; the rest is reserved, not allocated). What fits at once is
// taken at once. Otherwise the hold first gives back all but keep, and then waits, as
// acquireWait does, for the rest: with keep == 0 (nothing held) like any new request;
// with keep > 0 only if no other request is waiting while holding memory, else it fails
// at once (errInflight), so that its caller refuses it and gives back what it holds. It
// fails with errNeverFits, at once, when n exceeds the whole budget. On failure the hold
// is left at keep bytes or more, and the caller refuses the request.
func (h *hold) grow(ctx context.Context, n, keep int64, wait time.Duration) error {
	f := h.f
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		return errInflight
	}
	if n <= h.n {
		f.release(h.n - n)
		h.n = n
		h.mu.Unlock()
		return nil
	}
	if n > f.max {
		h.mu.Unlock()
		return errNeverFits
	}
	if f.take(n-h.n, f.limitFor(n)) {
		h.n = n
		h.mu.Unlock()
		return nil
	}
	if keep < h.n {
		f.release(h.n - keep)
		h.n = keep
	}
	more := n - h.n
	h.mu.Unlock()
	if keep > 0 {
		if !f.holding.CompareAndSwap(false, true) {
			return errInflight
		}
		defer f.holding.Store(false)
	}
	if !f.waitTake(ctx, more, f.limitFor(n), wait) {
		return errInflight
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done { // released while waiting: the RPC ended
		f.release(more)
		return errInflight
	}
	h.n += more
	return nil
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
