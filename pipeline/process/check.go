package process

import (
	"fmt"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/stitch"
)

// The span times the tables store. ClickHouse's DateTime is 32-bit seconds (1970 to 2106)
// and 18.16 wraps what lies outside; no real span starts before 2000 or after 2100, so a
// time outside [minSpanTime, maxSpanTime) is a broken clock or a hostile client, never
// stored as is.
var (
	minSpanTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	maxSpanTime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

// DefaultMaxSpanDuration is the longest wall time a span may claim before the compute
// priced by it is quarantined.
const DefaultMaxSpanDuration = 30 * 24 * time.Hour

func validTime(ns int64) bool { return ns >= minSpanTime && ns < maxSpanTime }

func fmtTime(ns int64) string {
	return fmt.Sprintf("%d (%s)", uint64(ns), time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05Z"))
}

// checkTimes makes a span's start and end storable, recording every change as an issue:
// a time outside the stored range is replaced (start by the end, else both by the Kafka
// record's time, which a replay reads again unchanged, so the row lands in the same
// partition and replaces itself); an end before the start becomes the start (duration
// 0); a duration over maxDur is recorded as an issue that quarantines the span's compute
// line (pricing keeps it unpriced rather than bill years of a GPU).
func checkTimes(sp *pipeline.Span, record time.Time, maxDur time.Duration) {
	startOK, endOK := validTime(sp.StartUnixNano), validTime(sp.EndUnixNano)
	switch {
	case !startOK && endOK:
		sp.Issues = append(sp.Issues, fmt.Sprintf("start time %s outside 2000..2100; set to the end time", fmtTime(sp.StartUnixNano)))
		sp.StartUnixNano = sp.EndUnixNano
	case !startOK:
		at := record.UnixNano()
		if record.IsZero() || !validTime(at) {
			at = time.Now().UnixNano()
		}
		sp.Issues = append(sp.Issues, fmt.Sprintf("start time %s and end time %s outside 2000..2100; both set to the record's time",
			fmtTime(sp.StartUnixNano), fmtTime(sp.EndUnixNano)))
		sp.StartUnixNano, sp.EndUnixNano = at, at
	case !endOK:
		sp.Issues = append(sp.Issues, fmt.Sprintf("end time %s outside 2000..2100; set to the start time (duration 0)", fmtTime(sp.EndUnixNano)))
		sp.EndUnixNano = sp.StartUnixNano
	case sp.EndUnixNano < sp.StartUnixNano:
		sp.Issues = append(sp.Issues, fmt.Sprintf("end before start by %s; duration 0", time.Duration(sp.StartUnixNano-sp.EndUnixNano)))
		sp.EndUnixNano = sp.StartUnixNano
	}
	if d := time.Duration(sp.EndUnixNano - sp.StartUnixNano); maxDur > 0 && d > maxDur && sp.ComputeClass != "" {
		sp.Issues = append(sp.Issues, fmt.Sprintf("span duration %.0fs above limit %.0fs; quarantined", d.Seconds(), maxDur.Seconds()))
	}
}

// sameSpan reports whether b is a redelivery of a (the same span sent again: Kafka's
// at-least-once, an SDK retry) rather than a different span reusing its id.
func sameSpan(a, b *pipeline.Span) bool {
	return a.ParentSpanID == b.ParentSpanID && a.Name == b.Name && a.StartUnixNano == b.StartUnixNano &&
		a.EndUnixNano == b.EndUnixNano && a.Usage == b.Usage && a.Model == b.Model && a.Operation == b.Operation &&
		a.ReviewActiveMs == b.ReviewActiveMs && a.ComputeClass == b.ComputeClass && a.ToolName == b.ToolName
}

// dedup drops repeated span ids from a closed incarnation in place, keeping the first
// copy, and returns the spans. A copy from the same record (one request carrying the id
// twice) or with different content is recorded as an issue on the kept span; an identical
// copy from another record is a redelivery and only counted. (t.Offsets stays whole: it
// only bounds the commit.)
func (p *Processor) dedup(t *stitch.Trace) []*pipeline.Span {
	type firstCopy struct {
		sp     *pipeline.Span
		offset int64
	}
	// Most traces hold a handful of spans: their first copies are found by a scan of
	// the kept ones (no map).
	const small = 32
	var kept [small]firstCopy
	var first map[pipeline.SpanID]firstCopy
	if len(t.Spans) > small {
		first = make(map[pipeline.SpanID]firstCopy, len(t.Spans))
	}
	out := t.Spans[:0]
	for i, sp := range t.Spans {
		var off int64 = -1
		if i < len(t.Offsets) {
			off = t.Offsets[i]
		}
		var f firstCopy
		dup := false
		if first != nil {
			f, dup = first[sp.SpanID]
		} else {
			for _, k := range kept[:len(out)] {
				if k.sp.SpanID == sp.SpanID {
					f, dup = k, true
					break
				}
			}
		}
		if !dup {
			if first != nil {
				first[sp.SpanID] = firstCopy{sp, off}
			} else {
				kept[len(out)] = firstCopy{sp, off}
			}
			out = append(out, sp)
			continue
		}
		p.m.DuplicateSpans.Inc()
		switch {
		case off == f.offset:
			f.sp.Issues = appendOnce(f.sp.Issues, "duplicate span id in one request; the second span was dropped")
		case !sameSpan(f.sp, sp):
			f.sp.Issues = appendOnce(f.sp.Issues, "duplicate span id with different content in the trace; the later span was dropped")
		}
	}
	clear(t.Spans[len(out):])
	return out
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
