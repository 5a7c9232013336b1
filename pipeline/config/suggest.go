package config

import (
	"sort"
	"strings"
)

// Suggest returns the candidate closest to s (ignoring case, '_', '-' and '.'), or ""
// when none is close enough to be what the user meant.
func Suggest(s string, candidates []string) string { return suggest(s, candidates) }

func suggest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(x))
	}
	ns := norm(s)
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := levenshtein(ns, norm(c))
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(ns)/5) {
		return ""
	}
	return best
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func sortStrings(s []string) { sort.Strings(s) }
