// Package stitch assembles normalised spans into workflow traces, per Kafka partition,
// and decides when a trace is closed. It is pure: no I/O, no clock of its own (callers
// pass now), no goroutines.
//
// Invariants:
//   - A trace is open from its first span until it closes: root seen (or known from an
//     earlier incarnation) and no span for QuietPeriod; no root and no span for
//     OrphanQuiet; MaxOpen since its first span; or evicted at the memory bound.
//   - Every figure downstream is a function of the set of spans, not of how they were
//     grouped into incarnations: a span arriving after its trace closed opens a new
//     incarnation whose line items simply add to the workflow (a correction, never a
//     second copy). The same is true after a restart or a rebalance.
//   - Watermark(p) never passes the offset of a span held in memory, so committing it
//     cannot lose a span that is not yet written.
//   - A trace is identified by its authenticated tenant (pipeline.Span.AuthTenant) and its
//     trace id: spans of tenant A never join tenant B's open or remembered trace, even
//     with the same trace id.
package stitch

import (
	"slices"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// Config bounds and times the stitcher. Zero fields take the defaults documented here.
type Config struct {
	// QuietPeriod after the root span and the last span before a trace closes. Default 1s.
	QuietPeriod time.Duration `yaml:"quiet_period" desc:"quiet time after the root span and the last span before a trace closes (default 1s)"`
	// MaxOpen is the longest a trace stays open, root or not. Default 5m.
	MaxOpen time.Duration `yaml:"max_open" desc:"longest a trace stays open (default 5m)"`
	// OrphanQuiet closes a trace whose root has not been seen after this long without a
	// new span: typically a late span (a review days later) of a trace closed before a
	// restart, or whose root was lost. Default 10s. Closing early changes no figure
	// (see the package invariants); it only bounds how late such spans become visible.
	OrphanQuiet time.Duration `yaml:"orphan_quiet" desc:"quiet time after which a trace whose root was never seen closes (default 10s, at least quiet_period)"`
	// MaxTraces caps open traces; at the cap the oldest is closed early (evicted,
	// counted). Default 100,000.
	MaxTraces int `yaml:"max_traces" desc:"open traces at most; at the cap the oldest closes early (default 100000)"`
	// MaxSpans caps spans held across open traces, with the same eviction. Default 1,000,000.
	MaxSpans int `yaml:"max_spans" desc:"spans held across open traces at most (default 1000000)"`
	// ClosedMemory is how many closed traces keep their span->workflow map, so a late span
	// of a sub-tree workflow joins the right workflow. Default 100,000.
	ClosedMemory int `yaml:"closed_memory" desc:"closed traces whose span-to-workflow map is kept for late spans (default 100000)"`
}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.QuietPeriod <= 0 {
		c.QuietPeriod = time.Second
	}
	if c.MaxOpen <= 0 {
		c.MaxOpen = 5 * time.Minute
	}
	if c.OrphanQuiet <= 0 {
		c.OrphanQuiet = 10 * time.Second
	}
	if c.OrphanQuiet < c.QuietPeriod {
		c.OrphanQuiet = c.QuietPeriod
	}
	if c.MaxTraces <= 0 {
		c.MaxTraces = 100_000
	}
	if c.MaxSpans <= 0 {
		c.MaxSpans = 1_000_000
	}
	if c.ClosedMemory <= 0 {
		c.ClosedMemory = 100_000
	}
	return c
}

// Partition identifies a Kafka topic partition (the unit of ordering and ownership).
type Partition struct {
	Topic     string
	Partition int32
}

// Reason says why a trace closed.
type Reason uint8

// Close reasons.
const (
	ClosedQuiet   Reason = iota // root ended and the quiet period passed
	ClosedMaxOpen               // open for MaxOpen
	ClosedEvicted               // memory bound reached
	ClosedForced                // Flush(force) at shutdown or in tests
	ClosedOrphan                // no root, quiet for OrphanQuiet
)

// Key identifies a trace: the tenant the transport authenticated ("" when none did) and
// the trace id.
type Key struct {
	AuthTenant string
	TraceID    pipeline.TraceID
}

// Trace is one incarnation of a trace: the spans that arrived while it was open.
type Trace struct {
	Partition Partition
	// AuthTenant is the authenticated tenant every span of the incarnation carries.
	AuthTenant string
	TraceID    pipeline.TraceID
	// Spans are the spans of the incarnation in arrival order, and Offsets the offsets of
	// the records they came from, parallel to Spans. Both are set when the trace closes
	// (returned by Due or Add); while it is open its spans are held encoded (held.go).
	Spans   []*pipeline.Span
	Offsets []int64
	// Late is true when an earlier incarnation of this trace had already closed.
	Late   bool
	Reason Reason

	hasRoot     bool
	n           int32 // spans held
	first, last time.Time
	prev, next  *Trace // open traces by first arrival
	// buf holds the spans encoded; baseOffset and baseStart are the first span's record
	// offset and start time, which the others are encoded relative to; minOffset is the
	// lowest offset held (the watermark).
	buf                              []byte
	baseOffset, baseStart, minOffset int64
	known                            map[pipeline.SpanID]string // workflow of spans of earlier incarnations
	// KnownLabels are the labels of workflows rooted in earlier incarnations, so late
	// spans that carry no tenant/team/feature of their own inherit their workflow's.
	KnownLabels map[string]Labels
}

// Labels are the who-was-it-for attributes a workflow's spans inherit from its root
// (or, for session, user, service, environment and labels, from the workflow's
// resolved facts) when they carry none of their own.
type Labels struct {
	Tenant, Team, Feature               string
	Session, User, Service, Environment string
	Labels                              []pipeline.Label
}

// Stats are the gauges and counters the process stage exports.
type Stats struct {
	OpenTraces  int
	OpenSpans   int
	LateSpans   uint64 // spans that arrived after their trace had closed
	Corrections uint64 // late incarnations closed (each corrects a workflow)
	Evictions   uint64 // traces closed early at the memory bound
	MaxOpened   uint64 // traces closed by MaxOpen without their root
	Orphans     uint64 // rootless traces closed after OrphanQuiet
	// OldestFirstSeen is when the oldest open trace received its first span (zero when
	// nothing is open); now minus it is the oldest open age.
	OldestFirstSeen time.Time
}

// Stitcher holds the open traces of the partitions one process instance owns.
type Stitcher struct {
	cfg     Config
	open    map[Key]*Trace
	oldest  *Trace // open traces by first arrival (Trace.next), oldest first
	newest  *Trace
	spans   int
	closed  *closedLRU
	stats   Stats
	syms    *symbols
	last    *Trace            // the open trace of the last span added (a record's spans share one)
	scratch []byte            // a span being encoded
	tenants map[string]string // authenticated tenants (ownTenant)
}

// New returns an empty stitcher.
func New(cfg Config) *Stitcher {
	cfg = cfg.WithDefaults()
	return &Stitcher{
		cfg:     cfg,
		open:    make(map[Key]*Trace),
		closed:  newClosedLRU(cfg.ClosedMemory),
		syms:    newSymbols(),
		tenants: map[string]string{},
	}
}

// Add holds a span of the record at offset in partition p. Spans of one trace always come
// from one partition (records are keyed by trace id). The trace is the span's
// authenticated tenant's: another tenant's trace with the same id is a different trace.
// Add keeps a copy of the span (encoded), not sp itself, and no string of it (every
// string is copied): the caller may reuse sp, and its strings may alias a record's buffer.
// It returns traces evicted to stay within the memory bound; they must be written like any
// closed trace.
func (s *Stitcher) Add(p Partition, offset int64, sp *pipeline.Span, now time.Time) []*Trace {
	// The spans of a record are of one trace: the trace of the last span is checked
	// before the map.
	t := s.last
	if t == nil || t.TraceID != sp.TraceID || t.AuthTenant != sp.AuthTenant {
		t = s.open[Key{AuthTenant: sp.AuthTenant, TraceID: sp.TraceID}]
	}
	if t == nil {
		k := Key{AuthTenant: sp.AuthTenant, TraceID: sp.TraceID}
		k.AuthTenant = s.ownTenant(sp.AuthTenant)
		t = &Trace{Partition: p, AuthTenant: k.AuthTenant, TraceID: sp.TraceID, first: now,
			baseOffset: offset, baseStart: sp.StartUnixNano, minOffset: offset}
		if known, labels, ok := s.closed.get(k); ok {
			t.Late, t.known, t.KnownLabels = true, known, labels
		}
		s.push(t)
		s.open[k] = t
	}
	s.last = t
	if t.Late {
		s.stats.LateSpans++
	}
	s.hold(t, offset, sp)
	t.n++
	t.minOffset = min(t.minOffset, offset)
	t.last = now
	if sp.ParentSpanID.IsZero() {
		t.hasRoot = true
	}
	s.spans++
	var evicted []*Trace
	for (len(s.open) > s.cfg.MaxTraces || s.spans > s.cfg.MaxSpans) && s.oldest != nil {
		old := s.oldest
		s.close(old, ClosedEvicted)
		s.stats.Evictions++
		evicted = append(evicted, old)
	}
	s.materializeAll(evicted)
	return evicted
}

// maxTenants bounds the authenticated tenants ownTenant keeps a copy of.
const maxTenants = 4096

// ownTenant returns the stitcher's own copy of an authenticated tenant, so an open trace
// (and its key) keeps no string of the span it was opened by, whatever that string
// aliases. Tenants are few; past maxTenants each new trace gets a copy of its own.
func (s *Stitcher) ownTenant(t string) string {
	if t == "" {
		return ""
	}
	if c, ok := s.tenants[t]; ok {
		return c
	}
	c := strings.Clone(t)
	if len(s.tenants) < maxTenants {
		s.tenants[c] = c
	}
	return c
}

// hold appends sp, encoded, to t's buffer. The span is encoded into scratch space first,
// and the buffer grows by at least what it holds (and by three spans at first), so a
// trace's buffer is reallocated a few times in its life rather than on every few bytes.
func (s *Stitcher) hold(t *Trace, offset int64, sp *pipeline.Span) {
	e := encoder{b: s.scratch[:0], syms: s.syms}
	e.span(t, offset, sp)
	s.scratch = e.b
	if free := cap(t.buf) - len(t.buf); free < len(e.b) {
		grow := max(len(t.buf), 2*len(e.b))
		t.buf = slices.Grow(t.buf, len(e.b)+grow)
	}
	t.buf = append(t.buf, e.b...)
}

// forget drops t, leaving the open traces, as the last trace added to.
func (s *Stitcher) forget(t *Trace) {
	if s.last == t {
		s.last = nil
	}
}

// push appends t to the open traces' arrival order.
func (s *Stitcher) push(t *Trace) {
	t.prev = s.newest
	if s.newest != nil {
		s.newest.next = t
	} else {
		s.oldest = t
	}
	s.newest = t
}

// unlink removes t from the arrival order.
func (s *Stitcher) unlink(t *Trace) {
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		s.oldest = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		s.newest = t.prev
	}
	t.prev, t.next = nil, nil
}

// spanBlock is how many decoded spans share one allocation: a closed trace's spans can
// be freed block by block as they are written (a huge trace is written in chunks).
// Traces closed together take their spans (and, when small, their span pointers and
// offsets) from blocks shared by them, sized to what they hold: not three allocations a
// trace, and no block left over, reachable, once they are decoded.
const spanBlock = 4096

// slabTrace is the largest trace whose span pointers and offsets come from the shared
// blocks; a larger one gets its own slices.
const slabTrace = 256

// materializeAll decodes the held spans of closing traces into their Spans and Offsets
// and releases their buffers and symbols.
func (s *Stitcher) materializeAll(ts []*Trace) {
	spans, small := 0, 0
	for _, t := range ts {
		spans += int(t.n)
		if t.n <= slabTrace {
			small += int(t.n)
		}
	}
	var spanSlab []pipeline.Span
	var ptrSlab []*pipeline.Span
	var offSlab []int64
	for _, t := range ts {
		n := int(t.n)
		if n <= slabTrace {
			if len(ptrSlab) < n {
				ptrSlab = make([]*pipeline.Span, min(small, spanBlock))
				offSlab = make([]int64, len(ptrSlab))
			}
			t.Spans, ptrSlab = ptrSlab[:n:n], ptrSlab[n:]
			t.Offsets, offSlab = offSlab[:n:n], offSlab[n:]
			small -= n
		} else {
			t.Spans = make([]*pipeline.Span, n)
			t.Offsets = make([]int64, n)
		}
		d := decoder{b: t.buf, syms: s.syms}
		for i := range t.Spans {
			if len(spanSlab) == 0 {
				spanSlab = make([]pipeline.Span, min(spans, spanBlock))
			}
			t.Offsets[i] = d.span(t, &spanSlab[0])
			t.Spans[i] = &spanSlab[0]
			spanSlab = spanSlab[1:]
			spans--
		}
		t.buf = nil
	}
}

// Due closes and returns every trace whose close rule holds at now; with force, every
// open trace. Returned traces leave the stitcher; their spans must be written before
// Watermark moves past them (Watermark already excludes them, so write before commit).
func (s *Stitcher) Due(now time.Time, force bool) []*Trace {
	var out []*Trace
	for t := s.oldest; t != nil; {
		next := t.next
		switch {
		case force:
			s.close(t, ClosedForced)
		case (t.hasRoot || t.Late) && now.Sub(t.last) >= s.cfg.QuietPeriod:
			s.close(t, ClosedQuiet)
		case !t.hasRoot && now.Sub(t.last) >= s.cfg.OrphanQuiet:
			s.close(t, ClosedOrphan)
			s.stats.Orphans++
		case now.Sub(t.first) >= s.cfg.MaxOpen:
			s.close(t, ClosedMaxOpen)
			if !t.hasRoot {
				s.stats.MaxOpened++
			}
		default:
			t = next
			continue
		}
		out = append(out, t)
		t = next
	}
	s.materializeAll(out)
	return out
}

func (s *Stitcher) close(t *Trace, r Reason) {
	t.Reason = r
	s.forget(t)
	s.unlink(t)
	delete(s.open, t.key())
	s.spans -= int(t.n)
	if t.Late {
		s.stats.Corrections++
	}
}

// Remember records a closed trace's span->workflow assignment and its workflows' labels
// so that late spans of the same trace join the same workflows with the same labels.
func (s *Stitcher) Remember(t *Trace, assign map[pipeline.SpanID]string, labels map[string]Labels) {
	s.closed.put(t.key(), assign, labels)
}

// RememberWorkflows is Remember with the labels as a slice, Workflow "" standing for the
// trace-level workflow. The stitcher may keep labels as they are (the caller must not
// change them afterwards); it keeps no reference to assign.
func (s *Stitcher) RememberWorkflows(t *Trace, assign map[pipeline.SpanID]string, labels []WorkflowLabels) {
	s.closed.putLabels(t.key(), assign, labels)
}

func (t *Trace) key() Key { return Key{AuthTenant: t.AuthTenant, TraceID: t.TraceID} }

// Watermarks returns, for each partition with open traces, the lowest offset still held:
// a consumer may commit up to (excluding) it. Partitions absent from the map hold nothing.
func (s *Stitcher) Watermarks() map[Partition]int64 {
	w := make(map[Partition]int64)
	for _, t := range s.open {
		if cur, ok := w[t.Partition]; !ok || t.minOffset < cur {
			w[t.Partition] = t.minOffset
		}
	}
	return w
}

// DropPartitions forgets the open traces of partitions this instance no longer owns;
// their new owner re-reads them from the committed offset.
func (s *Stitcher) DropPartitions(drop map[Partition]bool) {
	for t := s.oldest; t != nil; {
		next := t.next
		if drop[t.Partition] {
			s.forget(t)
			s.unlink(t)
			delete(s.open, t.key())
			s.spans -= int(t.n)
			s.materializeAll([]*Trace{t}) // releases its symbols
			t.Spans, t.Offsets = nil, nil
		}
		t = next
	}
}

// Stats returns the current gauges and counters.
func (s *Stitcher) Stats() Stats {
	st := s.stats
	st.OpenTraces = len(s.open)
	st.OpenSpans = s.spans
	if s.oldest != nil {
		st.OldestFirstSeen = s.oldest.first
	}
	return st
}
