package alert

import (
	"math"
	"sort"
)

// madScale makes the median absolute deviation estimate a normal distribution's standard
// deviation.
const madScale = 1.4826

// medianMAD returns the median of xs and 1.4826 x the median absolute deviation.
func medianMAD(xs []float64) (median, spread float64) {
	median = quantile50(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - median)
	}
	return median, madScale * quantile50(dev)
}

func quantile50(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ewma returns the exponentially weighted mean of xs (oldest first; the newest weighs
// alpha) and the weighted standard deviation around it.
func ewma(xs []float64, alpha float64) (mean, spread float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	mean = xs[0]
	var variance float64
	for _, x := range xs[1:] {
		d := x - mean
		mean += alpha * d
		variance = (1 - alpha) * (variance + alpha*d*d)
	}
	return mean, math.Sqrt(variance)
}
