package alert

import (
	"context"
	"errors"
	"time"
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
}

// Replay evaluates every rule as of the end of each hour from from to to over the stored
// rollups, every alert starting ok, and reports what would have fired and resolved. The
// engine must be built with Fresh (no state file is read or written, nothing is
// delivered). progress, if not nil, is called after each hour.
func (e *Engine) Replay(ctx context.Context, from, to time.Time, progress func(done, total int)) (ReplayResult, error) {
	if !e.readOnly {
		return ReplayResult{}, errors.New("alert replay needs an engine built with alert.Fresh()")
	}
	res := ReplayResult{From: from.UTC().Truncate(time.Hour), To: to.UTC(), Reasons: map[string]int{}}
	var hours []time.Time
	for h := res.From; h.Before(res.To); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
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
		}
		if progress != nil {
			progress(i+1, len(hours))
		}
	}
	res.StillFiring = e.Firing()
	return res, nil
}
