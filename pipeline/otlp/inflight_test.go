package otlp

import (
	"context"
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
	if f.acquireWait(ctx, 91, time.Hour) { // can never fit: refused at once, no wait
		t.Fatal("91 bytes above the waiting limit of 90")
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
