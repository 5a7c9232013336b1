package stitch

import "github.com/unitcost/unitcost/pipeline"

// closedLRU remembers, for the last ClosedMemory closed traces, the workflow of each span
// that joined a sub-tree workflow and the labels of the workflows rooted in the trace, so
// a late span joins the same workflow with the same labels. It is held compactly (slices,
// the trace-level workflow id implied): up to 100,000 closed traces are remembered, and
// late spans are rare, so the maps a late incarnation reads are rebuilt when one opens.
//
// A span remembered in the trace-level workflow is not stored: Assign gives a span whose
// parent is unknown the trace-level workflow, exactly what such an entry would give.
type closedLRU struct {
	cap            int
	items          map[Key]*closedEntry
	oldest, newest *closedEntry
	spare          *closedEntry // the last entry evicted, reused by the next put
}

type closedEntry struct {
	id         Key
	prev, next *closedEntry
	assign     []spanWorkflow
	labels     []WorkflowLabels // shared with the caller of putLabels: never written in place
}

type spanWorkflow struct {
	span     pipeline.SpanID
	workflow string
}

// WorkflowLabels are the labels of a workflow rooted in a closed trace; Workflow "" is
// the trace-level workflow (whose id is the trace id).
type WorkflowLabels struct {
	Workflow string
	Labels   Labels
}

func newClosedLRU(n int) *closedLRU {
	return &closedLRU{cap: n, items: make(map[Key]*closedEntry)}
}

// get returns the remembered span->workflow map and workflow labels of trace id (fresh
// maps, the caller's to keep), and marks it recently used.
func (c *closedLRU) get(id Key) (map[pipeline.SpanID]string, map[string]Labels, bool) {
	e, ok := c.items[id]
	if !ok {
		return nil, nil, false
	}
	c.unlink(e)
	c.push(e)
	assign, labels := e.maps()
	return assign, labels, true
}

func (e *closedEntry) maps() (map[pipeline.SpanID]string, map[string]Labels) {
	var assign map[pipeline.SpanID]string
	if len(e.assign) > 0 {
		assign = make(map[pipeline.SpanID]string, len(e.assign))
		for _, a := range e.assign {
			assign[a.span] = a.workflow
		}
	}
	labels := make(map[string]Labels, len(e.labels))
	for _, l := range e.labels {
		wf := l.Workflow
		if wf == "" {
			wf = e.id.TraceID.String()
		}
		labels[wf] = l.Labels
	}
	return assign, labels
}

// put remembers a closed incarnation's assignment and labels, merged into what an
// earlier incarnation of the same trace left (later values win).
func (c *closedLRU) put(id Key, assign map[pipeline.SpanID]string, labels map[string]Labels) {
	ls := make([]WorkflowLabels, 0, len(labels))
	for wf, l := range labels {
		if isTraceLevel(wf, id.TraceID) {
			wf = ""
		}
		ls = append(ls, WorkflowLabels{wf, l})
	}
	c.putLabels(id, assign, ls)
}

// putLabels is put with the labels as a slice (Workflow "" for the trace-level one),
// which a first incarnation's entry keeps as it is: the caller must not change it.
func (c *closedLRU) putLabels(id Key, assign map[pipeline.SpanID]string, labels []WorkflowLabels) {
	e, ok := c.items[id]
	if ok {
		c.unlink(e)
		old, oldLabels := e.maps()
		if old == nil {
			old = map[pipeline.SpanID]string{}
		}
		for k, v := range assign {
			old[k] = v
		}
		for _, l := range labels {
			wf := l.Workflow
			if wf == "" {
				wf = id.TraceID.String()
			}
			oldLabels[wf] = l.Labels
		}
		assign = old
		labels = make([]WorkflowLabels, 0, len(oldLabels)) // fresh: the old slice may be shared
		for wf, l := range oldLabels {
			if isTraceLevel(wf, id.TraceID) {
				wf = ""
			}
			labels = append(labels, WorkflowLabels{wf, l})
		}
	} else {
		if e = c.spare; e != nil {
			c.spare = nil
			*e = closedEntry{id: id, assign: e.assign[:0]}
		} else {
			e = &closedEntry{id: id}
		}
		c.items[id] = e
	}
	e.assign = e.assign[:0]
	for span, wf := range assign {
		if !isTraceLevel(wf, id.TraceID) {
			e.assign = append(e.assign, spanWorkflow{span, wf})
		}
	}
	if len(e.assign) == 0 {
		e.assign = nil
	}
	e.labels = labels
	c.push(e)
	for len(c.items) > c.cap {
		old := c.oldest
		c.unlink(old)
		delete(c.items, old.id)
		*old = closedEntry{assign: old.assign[:0]}
		c.spare = old
	}
}

// isTraceLevel reports whether workflow id wf is trace t's trace-level workflow (its
// lower-case hex trace id), without formatting the id.
func isTraceLevel(wf string, t pipeline.TraceID) bool {
	const hex = "0123456789abcdef"
	if len(wf) != 2*len(t) {
		return false
	}
	for i, b := range t {
		if wf[2*i] != hex[b>>4] || wf[2*i+1] != hex[b&0xf] {
			return false
		}
	}
	return true
}

func (c *closedLRU) push(e *closedEntry) {
	e.prev = c.newest
	if c.newest != nil {
		c.newest.next = e
	} else {
		c.oldest = e
	}
	c.newest = e
}

func (c *closedLRU) unlink(e *closedEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.oldest = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.newest = e.prev
	}
	e.prev, e.next = nil, nil
}
