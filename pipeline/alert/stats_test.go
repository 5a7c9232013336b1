package alert

import (
	"math"
	"testing"
	"time"
)

func TestMedianMAD(t *testing.T) {
	m, s := medianMAD([]float64{100, 1, 3, 2, 4})
	if m != 3 || s != madScale { // deviations 97, 2, 0, 1, 1 -> median 1
		t.Fatalf("median %v spread %v", m, s)
	}
	if m, s := medianMAD([]float64{1, 2, 3, 4}); m != 2.5 || s != madScale {
		t.Fatalf("even: median %v spread %v", m, s)
	}
}

func TestEWMA(t *testing.T) {
	if m, s := ewma([]float64{10, 10, 10}, 0.3); m != 10 || s != 0 {
		t.Fatalf("flat: %v %v", m, s)
	}
	// 0 then 10 at alpha 0.5: mean 5, variance 0.5 x (0 + 0.5 x 100) = 25.
	if m, s := ewma([]float64{0, 10}, 0.5); m != 5 || math.Abs(s-5) > 1e-12 {
		t.Fatalf("step: %v %v", m, s)
	}
}

// Firing needs every threshold; holding (not resolving) uses the percent threshold less
// the hysteresis.
func TestThresholdsAndHysteresis(t *testing.T) {
	r := &Rule{ThresholdPct: 20, HysteresisPct: 5, ThresholdAbs: 0.01, Sigmas: 3, Direction: "up"}
	for _, c := range []struct {
		dev, pct, spread float64
		fire, hold       bool
	}{
		{0.20, 20, 0.05, true, true},
		{0.17, 17, 0.05, false, true}, // inside the hysteresis band
		{0.14, 14, 0.01, false, false},
		{0.30, 30, 0.11, false, false},   // under 3 sigmas
		{0.005, 50, 0.001, false, false}, // under the absolute threshold
		{-0.30, -30, 0.01, false, false}, // down, rule watches up
	} {
		if f, h := crosses(r, c.dev, c.pct, c.spread, r.ThresholdPct), crosses(r, c.dev, c.pct, c.spread, r.ThresholdPct-r.HysteresisPct); f != c.fire || h != c.hold {
			t.Errorf("%+v: fire %v hold %v", c, f, h)
		}
	}
	r.Direction = "both"
	if !crosses(r, -0.30, -30, 0.01, 20) {
		t.Error("both: a fall must cross")
	}
}

// The current window ends with the hour in progress; the trailing baseline precedes it,
// the weekly one ends where the current window ends, seven days earlier.
func TestWindows(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 37, 0, 0, time.UTC)
	r := &Rule{Window: 3 * time.Hour, BaselineWindow: 24 * time.Hour, Baseline: "trailing"}
	cur, base := windows(r, now)
	if !cur.From.Equal(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)) || !cur.To.Equal(now) ||
		!base.From.Equal(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)) || !base.To.Equal(cur.From) {
		t.Fatalf("trailing: %+v %+v", cur, base)
	}
	r.Baseline, r.BaselineWindow = "same_hours_last_week", 12*time.Hour
	_, base = windows(r, now)
	if !base.To.Equal(time.Date(2026, 11, 15, 15, 0, 0, 0, time.UTC)) || !base.From.Equal(time.Date(2026, 11, 15, 3, 0, 0, 0, time.UTC)) {
		t.Fatalf("same hours last week: %+v", base)
	}
}
