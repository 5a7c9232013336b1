package clickhouse_test

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// intervalTol is how far apart the two paths' interval bounds may be, relative to the
// bound (and at least a nano-dollar for bounds in nano-dollars). The bounds of the means'
// t-intervals (review cost per reviewed workflow, review hours, validated outputs per
// workflow and what derives from them) come from float64 sums of squares: nano-dollars
// squared exceed 2^53, so those sums are rounded, and summing per hour then across hours
// rounds them in another order than summing every workflow at once (ClickHouse's own
// parallel sum does not fix an order either). Money, counts, points, rates (Wilson,
// from counts) and every other figure must be identical.
const intervalTol = 1e-9

// intervalKeys are the JSON keys of interval bounds (MoneyRange, Range).
var intervalKeys = map[string]bool{"lo": true, "hi": true, "lo_nano": true, "hi_nano": true, "lo_usd": true, "hi_usd": true}

// sameReports compares two what-if JSON documents: every value identical, except the
// bounds of intervals, which may differ by intervalTol. It returns "" when they agree,
// else where they part.
func sameReports(a, b []byte) string {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return err.Error()
	}
	return compareJSON("", x, y)
}

func compareJSON(path string, x, y any) string {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return fmt.Sprintf("%s: %v vs %v", path, x, y)
		}
		keys := make([]string, 0, len(xv))
		for k := range xv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			yk, ok := yv[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing call by call", path, k)
			}
			if intervalKeys[k] && closeBounds(k, xv[k], yk) {
				continue
			}
			if d := compareJSON(path+"."+k, xv[k], yk); d != "" {
				return d
			}
		}
		return ""
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return fmt.Sprintf("%s: %d vs %d elements", path, len(xv), len(yv))
		}
		for i := range xv {
			if d := compareJSON(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if fmt.Sprint(x) != fmt.Sprint(y) {
			return fmt.Sprintf("%s: rollups %v, calls %v", path, x, y)
		}
		return ""
	}
}

// closeBounds says whether two interval bounds under key (numbers; nano-dollars; decimal
// strings of dollars; null for unbounded) agree within intervalTol, and a nano-dollar at
// least for money (each path rounds its own bound to whole nano-dollars).
func closeBounds(key string, x, y any) bool {
	if x == nil || y == nil {
		return x == nil && y == nil
	}
	num := func(v any) (float64, bool) {
		switch v := v.(type) {
		case float64:
			return v, true
		case string:
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
		return 0, false
	}
	a, ok1 := num(x)
	b, ok2 := num(y)
	if !ok1 || !ok2 {
		return false
	}
	tol := intervalTol * max(math.Abs(a), math.Abs(b))
	switch {
	case strings.HasSuffix(key, "_nano"):
		tol = max(tol, 1)
	case strings.HasSuffix(key, "_usd"):
		tol = max(tol, 1.5e-9)
	}
	return math.Abs(a-b) <= tol
}

// sameReports tolerates interval bounds a few ulps apart, and nothing else.
func TestSameReportsTolerance(t *testing.T) {
	base := `{"workflows":3,"machine_cost_nano":1000,"r":{"point":0.5,"lo":0.25,"hi":0.75,"lo_nano":1000000000,"lo_usd":"1.000000000","hi_nano":null,"hi_usd":null}}`
	for _, c := range []struct {
		other string
		same  bool
	}{
		{base, true},
		{strings.Replace(base, `"lo":0.25`, `"lo":0.25000000000001`, 1), true},
		{strings.Replace(base, `"lo_nano":1000000000,"lo_usd":"1.000000000"`, `"lo_nano":1000000001,"lo_usd":"1.000000001"`, 1), true},
		{strings.Replace(base, `"lo":0.25`, `"lo":0.2501`, 1), false},
		{strings.Replace(base, `"lo_nano":1000000000`, `"lo_nano":1000000100`, 1), false},
		{strings.Replace(base, `"point":0.5`, `"point":0.50000000000001`, 1), false},
		{strings.Replace(base, `"machine_cost_nano":1000`, `"machine_cost_nano":1001`, 1), false},
		{strings.Replace(base, `"hi_nano":null`, `"hi_nano":5`, 1), false},
	} {
		if d := sameReports([]byte(base), []byte(c.other)); (d == "") != c.same {
			t.Errorf("%s: same %v, want %v (%s)", c.other, d == "", c.same, d)
		}
	}
}
