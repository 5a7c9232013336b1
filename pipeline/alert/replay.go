package alert

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/unitcost/unitcost/pipeline/store"
)

// ReplayResult is what `unitcost alert --replay` found over stored rollups.
type ReplayResult struct {
	From, To time.Time
	// Hours is the number of hourly evaluations.
	Hours int
	// Transitions are the alerts that would have fired or resolved, in time order; an
	// alert's StartsAt (firing) or EndsAt (resolved) is the hour it happened.
	Transitions []Alert
	// Readings and Usable count readings, and those with enough data to judge.
	Readings, Usable int
	// StillFiring lists the alerts firing at the end of the replay.
	StillFiring []Alert
	// Reasons counts why readings were not usable ("need 6 baseline hours", ...).
	Reasons map[string]int
	// Recorded is true for a replay with --record; then RecordedReadings and
	// RecordedEvents count the rows it wrote, and KeptReadings and KeptEvents the
	// readings and transitions it left out because the history already held their hour or
	// episode (a live evaluation, or an earlier replay).
	Recorded                         bool
	RecordedReadings, RecordedEvents int
	KeptReadings, KeptEvents         int
}

// HistoryReader reads the recorded alert history (pipeline/store implements it): a replay
// with --record reads it to leave alone what is already there.
type HistoryReader interface {
	AlertReadings(ctx context.Context, from, to time.Time, f store.AlertFilter) ([]store.AlertReading, error)
	AlertEvents(ctx context.Context, from, to time.Time, f store.AlertFilter) ([]store.AlertEvent, error)
}

var _ HistoryReader = (*store.Store)(nil)

// Replay evaluates every rule as of the end of each hour from from to to over the stored
// rollups, every alert starting ok, and reports what would have fired and resolved. The
// engine must be built with Fresh (no state file is read or written, nothing is
// delivered). progress, if not nil, is called after each hour.
//
// With a History (--record) the replay fills gaps in the history only: the live engine
// fires at whatever minute it runs and a replay from a fresh state at an hour's end, so the
// same episode would otherwise be two (keyed by when it started), and a replay's reading
// would replace the live one of its hour. A replayed reading is written only for an alert
// and hour the history holds no reading of; a replayed episode (its firing and resolution)
// only if the history holds neither an episode of that alert overlapping its hours nor a
// reading in them. One exception closes what the history left open: when a replayed
// episode resolves in an hour the history holds no reading of, and the one episode it
// overlaps is still open there, that episode's resolution is written. So recording again,
// with the same or another --since, adds nothing.
func (e *Engine) Replay(ctx context.Context, from, to time.Time, progress func(done, total int)) (ReplayResult, error) {
	if !e.readOnly {
		return ReplayResult{}, errors.New("alert replay needs an engine built with alert.Fresh()")
	}
	res := ReplayResult{From: from.UTC().Truncate(time.Hour), To: to.UTC(), Reasons: map[string]int{}}
	hist := e.hist
	e.hist = nil // recorded below, once the replay's episodes are known
	defer func() { e.hist = hist }()
	var hours []time.Time
	for h := res.From; h.Before(res.To); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	var rows []store.AlertReading
	for i, h := range hours {
		at := h.Add(time.Hour - time.Second) // the hour complete, as a live evaluation at its end sees it
		if at.After(res.To) {
			at = res.To
		}
		alerts, err := e.Evaluate(ctx, at)
		if err != nil {
			return res, err
		}
		res.Hours++
		res.Transitions = append(res.Transitions, alerts...)
		for _, rd := range e.last {
			res.Readings++
			if rd.Usable {
				res.Usable++
			} else {
				res.Reasons[rd.Reason]++
			}
			if hist != nil {
				rows = append(rows, readingRow(rd, at))
			}
		}
		if progress != nil {
			progress(i+1, len(hours))
		}
	}
	res.StillFiring = e.Firing()
	if hist != nil {
		if err := recordReplay(ctx, hist, &res, rows); err != nil {
			return res, err
		}
	}
	return res, nil
}

// episode is one firing of an alert and its resolution (none while it fires), by hour.
type episode struct {
	first, last time.Time // hours; last is zero while open
	startsAt    time.Time
	firing      *Alert
	resolved    *Alert
}

func (ep episode) open() bool { return ep.last.IsZero() }

// overlaps reports whether ep's hours meet [first, last] (last zero: open-ended).
func (ep episode) overlaps(first, last time.Time) bool {
	return (ep.open() || !ep.last.Before(first)) && (last.IsZero() || !ep.first.After(last))
}

func recordReplay(ctx context.Context, hist History, res *ReplayResult, rows []store.AlertReading) error {
	res.Recorded = true
	rd, ok := hist.(HistoryReader)
	if !ok {
		return errors.New("alert replay --record: the history cannot be read, so what it holds cannot be left alone")
	}
	id := func(tenant, key string) string { return tenant + "\x00" + key }
	// what the history holds: readings over the replayed hours, and every episode
	have, err := rd.AlertReadings(ctx, res.From, res.To, store.AlertFilter{})
	if err != nil {
		return fmt.Errorf("alert replay --record: read the recorded readings: %w", err)
	}
	covered := map[string][]time.Time{} // alert -> hours with a reading
	for _, r := range have {
		covered[id(r.Tenant, r.Key)] = append(covered[id(r.Tenant, r.Key)], r.Bucket.UTC())
	}
	for _, hs := range covered {
		sort.Slice(hs, func(i, j int) bool { return hs[i].Before(hs[j]) })
	}
	coveredIn := func(alert string, first, last time.Time) bool {
		hs := covered[alert]
		i := sort.Search(len(hs), func(i int) bool { return !hs[i].Before(first) })
		return i < len(hs) && (last.IsZero() || !hs[i].After(last))
	}
	evs, err := rd.AlertEvents(ctx, time.Unix(0, 0), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), store.AlertFilter{})
	if err != nil {
		return fmt.Errorf("alert replay --record: read the recorded transitions: %w", err)
	}
	existing := map[string]map[time.Time]*episode{}
	for _, ev := range evs {
		k := id(ev.Tenant, ev.Key)
		if existing[k] == nil {
			existing[k] = map[time.Time]*episode{}
		}
		ep := existing[k][ev.StartsAt.UTC()]
		if ep == nil {
			ep = &episode{first: ev.StartsAt.UTC().Truncate(time.Hour), startsAt: ev.StartsAt.UTC()}
			existing[k][ev.StartsAt.UTC()] = ep
		}
		if ev.Status == "resolved" {
			ep.last = ev.At.UTC().Truncate(time.Hour)
		}
	}
	// the readings of hours the history has none of
	var write []store.AlertReading
	for _, r := range rows {
		if coveredIn(id(r.Tenant, r.Key), r.Bucket, r.Bucket) {
			res.KeptReadings++
			continue
		}
		write = append(write, r)
	}
	// the replay's episodes
	var eps []*episode
	openEp := map[string]*episode{}
	for i := range res.Transitions {
		a := &res.Transitions[i]
		k := id(a.Scope.Tenant, a.Key)
		switch a.Status {
		case "firing":
			ep := &episode{first: a.StartsAt.UTC().Truncate(time.Hour), startsAt: a.StartsAt, firing: a}
			eps = append(eps, ep)
			openEp[k] = ep
		case "resolved":
			if ep := openEp[k]; ep != nil && a.EndsAt != nil {
				ep.resolved, ep.last = a, a.EndsAt.UTC().Truncate(time.Hour)
				delete(openEp, k)
			}
		}
	}
	var events []store.AlertEvent
	for _, ep := range eps {
		k := id(ep.firing.Scope.Tenant, ep.firing.Key)
		var over []*episode
		for _, x := range existing[k] {
			if x.overlaps(ep.first, ep.last) {
				over = append(over, x)
			}
		}
		n := 1
		if ep.resolved != nil {
			n = 2
		}
		switch {
		case len(over) == 0 && !coveredIn(k, ep.first, ep.last):
			events = append(events, eventRow(*ep.firing))
			if ep.resolved != nil {
				events = append(events, eventRow(*ep.resolved))
			}
		case len(over) == 1 && over[0].open() && ep.resolved != nil && !coveredIn(k, ep.last, ep.last) && !ep.last.Before(over[0].first):
			// the history's open episode resolves in an hour it holds nothing of
			a := *ep.resolved
			a.StartsAt = over[0].startsAt
			events = append(events, eventRow(a))
			res.KeptEvents += n - 1
			continue
		default:
			res.KeptEvents += n
			continue
		}
	}
	for start := 0; start < len(write); start += 10000 {
		end := min(start+10000, len(write))
		if err := hist.WriteAlertReadings(ctx, write[start:end]); err != nil {
			return fmt.Errorf("alert replay --record: write readings: %w", err)
		}
	}
	if err := hist.WriteAlertEvents(ctx, events); err != nil {
		return fmt.Errorf("alert replay --record: write transitions: %w", err)
	}
	res.RecordedReadings, res.RecordedEvents = len(write), len(events)
	return nil
}
