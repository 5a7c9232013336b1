package pipeline_test

import (
	"math"
	"testing"

	"github.com/unitcost/unitcost/pipeline"
)

func TestParseMoney(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]pipeline.Money{"3": 3_000_000_000, "0.075": 75_000_000, "$1.5": 1_500_000_000,
		"-0.000000001": -1, ".5": 500_000_000, "9223372036.854775807": math.MaxInt64} {
		got, err := pipeline.ParseMoney(in)
		if err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "0.0000000001", "9223372036.854775808", "1e3"} {
		if _, err := pipeline.ParseMoney(bad); err == nil {
			t.Errorf("ParseMoney(%q) accepted", bad)
		}
	}
}

func TestMoneyFormatting(t *testing.T) {
	t.Parallel()
	if s := pipeline.Money(12_500_000).String(); s != "$0.012500000" {
		t.Errorf("String = %s", s)
	}
	if s := pipeline.Money(-1).String(); s != "-$0.000000001" {
		t.Errorf("String = %s", s)
	}
	if s := pipeline.Money(1_234_567_890).Dollars(4); s != "1.2346" {
		t.Errorf("Dollars(4) = %s", s)
	}
	if s := pipeline.Money(999_950_000).Dollars(4); s != "1.0000" {
		t.Errorf("Dollars(4) carry = %s", s)
	}
}

func TestMulDiv(t *testing.T) {
	t.Parallel()
	cases := []struct {
		q    uint64
		rate pipeline.Money
		per  uint64
		want pipeline.Money
		ok   bool
	}{
		{3, 37_500_000, 1_000_000, 113, true},                    // 112.5 -> 113
		{1, 5, 2, 3, true},                                       // 2.5 -> 3
		{1, 4, 3, 1, true},                                       // 1.33 -> 1
		{1 << 40, 1 << 40, 1 << 20, 1 << 60, true},               // the product needs 81 bits
		{math.MaxUint64, math.MaxInt64, 1, math.MaxInt64, false}, // saturates, reports it
		{1, -5, 2, -3, true},
	}
	for _, c := range cases {
		got, ok := pipeline.MulDiv(c.q, c.rate, c.per)
		if got != c.want || ok != c.ok {
			t.Errorf("MulDiv(%d, %d, %d) = %d, %v; want %d, %v", c.q, c.rate, c.per, got, ok, c.want, c.ok)
		}
	}
}
