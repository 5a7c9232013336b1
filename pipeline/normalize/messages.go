package normalize

import (
	"strings"

	"github.com/segmentio/encoding/json"
)

// messageTexts extracts the text of a JSON message list as instrumentation captures it:
// every string under a "content", "text" or "system" key, at any depth, each a piece of
// its own (pieces are counted one by one, so their order never changes a count). Input
// that is not JSON is returned as one piece (it is text already).
func messageTexts(s string) []string {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil
	}
	if t[0] != '[' && t[0] != '{' {
		return []string{s}
	}
	var v any
	if err := json.Unmarshal([]byte(t), &v); err != nil {
		return []string{s}
	}
	var out []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, k)
			}
		case []any:
			for _, c := range x {
				walk(c, key)
			}
		case string:
			if x != "" && (key == "content" || key == "text" || key == "system") {
				out = append(out, x)
			}
		}
	}
	walk(v, "")
	return out
}

// jsonNumbers decodes a flat JSON object of numbers (Langfuse's usage and cost details);
// nil when s is not one.
func jsonNumbers(s string) map[string]float64 {
	var m map[string]float64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil
	}
	return m
}
