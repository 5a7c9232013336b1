package pipeline

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Money is an exact amount in nano-dollars (1e-9 USD). Costs are summed as integers;
// float64 never accumulates money anywhere in unitcost.
type Money int64

// NanosPerDollar is the number of Money units in one US dollar.
const NanosPerDollar = 1_000_000_000

// ParseMoney parses a decimal dollar amount such as "3", "0.075" or "-1.5" exactly.
// More than nine fractional digits is an error rather than a silent rounding.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "$"))
	if s == "" {
		return 0, fmt.Errorf("parse money %q: empty", s)
	}
	neg := false
	if s[0] == '-' {
		neg, s = true, s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 9 {
		return 0, fmt.Errorf("parse money %q: more than 9 decimal places (nano-dollar precision)", s)
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseUint(whole, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("parse money %q: %w", s, err)
	}
	var f uint64
	if frac != "" {
		f, err = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 63)
		if err != nil {
			return 0, fmt.Errorf("parse money %q: %w", s, err)
		}
	}
	if w > (math.MaxInt64-f)/NanosPerDollar {
		return 0, fmt.Errorf("parse money %q: out of range", s)
	}
	v := Money(w*NanosPerDollar + f)
	if neg {
		v = -v
	}
	return v, nil
}

// MustMoney is ParseMoney for constants in tests and built-in tables; it panics on a
// malformed literal, which is a programming error, never input.
func MustMoney(s string) Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

// String renders the amount as dollars with all nine decimals, e.g. "$0.012500000".
func (m Money) String() string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-m)
	}
	return fmt.Sprintf("%s$%d.%09d", sign, u/NanosPerDollar, u%NanosPerDollar)
}

// Dollars renders the amount with the given number of decimals, rounded half away from
// zero, without the dollar sign (for tables).
func (m Money) Dollars(decimals int) string {
	if decimals < 0 || decimals > 9 {
		decimals = 9
	}
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-m)
	}
	unit := uint64(math.Pow10(9 - decimals))
	u = (u + unit/2) / unit * unit
	s := fmt.Sprintf("%d.%09d", u/NanosPerDollar, u%NanosPerDollar)
	if decimals == 0 {
		return sign + s[:strings.IndexByte(s, '.')]
	}
	return sign + s[:len(s)-(9-decimals)]
}

// MulDiv returns round(q * rate / per) exactly (half away from zero), for a non-negative
// quantity q priced at rate per `per` units: for example tokens at a price per million
// tokens. The 128-bit intermediate never overflows; a result beyond int64 saturates and
// reports false.
func MulDiv(q uint64, rate Money, per uint64) (Money, bool) {
	if per == 0 {
		return 0, false
	}
	neg := rate < 0
	r := uint64(rate)
	if neg {
		r = uint64(-rate)
	}
	hi, lo := bits.Mul64(q, r)
	if hi >= per {
		return saturate(neg), false
	}
	quo, rem := bits.Div64(hi, lo, per)
	if rem >= per-rem { // rem*2 >= per without overflow
		quo++
	}
	if quo > math.MaxInt64 {
		return saturate(neg), false
	}
	if neg {
		return -Money(quo), true
	}
	return Money(quo), true
}

func saturate(neg bool) Money {
	if neg {
		return math.MinInt64
	}
	return math.MaxInt64
}
