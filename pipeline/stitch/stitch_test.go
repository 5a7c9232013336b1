package stitch_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// genTrace builds a trace: a root, children, and (sometimes) a marked sub-tree workflow
// whose descendants belong to it. want maps each span to its workflow id.
func genTrace(rng *rand.Rand, n int) ([]*pipeline.Span, map[pipeline.SpanID]string) {
	var tid pipeline.TraceID
	for i := range tid {
		tid[i] = byte(rng.IntN(256))
	}
	tid[0] |= 1
	mk := func(i int, parent *pipeline.Span) *pipeline.Span {
		sp := &pipeline.Span{TraceID: tid}
		sp.SpanID[0], sp.SpanID[1] = byte(i), byte(i>>8)
		sp.SpanID[7] = 1
		if parent != nil {
			sp.ParentSpanID = parent.SpanID
		} else {
			sp.WorkflowRoot = true
		}
		return sp
	}
	root := mk(0, nil)
	spans := []*pipeline.Span{root}
	want := map[pipeline.SpanID]string{root.SpanID: tid.String()}
	for i := 1; i < n; i++ {
		parent := spans[rng.IntN(len(spans))]
		sp := mk(i, parent)
		if rng.IntN(8) == 0 {
			sp.WorkflowRoot = true
			want[sp.SpanID] = tid.String() + "/" + sp.SpanID.String()
		} else {
			want[sp.SpanID] = want[parent.SpanID]
		}
		spans = append(spans, sp)
	}
	return spans, want
}

type arrival struct {
	sp     *pipeline.Span
	offset int64
	part   stitch.Partition
}

type key struct {
	t pipeline.TraceID
	s pipeline.SpanID
}

// Whatever the arrival order, duplication and close timing (quiet period, max open,
// eviction at the bounds), every span comes out of the stitcher; it is assigned to the
// workflow of its nearest workflow-root ancestor, or - only when that ancestor's
// incarnation was not seen by its own - to the trace-level workflow, never to any other;
// in traces without sub-tree workflows the assignment is always exact; and the watermark
// never passes a span still held.
func TestPropertyShuffledDuplicatedLate(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 200; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 99))
			want := map[key]string{}
			var arrivals []arrival
			subtrees := map[pipeline.TraceID]bool{}
			for i := 0; i < 1+rng.IntN(12); i++ {
				spans, w := genTrace(rng, 1+rng.IntN(20))
				part := stitch.Partition{Topic: "t", Partition: int32(rng.IntN(3))}
				for _, sp := range spans {
					want[key{sp.TraceID, sp.SpanID}] = w[sp.SpanID]
					if w[sp.SpanID] != sp.TraceID.String() {
						subtrees[sp.TraceID] = true
					}
					arrivals = append(arrivals, arrival{sp: sp, part: part})
					if rng.IntN(10) == 0 { // duplicated delivery
						arrivals = append(arrivals, arrival{sp: sp, part: part})
					}
				}
			}
			rng.Shuffle(len(arrivals), func(i, j int) { arrivals[i], arrivals[j] = arrivals[j], arrivals[i] })
			// Offsets are per partition, increasing in arrival order.
			next := map[stitch.Partition]int64{}
			for i := range arrivals {
				arrivals[i].offset = next[arrivals[i].part]
				next[arrivals[i].part]++
			}

			cfg := stitch.Config{QuietPeriod: 200 * time.Millisecond, MaxOpen: 2 * time.Second, MaxTraces: 1 + rng.IntN(6), MaxSpans: 5 + rng.IntN(60)}
			s := stitch.New(cfg)
			now := time.Unix(0, 0)
			got := map[key]string{}
			held := map[stitch.Partition]map[int64]int{} // offsets of spans in open traces
			take := func(closed []*stitch.Trace) {
				for _, tr := range closed {
					assign, roots := tr.Assign()
					for i, sp := range tr.Spans {
						got[key{sp.TraceID, sp.SpanID}] = assign[sp.SpanID]
						if held[tr.Partition][tr.Offsets[i]]--; held[tr.Partition][tr.Offsets[i]] == 0 {
							delete(held[tr.Partition], tr.Offsets[i])
						}
					}
					for _, r := range roots {
						if !r.WorkflowRoot {
							t.Fatalf("non-root returned as root")
						}
					}
					s.Remember(tr, assign, nil)
				}
			}
			for _, a := range arrivals {
				now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
				if held[a.part] == nil {
					held[a.part] = map[int64]int{}
				}
				held[a.part][a.offset]++
				take(s.Add(a.part, a.offset, a.sp, now))
				if rng.IntN(3) == 0 {
					take(s.Due(now, false))
				}
				for p, w := range s.Watermarks() {
					for off := range held[p] {
						if off < w {
							t.Fatalf("watermark %d of %v passes held offset %d", w, p, off)
						}
					}
				}
				st := s.Stats()
				if st.OpenTraces > cfg.MaxTraces || st.OpenSpans > cfg.MaxSpans+0 {
					t.Fatalf("bounds exceeded: %+v with %+v", st, cfg)
				}
			}
			take(s.Due(now, true))
			if st := s.Stats(); st.OpenTraces != 0 || st.OpenSpans != 0 {
				t.Fatalf("open after force: %+v", st)
			}
			if len(got) != len(want) {
				t.Fatalf("%d spans came out, %d went in", len(got), len(want))
			}
			for k, w := range want {
				g := got[k]
				if g == w {
					continue
				}
				if g != k.t.String() || !subtrees[k.t] {
					t.Errorf("span %s/%s assigned to %s, want %s", k.t, k.s, g, w)
				}
			}
		})
	}
}

func TestCloseRules(t *testing.T) {
	t.Parallel()
	s := stitch.New(stitch.Config{QuietPeriod: time.Second, MaxOpen: time.Minute, OrphanQuiet: 40 * time.Second})
	p := stitch.Partition{Topic: "t"}
	t0 := time.Unix(100, 0)
	child := &pipeline.Span{TraceID: pipeline.TraceID{1}, SpanID: pipeline.SpanID{2}, ParentSpanID: pipeline.SpanID{1}}
	root := &pipeline.Span{TraceID: pipeline.TraceID{1}, SpanID: pipeline.SpanID{1}, WorkflowRoot: true}
	s.Add(p, 5, child, t0)
	if got := s.Due(t0.Add(30*time.Second), false); len(got) != 0 {
		t.Fatal("a trace without its root must wait up to max_open")
	}
	s.Add(p, 6, root, t0.Add(30*time.Second))
	if got := s.Due(t0.Add(30*time.Second+999*time.Millisecond), false); len(got) != 0 {
		t.Fatal("closed before the quiet period")
	}
	if w := s.Watermarks()[p]; w != 5 {
		t.Fatalf("watermark %d, want 5", w)
	}
	if st := s.Stats(); !st.OldestFirstSeen.Equal(t0) || st.OpenSpans != 2 {
		t.Fatalf("oldest open %v, spans %d", st.OldestFirstSeen, st.OpenSpans)
	}
	got := s.Due(t0.Add(31*time.Second), false)
	if len(got) != 1 || len(got[0].Spans) != 2 || got[0].Reason != stitch.ClosedQuiet || got[0].Late {
		t.Fatalf("got %+v", got)
	}
	s.Remember(got[0], map[pipeline.SpanID]string{root.SpanID: "wf", child.SpanID: "wf"}, map[string]stitch.Labels{"wf": {Tenant: "acme"}})
	// A review hours later: a late incarnation that knows its workflow and labels.
	review := &pipeline.Span{TraceID: pipeline.TraceID{1}, SpanID: pipeline.SpanID{3}, ParentSpanID: root.SpanID}
	s.Add(p, 900, review, t0.Add(3*time.Hour))
	late := s.Due(t0.Add(3*time.Hour+time.Second), false)
	if len(late) != 1 || !late[0].Late || late[0].KnownLabels["wf"].Tenant != "acme" {
		t.Fatalf("late: %+v", late)
	}
	if a, _ := late[0].Assign(); a[review.SpanID] != "wf" {
		t.Fatalf("late span assigned to %q", a[review.SpanID])
	}
	if st := s.Stats(); st.LateSpans != 1 || st.Corrections != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Orphan without root: closed by max_open, counted.
	orphan := &pipeline.Span{TraceID: pipeline.TraceID{7}, SpanID: pipeline.SpanID{1}, ParentSpanID: pipeline.SpanID{9}}
	s.Add(p, 901, orphan, t0)
	if got := s.Due(t0.Add(39*time.Second), false); len(got) != 0 {
		t.Fatalf("orphan closed before orphan_quiet: %+v", got)
	}
	if got := s.Due(t0.Add(40*time.Second), false); len(got) != 1 || got[0].Reason != stitch.ClosedOrphan || s.Stats().Orphans != 1 {
		t.Fatalf("orphan: %+v %+v", got, s.Stats())
	}
	// A rootless trace that keeps receiving spans still closes at max_open.
	for i := 0; i <= 60; i += 20 {
		s.Add(p, 902+int64(i), &pipeline.Span{TraceID: pipeline.TraceID{8}, SpanID: pipeline.SpanID{byte(i + 1)}, ParentSpanID: pipeline.SpanID{9}}, t0.Add(time.Duration(i)*time.Second))
	}
	if got := s.Due(t0.Add(60*time.Second), false); len(got) != 1 || got[0].Reason != stitch.ClosedMaxOpen || s.Stats().MaxOpened != 1 {
		t.Fatalf("max open: %+v %+v", got, s.Stats())
	}
}

func TestDropPartitions(t *testing.T) {
	t.Parallel()
	s := stitch.New(stitch.Config{})
	a, b := stitch.Partition{Topic: "t", Partition: 0}, stitch.Partition{Topic: "t", Partition: 1}
	s.Add(a, 1, &pipeline.Span{TraceID: pipeline.TraceID{1}, SpanID: pipeline.SpanID{1}}, time.Unix(0, 0))
	s.Add(b, 1, &pipeline.Span{TraceID: pipeline.TraceID{2}, SpanID: pipeline.SpanID{1}}, time.Unix(0, 0))
	s.DropPartitions(map[stitch.Partition]bool{a: true})
	if st := s.Stats(); st.OpenTraces != 1 || st.OpenSpans != 1 {
		t.Fatalf("stats %+v", st)
	}
	if _, ok := s.Watermarks()[a]; ok {
		t.Fatal("dropped partition still has a watermark")
	}
}

// BenchmarkStitch adds spans of 8-span traces, closing what is due every 1,000 spans and
// assigning its workflows. Each cycle through the generated spans gives them new trace
// ids, so its traces are new ones, not late corrections of the previous cycle's.
func BenchmarkStitch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var spans []*pipeline.Span
	for len(spans) < 100_000 {
		ts, _ := genTrace(rng, 8)
		spans = append(spans, ts...)
	}
	s := stitch.New(stitch.Config{QuietPeriod: time.Millisecond})
	p := stitch.Partition{Topic: "t"}
	now := time.Unix(0, 0)
	b.ReportAllocs()
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		if i > 0 && i%len(spans) == 0 {
			for _, sp := range spans {
				sp.TraceID[15]++
			}
		}
		sp := spans[i%len(spans)]
		s.Add(p, int64(i), sp, now)
		i++
		if i%1000 == 0 {
			now = now.Add(10 * time.Millisecond)
			for _, tr := range s.Due(now, false) {
				tr.Workflows()
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/span")
	// CPU time of the whole process (the GC's included) per span: on a shared machine
	// the honest figure, where wall time counts other jobs' load.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/span")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOpenSpanMemory reports the heap bytes the stitcher holds per open span: the
// span in its held (encoded) form, with realistic label strings, plus the stitcher's
// bookkeeping. The stitcher copies what it holds, so the spans added are not counted. The
// process figure (unitcost-bench's memory step, BENCHMARKS.md) is the one to size
// process.stitch.max_spans by.
func BenchmarkOpenSpanMemory(b *testing.B) {
	const n = 200_000
	for b.Loop() {
		rng := rand.New(rand.NewPCG(3, 4))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := stitch.New(stitch.Config{MaxSpans: 2 * n, MaxTraces: n})
		p := stitch.Partition{Topic: "t"}
		now := time.Unix(0, 0)
		for i := 0; i < n; {
			spans, _ := genTrace(rng, 8)
			for _, sp := range spans {
				sp.Name = "chat claude-sonnet-4-5"
				sp.Provider, sp.Model = "anthropic", "claude-sonnet-4-5-20250929"
				sp.Tenant, sp.Team, sp.Feature = "acme", "support", "answers"
				s.Add(p, int64(i), sp, now)
				i++
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/open-span")
		runtime.KeepAlive(s)
	}
}

// Spans of two authenticated tenants with the same trace id are two traces: tenant A's
// spans never join tenant B's open trace, nor its remembered (closed) one, and neither
// inherits the other's workflow assignment or labels.
func TestTenantsNeverShareATrace(t *testing.T) {
	t.Parallel()
	s := stitch.New(stitch.Config{QuietPeriod: time.Second})
	p := stitch.Partition{Topic: "spans"}
	now := time.Unix(1_700_000_000, 0)
	mk := func(tenant string, id, parent byte, root bool) *pipeline.Span {
		sp := &pipeline.Span{AuthTenant: tenant, Tenant: tenant, TraceID: pipeline.TraceID{7}, WorkflowRoot: root, Team: tenant + "-team"}
		sp.SpanID[7], sp.ParentSpanID[7] = id, parent
		return sp
	}
	s.Add(p, 0, mk("globex", 1, 0, true), now)
	s.Add(p, 1, mk("globex", 2, 1, false), now)
	s.Add(p, 2, mk("acme", 3, 1, false), now) // acme's span naming globex's root as parent
	if st := s.Stats(); st.OpenTraces != 2 || st.OpenSpans != 3 {
		t.Fatalf("%d open traces, %d spans; want 2 traces (one per tenant), 3 spans", st.OpenTraces, st.OpenSpans)
	}
	closed := s.Due(now.Add(time.Hour), false)
	if len(closed) != 2 {
		t.Fatalf("%d traces closed, want 2", len(closed))
	}
	for _, tr := range closed {
		assign, roots := tr.Assign()
		for _, sp := range tr.Spans {
			if sp.AuthTenant != tr.AuthTenant {
				t.Fatalf("trace of %q holds a span of %q", tr.AuthTenant, sp.AuthTenant)
			}
		}
		labels := map[string]stitch.Labels{}
		for _, r := range roots {
			labels[stitch.WorkflowID(tr.TraceID, r)] = stitch.Labels{Tenant: r.Tenant, Team: r.Team}
		}
		s.Remember(tr, assign, labels)
	}
	// A late span of acme for the same trace: it joins acme's remembered incarnation,
	// which knows none of globex's spans or labels.
	s.Add(p, 3, mk("acme", 4, 1, false), now.Add(2*time.Hour))
	late := s.Due(now.Add(3*time.Hour), false)
	if len(late) != 1 || !late[0].Late || late[0].AuthTenant != "acme" {
		t.Fatalf("late incarnation %+v", late)
	}
	if l, ok := late[0].KnownLabels[pipeline.TraceID{7}.String()]; ok {
		t.Fatalf("acme's late span sees globex's workflow labels %+v", l)
	}
	// And globex's late span joins globex's, with its root's labels.
	s.Add(p, 4, mk("globex", 5, 1, false), now.Add(2*time.Hour))
	late = s.Due(now.Add(3*time.Hour), false)
	if len(late) != 1 || late[0].AuthTenant != "globex" || late[0].KnownLabels[pipeline.TraceID{7}.String()].Team != "globex-team" {
		t.Fatalf("globex's late incarnation %+v", late[0])
	}
}
