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
		case depth > 256: // a parent cycle in malformed input; stop climbing
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
