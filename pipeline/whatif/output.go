package whatif

import (
	"math"
	"math/big"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// Currency of every amount: the price book's rates are US dollars.
const Currency = "USD"

// MoneyRange is an amount with its 95% interval, each in the API's money form: integer
// nano-dollars (`*_nano`) and the same amount as a decimal string of dollars with nine
// decimals (`*_usd`). The upper bound is null in both forms when the data cannot bound it.
type MoneyRange struct {
	PointNano int64   `json:"point_nano"`
	PointUSD  string  `json:"point_usd"`
	LoNano    int64   `json:"lo_nano"`
	LoUSD     string  `json:"lo_usd"`
	HiNano    *int64  `json:"hi_nano"`
	HiUSD     *string `json:"hi_usd"`
}

func moneyRange(point pipeline.Money, i Interval) MoneyRange {
	lo := nano(i.Lo)
	r := MoneyRange{PointNano: int64(point), PointUSD: point.Dollars(9), LoNano: int64(lo), LoUSD: lo.Dollars(9)}
	if !math.IsInf(i.Hi, 1) && !math.IsNaN(i.Hi) {
		hi := nano(i.Hi)
		h, s := int64(hi), hi.Dollars(9)
		r.HiNano, r.HiUSD = &h, &s
	}
	return r
}

// nano rounds a float amount of nano-dollars (an interval bound, an estimate) to Money.
func nano(f float64) pipeline.Money {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return pipeline.Money(math.Round(f))
}

// Rate is an observed (or user-supplied) proportion with its Wilson interval and sample.
type Rate struct {
	Point   float64 `json:"point"`
	Lo      float64 `json:"lo"`
	Hi      float64 `json:"hi"`
	Count   uint64  `json:"count"`
	Samples uint64  `json:"samples"`
}

func rate(k, n uint64) Rate {
	w := Wilson(k, n)
	return Rate{Point: w.Point, Lo: w.Lo, Hi: w.Hi, Count: k, Samples: n}
}

// Range is a non-money estimate with its interval; Hi is null when unbounded.
type Range struct {
	Point float64  `json:"point"`
	Lo    float64  `json:"lo"`
	Hi    *float64 `json:"hi"`
}

func rangeOf(i Interval) Range {
	r := Range{Point: i.Point, Lo: i.Lo}
	if !math.IsInf(i.Hi, 1) && !math.IsNaN(i.Hi) {
		h := i.Hi
		r.Hi = &h
	}
	return r
}

// ratRound rounds a non-negative rational amount of nano-dollars half away from zero.
func ratRound(r *big.Rat) pipeline.Money {
	num, den := new(big.Int).Set(r.Num()), r.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return math.MaxInt64
	}
	if neg {
		return -pipeline.Money(q.Int64())
	}
	return pipeline.Money(q.Int64())
}

func ratOf(m pipeline.Money) *big.Rat { return new(big.Rat).SetInt64(int64(m)) }

func ratFrac(m pipeline.Money, n uint64) *big.Rat {
	if n == 0 {
		return new(big.Rat)
	}
	return new(big.Rat).SetFrac(big.NewInt(int64(m)), new(big.Int).SetUint64(n))
}

// monthly scales a count over the window to 30 days.
func monthly(n uint64, from, to time.Time) uint64 {
	d := to.Sub(from)
	if d <= 0 {
		return 0
	}
	return uint64(math.Round(float64(n) * float64(30*24*time.Hour) / float64(d)))
}
