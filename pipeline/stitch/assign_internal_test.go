package stitch

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/unitcost/unitcost/pipeline"
)

// referenceAssign is Assign as it was before Workflows (a map per trace, the parent as the
// last span of its id, the memo by span id): Workflows must give exactly its answer.
func referenceAssign(t *Trace) (map[pipeline.SpanID]string, []*pipeline.Span) {
	byID := make(map[pipeline.SpanID]*pipeline.Span, len(t.Spans))
	for _, sp := range t.Spans {
		byID[sp.SpanID] = sp
	}
	assign := make(map[pipeline.SpanID]string, len(t.Spans))
	var roots []*pipeline.Span
	var resolve func(sp *pipeline.Span, depth int) string
	resolve = func(sp *pipeline.Span, depth int) string {
		if id, ok := assign[sp.SpanID]; ok {
			return id
		}
		var id string
		switch {
		case sp.WorkflowRoot:
			id = WorkflowID(t.TraceID, sp)
		case depth > 256:
			id = t.TraceID.String()
		default:
			if p, ok := byID[sp.ParentSpanID]; ok && p != sp {
				id = resolve(p, depth+1)
			} else if known, ok := t.known[sp.ParentSpanID]; ok {
				id = known
			} else {
				id = t.TraceID.String()
			}
		}
		assign[sp.SpanID] = id
		return id
	}
	for _, sp := range t.Spans {
		resolve(sp, 0)
		if sp.WorkflowRoot {
			roots = append(roots, sp)
		}
	}
	return assign, roots
}

// Workflows (and Assign over it) equal the reference on random traces of both sizes
// (linear scans up to smallTrace spans, maps above) with what malformed or redelivered
// input brings: span ids given twice with different parents and root marks, parent
// cycles, self-parents, unknown parents, parents known from an earlier incarnation.
func TestWorkflowsEqualReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 3000; trial++ {
		n := 1 + rng.IntN(8)
		if trial%3 == 0 {
			n = smallTrace - 2 + rng.IntN(40)
		}
		ids := 1 + rng.IntN(n+1) // fewer ids than spans: duplicates
		tr := &Trace{TraceID: pipeline.TraceID{byte(trial), 7, 1}}
		if rng.IntN(3) == 0 {
			tr.known = map[pipeline.SpanID]string{{0xee}: "earlier/wf", {byte(rng.IntN(ids))}: "earlier/other"}
		}
		for i := 0; i < n; i++ {
			sp := &pipeline.Span{TraceID: tr.TraceID, SpanID: pipeline.SpanID{byte(rng.IntN(ids)), 0, 0, 0, 0, 0, 0, 1}}
			switch rng.IntN(6) {
			case 0: // no parent
			case 1:
				sp.ParentSpanID = pipeline.SpanID{0xee} // unknown here; maybe known earlier
			default:
				sp.ParentSpanID = pipeline.SpanID{byte(rng.IntN(ids)), 0, 0, 0, 0, 0, 0, 1}
			}
			sp.WorkflowRoot = sp.ParentSpanID.IsZero() || rng.IntN(7) == 0
			tr.Spans = append(tr.Spans, sp)
		}
		wantAssign, wantRoots := referenceAssign(tr)
		traceWID, sub, roots := tr.Workflows()
		if traceWID != tr.TraceID.String() || !reflect.DeepEqual(roots, wantRoots) {
			t.Fatalf("trial %d: trace workflow %q, roots %v; want %v", trial, traceWID, roots, wantRoots)
		}
		for id, wid := range wantAssign {
			got, ok := sub[id]
			if !ok {
				got = traceWID
			}
			if got != wid || ok && wid == traceWID {
				t.Fatalf("trial %d: span %s in %q (in sub: %v), want %q", trial, id, got, ok, wid)
			}
		}
		if len(sub) > len(wantAssign) {
			t.Fatalf("trial %d: %d sub-tree entries for %d span ids", trial, len(sub), len(wantAssign))
		}
		if got, _ := tr.Assign(); !reflect.DeepEqual(got, wantAssign) {
			t.Fatalf("trial %d: Assign %v, want %v", trial, got, wantAssign)
		}
	}
}
