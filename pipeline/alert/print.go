package alert

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"
)

// WriteReadings prints one evaluation's readings as a table, then the summary of every
// alert that fired or resolved.
func WriteReadings(w io.Writer, readings []Reading, transitions []Alert) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "alert\tmetric\tcurrent\tbaseline\tspread\tband (no alert)\tdeviation\tsamples\tbaseline hours\tstate")
	for _, rd := range readings {
		state := "ok"
		switch {
		case !rd.Usable:
			state = "not enough data: " + rd.Reason
		case rd.Breach:
			state = "breach"
		}
		band := "-"
		if rd.Usable {
			band = fmt.Sprintf("%.6g to %.6g", rd.BandLow, rd.BandHigh)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.6g\t%.6g\t%.3g\t%s\t%+.1f%%\t%d\t%d\t%s\n", rd.Key, rd.Metric, rd.Current, rd.Baseline, rd.Spread, band, rd.DeviationPct, rd.Samples, rd.BaselineHours, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, a := range transitions {
		fmt.Fprintf(w, "\n%s\n", a.Summary)
	}
	return nil
}

// WriteReplay prints what a replay found: every transition with its hour, what still
// fires, and why readings could not be judged.
func WriteReplay(w io.Writer, r ReplayResult) error {
	fmt.Fprintf(w, "Replayed %d hours from %s to %s (UTC) over the hourly rollups; every alert starts ok.\n",
		r.Hours, r.From.Format("2006-01-02 15:04"), r.To.Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "%d of %d readings had enough data to judge.\n", r.Usable, r.Readings)
	if r.Recorded {
		fmt.Fprintf(w, "Recorded %d readings and %d transitions into the alert history; left out %d readings and %d transitions whose hours or episodes it already held.\n",
			r.RecordedReadings, r.RecordedEvents, r.KeptReadings, r.KeptEvents)
	}
	fmt.Fprintln(w)
	if len(r.Transitions) == 0 {
		fmt.Fprintln(w, "No alert would have fired.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "hour (UTC)\talert\tevent\tcurrent\tbaseline\tdeviation\tsamples")
		for _, a := range r.Transitions {
			at := a.StartsAt
			if a.Status == "resolved" && a.EndsAt != nil {
				at = *a.EndsAt
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.6g\t%.6g\t%+.1f%%\t%d\n", at.UTC().Truncate(time.Hour).Format("2006-01-02 15:00"), a.Key, eventName(a.Status), a.Current, a.Baseline, a.DeviationPct, a.Samples)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
		for _, a := range r.Transitions {
			if a.Status == "firing" {
				fmt.Fprintf(w, "%s  %s\n", a.StartsAt.UTC().Truncate(time.Hour).Format("2006-01-02 15:00"), a.Summary)
			}
		}
	}
	if len(r.StillFiring) > 0 {
		fmt.Fprintf(w, "\nStill firing at the end:")
		for _, a := range r.StillFiring {
			fmt.Fprintf(w, " %s", a.Key)
		}
		fmt.Fprintln(w)
	}
	if len(r.Reasons) > 0 {
		type rc struct {
			reason string
			n      int
		}
		var rs []rc
		for k, n := range r.Reasons {
			rs = append(rs, rc{k, n})
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].n > rs[j].n || rs[i].n == rs[j].n && rs[i].reason < rs[j].reason })
		fmt.Fprintf(w, "\nReadings without enough data, by reason:\n")
		for i, x := range rs {
			if i == 5 {
				fmt.Fprintf(w, "  ... and %d other reasons\n", len(rs)-5)
				break
			}
			fmt.Fprintf(w, "  %5d  %s\n", x.n, x.reason)
		}
	}
	return nil
}

func eventName(status string) string {
	if status == "firing" {
		return "FIRED"
	}
	return "resolved"
}
