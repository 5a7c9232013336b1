package normalize

import (
	"strings"

	"github.com/segmentio/encoding/json"
)

// messagesIn is parseMessages(s, role), read without the generic JSON parser where the
// usual shape allows (p.scanMessages; the result is then p's).
func messagesIn(p *jscan, s, role string) []msg {
	if t := strings.TrimSpace(s); t != "" && t[0] == '[' && p.scanMessages(t, role) {
		return p.out[:p.n]
	}
	return parseMessages(s, role)
}

// parseMessages reads a JSON message list - [{"role": ..., "parts": [{"content": ...}]}]
// (GenAI semconv) or [{"role": ..., "content": "..." | [{"text": ...}]}] (OpenAI, Vercel)
// - into messages with their roles and positions. Anything else is one message of the
// given role (text, or JSON of another shape read by messageTexts).
func parseMessages(s, role string) []msg {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil
	}
	if t[0] == '[' {
		var list []map[string]any
		if err := json.Unmarshal([]byte(t), &list); err == nil {
			var out []msg
			for i, el := range list {
				r := role
				if rv, ok := el["role"].(string); ok {
					r = strings.ToLower(rv)
				}
				for _, text := range messageTexts(mustJSON(el)) {
					out = append(out, msg{idx: i, role: r, text: text})
				}
			}
			return out
		}
	}
	var out []msg
	for _, text := range messageTexts(s) {
		out = append(out, msg{role: role, text: text})
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// messageTexts extracts the text of a JSON message list as instrumentation captures it:
// every string under a "content", "text", "system", "response" or "result" key (the last
// two hold tool results), at any depth, each a piece of
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
			if x != "" && (key == "content" || key == "text" || key == "system" || key == "response" || key == "result") {
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
