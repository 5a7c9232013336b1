package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as Go writes it (90s, 1h30m, 500ms) plus days and weeks
// (7d, 2w, 1d12h). Negative durations are an error: every unitcost duration is a length.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if strings.HasPrefix(in, "-") {
		return 0, fmt.Errorf("%q is negative; want a length such as 30s, 5h or 7d", s)
	}
	var total time.Duration
	rest := in
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') && rest[j] != '.' {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if num == "" {
			return 0, fmt.Errorf("%q is not a duration; want a number and a unit such as 500ms, 30s, 5h, 7d or 2w", s)
		}
		var d time.Duration
		switch unit {
		case "d", "w":
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration", s)
			}
			day := 24 * time.Hour
			if unit == "w" {
				day *= 7
			}
			d = time.Duration(n * float64(day))
		default:
			var err error
			if d, err = time.ParseDuration(num + unit); err != nil {
				if unit == "" && num == "0" {
					d = 0
				} else {
					return 0, fmt.Errorf("%q is not a duration; want a number and a unit such as 500ms, 30s, 5h, 7d or 2w", s)
				}
			}
		}
		total += d
	}
	if in == "" {
		return 0, errors.New("empty duration; want one such as 30s, 5h or 7d")
	}
	return total, nil
}

// ParseSince reads the start of a window ending at now: a positive length (5h, 7d,
// 1h30m), a date (2026-11-01, midnight UTC) or an RFC 3339 time
// (2026-11-01T08:00:00Z). The error names what is accepted.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if t, err := ParseTime(s); err == nil {
		return t, nil
	}
	if strings.HasPrefix(strings.TrimSpace(s), "-") {
		return time.Time{}, fmt.Errorf("%q is negative: a window starts before its end; want a length such as 5h or 7d, a date 2006-01-02, or a time 2006-01-02T15:04:05Z", s)
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want a length such as 5h, 7d or 1h30m, a date 2006-01-02, or a time 2006-01-02T15:04:05Z", s)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("%q: the window must be longer than zero", s)
	}
	return now.Add(-d), nil
}

// ParseTime reads a date (2006-01-02, midnight UTC) or an RFC 3339 time.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want a date 2006-01-02 or a time 2006-01-02T15:04:05Z", s)
	}
	return t, nil
}
