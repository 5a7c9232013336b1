package otlp

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestInflightWaitingLeavesTheHeadroomAndWakesOnRelease(t *testing.T) {
	f := &inflight{max: 100, headroom: 10}
	ctx := context.Background()
	if !f.acquire(95) { // what cannot wait may use the headroom
		t.Fatal("acquire 95 of 100")
	}
	if f.acquireWait(ctx, 1, 0) {
		t.Fatal("a waiting acquisition took the headroom")
	}
	f.release(95)
	if !f.acquireWait(ctx, 90, 0) || f.acquireWait(ctx, 1, 0) || !f.acquire(10) {
		t.Fatalf("at %d", f.cur.Load())
	}
	if f.acquireWait(ctx, 101, time.Hour) { // can never fit: refused at once, no wait
		t.Fatal("101 bytes above the budget of 100")
	}

	// A waiter blocked on a full budget is served by the next release.
	got := make(chan bool)
	go func() { got <- f.acquireWait(ctx, 50, time.Hour) }()
	f.release(60)
	if !<-got || f.cur.Load() != 90 {
		t.Fatalf("waiter not served: at %d", f.cur.Load())
	}
	// Bounded: a wait that no release ends fails, as does a cancelled one.
	if f.acquireWait(ctx, 50, time.Millisecond) {
		t.Fatal("took 50 bytes of a full budget")
	}
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if f.acquireWait(cctx, 50, time.Hour) {
		t.Fatal("took 50 bytes after cancel")
	}
	f.release(90)
	if f.cur.Load() != 0 {
		t.Fatalf("at %d after releasing everything", f.cur.Load())
	}
}

func TestHoldGrowsShrinksAndReleasesOnce(t *testing.T) {
	f := &inflight{max: 100}
	ctx := context.Background()
	h := f.reserve(10)
	if h == nil || !h.resize(ctx, 60, 0) || f.cur.Load() != 60 {
		t.Fatalf("grow: at %d", f.cur.Load())
	}
	if h.resize(ctx, 101, 0) || f.cur.Load() != 60 { // does not fit: the hold keeps its size
		t.Fatalf("failed grow: at %d", f.cur.Load())
	}
	if !h.resize(ctx, 20, 0) || f.cur.Load() != 20 {
		t.Fatalf("shrink: at %d", f.cur.Load())
	}
	other := f.reserve(80)
	// A hold released (its RPC ended) while it waits to grow gives everything back.
	grown := make(chan bool)
	go func() { grown <- h.resize(ctx, 70, time.Hour) }()
	h.release()
	other.release()
	if <-grown || f.cur.Load() != 0 {
		t.Fatalf("grow after release: at %d", f.cur.Load())
	}
	h.release()
	if f.cur.Load() != 0 || h.resize(ctx, 5, 0) {
		t.Fatalf("second release or resize after release: at %d", f.cur.Load())
	}
}

// A request needing more than the budget less the headroom may use the headroom: else it
// would never fit, even alone (R1-2).
func TestInflightRequestAboveTheWaitingLimitUsesTheWholeBudget(t *testing.T) {
	f := &inflight{max: 100, headroom: 10}
	ctx := context.Background()
	if !f.acquire(5) || f.acquireWait(ctx, 96, 0) {
		t.Fatalf("96 with 5 held: at %d", f.cur.Load())
	}
	got := make(chan bool)
	go func() { got <- f.acquireWait(ctx, 95, time.Hour) }()
	f.release(5)
	if !<-got || f.cur.Load() != 95 {
		t.Fatalf("95 of an idle budget of 100: at %d", f.cur.Load())
	}
	f.release(95)
	h, err := f.reserveWait(ctx, 101, time.Hour)
	if h != nil || err != errNeverFits {
		t.Fatalf("reserve 101 of 100: %v", err)
	}
	if h, err = f.reserveWait(ctx, 40, 0); err != nil || h.grow(ctx, 101, 40, time.Hour) != errNeverFits || f.cur.Load() != 40 {
		t.Fatalf("grow to 101 of 100: %v, at %d", err, f.cur.Load())
	}
	if h.grow(ctx, 100, 40, 0) != nil || f.cur.Load() != 100 {
		t.Fatalf("grow to 100 of an otherwise idle 100: at %d", f.cur.Load())
	}
	h.release()
}

// R1-3: a request that must wait to grow gives back what it only reserved and waits
// holding what it really holds; at most one request waits while holding memory, any other
// that would is refused at once (and gives back what it holds, so the first proceeds).
func TestInflightGrowWaitsHoldingOnlyWhatItHoldsAndOneAtATime(t *testing.T) {
	f := &inflight{max: 100}
	ctx := context.Background()
	a, _ := f.reserveWait(ctx, 50, 0) // e.g. a gRPC read's reservation
	b, _ := f.reserveWait(ctx, 30, 0)
	c, _ := f.reserveWait(ctx, 20, 0)
	if a == nil || b == nil || c == nil || f.cur.Load() != 100 {
		t.Fatalf("at %d", f.cur.Load())
	}
	// a holds a 10-byte body and needs 60: no room now, so it waits holding 10 only.
	grown := make(chan error)
	go func() { grown <- a.grow(ctx, 60, 10, time.Hour) }()
	for !f.holding.Load() {
		runtime.Gosched()
	}
	if f.cur.Load() != 60 {
		t.Fatalf("while a waits: at %d, want 60 (a gave back 40)", f.cur.Load())
	}
	// b holds all its 30 and needs 75: a waits already while holding, so b is refused at
	// once rather than wait with it.
	if err := b.grow(ctx, 75, 30, time.Hour); err != errInflight || f.cur.Load() != 60 {
		t.Fatalf("b: %v, at %d", err, f.cur.Load())
	}
	// A request that holds nothing (keep 0) waits like a new one; here it fits at once.
	if err := c.grow(ctx, 30, 0, time.Hour); err != nil || f.cur.Load() != 70 {
		t.Fatalf("c: %v, at %d", err, f.cur.Load())
	}
	b.release() // b refused: a gets its room
	if err := <-grown; err != nil || f.cur.Load() != 90 || f.holding.Load() {
		t.Fatalf("a: %v, at %d", err, f.cur.Load())
	}
	// Shrinking never waits nor fails.
	if a.grow(ctx, 5, 5, time.Hour) != nil || f.cur.Load() != 35 {
		t.Fatalf("shrink: at %d", f.cur.Load())
	}
	a.release()
	c.release()
	if f.cur.Load() != 0 {
		t.Fatalf("at %d after releasing everything", f.cur.Load())
	}
}
