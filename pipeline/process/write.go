package process

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// writeChunk is the most line items one insert carries. A closed trace of any size is
// priced and written in chunks of this many, each span released once its rows are
// written, so closing a trace at the memory bound (max_spans) holds no second copy of it.
const writeChunk = 20_000

// bigClose is the span count of a closed trace after which the heap it held is handed
// back to the operating system at once (debug.FreeOSMemory) rather than kept for reuse.
const bigClose = 100_000

// pending is what pricing a closed trace needs beyond its spans, computed once when it
// starts to be written, and how far its writing got.
type pending struct {
	traceWID string
	assign   map[pipeline.SpanID]string // spans of workflows other than the trace-level one
	labels   map[string]stitch.Labels   // workflow id -> labels its spans inherit
	wfs      []pipeline.Workflow
	spans    int // spans after dedup, for bigClose
	next     int // t.Spans[:next] are in the current batch or written
	written  int // t.Spans[:written] are written (and released)
	wfQueued bool
}

func (p *Processor) prepare(t *stitch.Trace) *pending {
	assign, roots := t.Assign()
	pd := &pending{traceWID: t.TraceID.String(), labels: make(map[string]stitch.Labels, len(roots)),
		assign: map[pipeline.SpanID]string{}}
	// Only assignments to a workflow other than the trace-level one are kept: a span absent
	// from the map (or a late span whose parent is absent) belongs to the trace-level
	// workflow anyway, and most traces have no other.
	for id, wid := range assign {
		if wid != pd.traceWID {
			pd.assign[id] = wid
		}
	}
	t.Spans = p.dedup(t)
	pd.spans = len(t.Spans)
	// A workflow's facts come from its root, completed from its other spans
	// (normalize.Resolve). One trace root alone (the common case) owns every span of the
	// incarnation: no map needed.
	single := len(roots) == 1 && roots[0].ParentSpanID.IsZero()
	var members map[string][]*pipeline.Span
	if len(roots) > 0 && !single {
		members = make(map[string][]*pipeline.Span, len(roots))
		for _, sp := range t.Spans {
			wid := pd.wid(sp)
			members[wid] = append(members[wid], sp)
		}
	}
	done := map[pipeline.SpanID]bool{}
	for _, r := range roots {
		if done[r.SpanID] {
			continue
		}
		done[r.SpanID] = true
		tenant := r.Tenant
		if tenant == "" {
			tenant = pipeline.DefaultTenant
		}
		id := stitch.WorkflowID(t.TraceID, r)
		w := pipeline.Workflow{
			ID: id, AuthTenant: t.AuthTenant, Tenant: tenant, TraceID: t.TraceID, RootSpanID: r.SpanID,
			Name: r.WorkflowName, Version: r.WorkflowVersion,
			Team: r.Team, Feature: r.Feature, StartUnixNano: r.StartUnixNano, EndUnixNano: r.EndUnixNano,
		}
		if single {
			normalize.Resolve(r, t.Spans, &w)
		} else {
			normalize.Resolve(r, members[id], &w)
		}
		if w.Outcome != "" && !normalize.KnownOutcomes[w.Outcome] {
			p.m.UnknownOutcomes.Inc()
		}
		pd.wfs = append(pd.wfs, w)
		pd.labels[id] = stitch.Labels{Tenant: r.Tenant, Team: r.Team, Feature: r.Feature, Session: w.Session, User: w.User,
			Service: w.Service, Environment: w.Environment, Labels: w.Labels}
	}
	return pd
}

// wid is the workflow a span of the trace belongs to.
func (pd *pending) wid(sp *pipeline.Span) string {
	if wid, ok := pd.assign[sp.SpanID]; ok {
		return wid
	}
	return pd.traceWID
}

// writeClosed prices and writes every closed trace in p.unwritten, in chunks, and
// remembers each once all of its rows are written. It returns only when everything is
// written, or with an error once ctx ends; what is not written stays in p.unwritten (and
// holds the commit back), to be continued from the last written chunk.
func (p *Processor) writeClosed(ctx context.Context) error {
	var b pipeline.Batch
	var done []*stitch.Trace // a prefix of p.unwritten: every row is in b
	big := false
	flush := func() error {
		if len(b.LineItems)+len(b.Workflows)+len(b.Issues) > 0 {
			if err := p.write(ctx, b); err != nil {
				for _, t := range p.unwritten { // b is lost: price again from what was written
					if pd := p.pending[t]; pd != nil {
						pd.next, pd.wfQueued = pd.written, false
					}
				}
				return err
			}
		}
		b = pipeline.Batch{}
		for _, t := range done {
			pd := p.pending[t]
			p.st.Remember(t, pd.assign, pd.labels)
			big = big || pd.spans >= bigClose
			delete(p.pending, t)
			t.Spans = nil
		}
		p.unwritten = p.unwritten[len(done):]
		done = done[:0]
		if len(p.unwritten) > 0 { // the trace being written: release what is written
			t := p.unwritten[0]
			if pd := p.pending[t]; pd != nil {
				clear(t.Spans[pd.written:pd.next])
				pd.written = pd.next
			}
		}
		return nil
	}
	for len(p.unwritten) > len(done) {
		t := p.unwritten[len(done)]
		pd := p.pending[t]
		if pd == nil {
			pd = p.prepare(t)
			p.pending[t] = pd
		}
		for ; pd.next < len(t.Spans); pd.next++ {
			sp := t.Spans[pd.next]
			wid := pd.wid(sp)
			l, ok := pd.labels[wid]
			if !ok {
				l = t.KnownLabels[wid]
			}
			inherit(sp, l)
			for _, is := range sp.Issues {
				b.Issues = append(b.Issues, pipeline.SpanIssue{Span: sp, WorkflowID: wid, Issue: is})
			}
			if sp.Unpriced != "" {
				p.m.UnpriceableSpans.WithLabelValues(unpriceableReason(sp.Unpriced)).Inc()
			}
			n := len(b.LineItems)
			b.LineItems = p.book.Price(b.LineItems, sp, wid)
			for _, li := range b.LineItems[n:] {
				if !li.Priced {
					p.m.Unpriced.Inc()
				}
			}
			if len(b.LineItems) >= writeChunk {
				pd.next++
				if err := flush(); err != nil {
					return err
				}
				pd.next--
			}
		}
		if !pd.wfQueued {
			b.Workflows = append(b.Workflows, pd.wfs...)
			pd.wfQueued = true
		}
		done = append(done, t)
		if len(b.LineItems) >= writeChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if big {
		debug.FreeOSMemory()
	}
	return nil
}

// write inserts one batch, retrying (consumption waits) until ClickHouse takes it or ctx
// ends.
func (p *Processor) write(ctx context.Context, b pipeline.Batch) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := p.w.Write(ctx, b)
		if err == nil {
			break
		}
		p.m.WriteErrors.Inc()
		if ctx.Err() != nil {
			// Not written and not committed: the next owner re-reads these spans.
			return fmt.Errorf("write %d line items: %w", len(b.LineItems), err)
		}
		wait := min(time.Duration(attempt)*200*time.Millisecond, 5*time.Second)
		p.log.Warn("clickhouse write failed; retrying (consumption waits)", "attempt", attempt, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("write %d line items: %w", len(b.LineItems), err)
		case <-time.After(wait):
		}
	}
	p.m.WriteSeconds.Observe(time.Since(start).Seconds())
	p.m.LineItems.Add(float64(len(b.LineItems)))
	p.m.Workflows.Add(float64(len(b.Workflows)))
	return nil
}

func inherit(sp *pipeline.Span, l stitch.Labels) {
	if sp.Tenant == "" {
		sp.Tenant = l.Tenant
	}
	if sp.Tenant == "" {
		sp.Tenant = pipeline.DefaultTenant
	}
	for _, x := range [...]struct {
		dst *string
		v   string
	}{{&sp.Team, l.Team}, {&sp.Feature, l.Feature}, {&sp.Session, l.Session},
		{&sp.User, l.User}, {&sp.Service, l.Service}, {&sp.Environment, l.Environment}} {
		if *x.dst == "" {
			*x.dst = x.v
		}
	}
	if sp.Labels == nil {
		sp.Labels = l.Labels
	}
}
