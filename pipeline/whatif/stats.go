package whatif

import "math"

// z95 is the standard normal quantile for a two-sided 95% interval.
const z95 = 1.959963984540054

// Interval is a two-sided 95% confidence interval around an estimate. Lo and Hi are
// finite unless the data cannot bound the quantity (Hi = +Inf: say "unbounded").
type Interval struct {
	Point, Lo, Hi float64
}

// Wilson is the Wilson score interval for k successes in n trials: unlike the normal
// approximation it stays inside [0, 1] and is honest at rates near 0 or 1 and at small
// n. With n = 0 it is the whole range [0, 1] around a point of 0.
func Wilson(k, n uint64) Interval {
	if n == 0 {
		return Interval{Point: 0, Lo: 0, Hi: 1}
	}
	p := float64(k) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	lo, hi := math.Max(0, centre-half), math.Min(1, centre+half)
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return Interval{Point: p, Lo: lo, Hi: hi}
}

// tTable holds Student's t quantile t(0.975, df) for df = 1..30.
var tTable = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// tQuantile is t(0.975, df): the table up to 30 degrees of freedom, then the
// Cornish-Fisher expansion around the normal quantile (error below 1e-4 from df 30 on).
func tQuantile(df uint64) float64 {
	if df == 0 {
		return math.Inf(1)
	}
	if df <= uint64(len(tTable)) {
		return tTable[df-1]
	}
	z, d := z95, float64(df)
	z3, z5 := z*z*z, z*z*z*z*z
	return z + (z3+z)/(4*d) + (5*z5+16*z3+3*z)/(96*d*d)
}

// MeanT is the mean of n observations given their sum and sum of squares, with the
// t-interval (the sample variance with n-1 degrees of freedom). Fewer than two
// observations cannot bound a mean: Hi is +Inf. Lo is clamped at floor (costs and counts
// are never negative).
func MeanT(n uint64, sum, sumSq, floor float64) Interval {
	if n == 0 {
		return Interval{Lo: floor, Hi: math.Inf(1)}
	}
	nf := float64(n)
	mean := sum / nf
	if n < 2 {
		return Interval{Point: mean, Lo: floor, Hi: math.Inf(1)}
	}
	v := (sumSq - sum*sum/nf) / (nf - 1)
	if v < 0 { // rounding of the float sums
		v = 0
	}
	half := tQuantile(n-1) * math.Sqrt(v/nf)
	return Interval{Point: mean, Lo: math.Max(floor, mean-half), Hi: mean + half}
}

// scale multiplies an interval by a non-negative constant.
func (i Interval) scale(c float64) Interval {
	return Interval{Point: i.Point * c, Lo: i.Lo * c, Hi: i.Hi * c}
}

// Contains reports whether v lies inside [Lo, Hi].
func (i Interval) Contains(v float64) bool { return v >= i.Lo && v <= i.Hi }

// product is the interval of a x b for non-negative intervals, by interval arithmetic:
// conservative (its coverage is at least that of each factor's interval jointly).
func product(a, b Interval) Interval {
	return Interval{Point: a.Point * b.Point, Lo: a.Lo * b.Lo, Hi: mulInf(a.Hi, b.Hi)}
}

func mulInf(a, b float64) float64 {
	if a == 0 || b == 0 {
		return 0
	}
	return a * b
}
