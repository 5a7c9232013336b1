package stitch

import (
	"github.com/unitcost/unitcost/pipeline"
)

// WorkflowID is the id of the workflow rooted at span root of trace t: the trace id for a
// trace's root span, trace id "/" span id for a marked sub-tree.
func WorkflowID(t pipeline.TraceID, root *pipeline.Span) string {
	if root.ParentSpanID.IsZero() {
		return t.String()
	}
	return t.String() + "/" + root.SpanID.String()
}

// Assign maps every span of the incarnation to the workflow it belongs to: the nearest
// ancestor-or-self that roots a workflow. A span whose ancestry is not known (its parent
// is in no incarnation seen) belongs to the trace-level workflow, whose id is the trace id.
// It also returns the workflows rooted in this incarnation.
func (t *Trace) Assign() (map[pipeline.SpanID]string, []*pipeline.Span) {
	traceWID, sub, roots := t.Workflows()
	assign := make(map[pipeline.SpanID]string, len(t.Spans))
	for _, sp := range t.Spans {
		if wid, ok := sub[sp.SpanID]; ok {
			assign[sp.SpanID] = wid
		} else {
			assign[sp.SpanID] = traceWID
		}
	}
	return assign, roots
}

// smallTrace is the span count up to which a parent is found by a linear scan rather
// than a map: most traces hold a handful of spans.
const smallTrace = 32

// Workflows is Assign in the form closing a trace needs: the trace-level workflow id (the
// trace id), the workflow of each span that belongs to another one (nil when none does:
// the common case) and the workflows rooted in this incarnation. Every id is built once
// per workflow, and a trace of up to smallTrace spans builds no map.
func (t *Trace) Workflows() (traceWID string, sub map[pipeline.SpanID]string, roots []*pipeline.Span) {
	traceWID = t.TraceID.String()
	spans := t.Spans
	// A span id given to several spans (delivered twice) resolves once, for all of them
	// (memo by the first span of the id); a parent id is looked up as its last span.
	var first, last func(pipeline.SpanID) int
	if len(spans) > smallTrace {
		firstOf := make(map[pipeline.SpanID]int, len(spans))
		lastOf := make(map[pipeline.SpanID]int, len(spans))
		for i, sp := range spans {
			if _, dup := firstOf[sp.SpanID]; !dup {
				firstOf[sp.SpanID] = i
			}
			lastOf[sp.SpanID] = i
		}
		first = func(id pipeline.SpanID) int { return firstOf[id] }
		last = func(id pipeline.SpanID) int {
			if i, ok := lastOf[id]; ok {
				return i
			}
			return -1
		}
	} else {
		first = func(id pipeline.SpanID) int {
			for i, sp := range spans {
				if sp.SpanID == id {
					return i
				}
			}
			return -1
		}
		last = func(id pipeline.SpanID) int {
			for i := len(spans) - 1; i >= 0; i-- {
				if spans[i].SpanID == id {
					return i
				}
			}
			return -1
		}
	}
	// wid[first(id)] is the workflow of the spans of id once resolved ("" before).
	var small [smallTrace]string
	var wid []string
	if len(spans) > smallTrace {
		wid = make([]string, len(spans))
	} else {
		wid = small[:len(spans)]
	}
	var resolve func(i, depth int) string
	resolve = func(i, depth int) string {
		sp := spans[i]
		memo := first(sp.SpanID)
		if wid[memo] != "" {
			return wid[memo]
		}
		var id string
		switch {
		case sp.WorkflowRoot && sp.ParentSpanID.IsZero():
			id = traceWID
		case sp.WorkflowRoot:
			id = traceWID + "/" + sp.SpanID.String()
		case depth > 256: // a parent cycle in malformed input; stop climbing
			id = traceWID
		default:
			if p := last(sp.ParentSpanID); p >= 0 && spans[p] != sp {
				id = resolve(p, depth+1)
			} else if known, ok := t.known[sp.ParentSpanID]; ok {
				id = known
			} else {
				id = traceWID
			}
		}
		wid[memo] = id
		return id
	}
	for i, sp := range spans {
		if id := resolve(i, 0); id != traceWID {
			if sub == nil {
				sub = make(map[pipeline.SpanID]string)
			}
			sub[sp.SpanID] = id
		}
		if sp.WorkflowRoot {
			roots = append(roots, sp)
		}
	}
	return traceWID, sub, roots
}
