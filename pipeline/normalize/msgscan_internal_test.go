package normalize

import (
	"slices"
	"strings"
	"testing"
)

func messagesOf(ms []msg) []string {
	var out []string
	for _, m := range ms {
		out = append(out, strings.Join([]string{m.src, string(rune('0' + m.idx%10)), m.role, m.text}, "|"))
	}
	slices.Sort(out)
	return out
}

// checkScan holds the fast path to the general parser: the same messages (as a
// multiset: the general parser's order within a message follows Go's map order), or
// the fast path declines.
func checkScan(t *testing.T, s string) bool {
	t.Helper()
	want := messagesOf(parseMessages(s, "system"))
	var p jscan
	got := messagesIn(&p, s, "system")
	if g := messagesOf(got); !slices.Equal(g, want) {
		t.Fatalf("%q:\n got %q\nwant %q", s, g, want)
	}
	tr := strings.TrimSpace(s)
	if tr == "" || tr[0] != '[' {
		return false
	}
	var q jscan
	return q.scanMessages(tr, "system")
}

var scanSeeds = []string{
	`[{"role":"user","parts":[{"type":"text","content":"How do I rotate my API key?"}]},{"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"Passage 1"}]}]`,
	`[{"type":"text","content":"Answer from the retrieved passages only."}]`,
	`[{"role":"assistant","parts":[{"type":"text","content":"Open Settings."}]}]`,
	`[{"role":"system","content":"sys"},{"role":"user","content":[{"type":"text","text":"q1"}]},{"role":"assistant","content":"a1"},{"role":"user","content":"q2"}]`,
	` [ { "role" : "USER" , "content" : "x" , "n" : -12.5, "ok": true, "no": false, "z": null, "e": [] , "o": {} } ] `,
	`[{"role":["user"],"content":"x"}]`,
	`[{"role":"user","content":"a","content":"b"}]`,
	`[{"role":"user","content":"a\nb"}]`,
	`[{"content":"\u00e9"}]`,
	`[{"content":"` + "\xff" + `"}]`,
	`[{"n":1e400,"content":"x"}]`,
	`[{"n":01,"content":"x"}]`,
	`[{"n":1234567890123456789,"content":"x"}]`,
	`[null]`,
	`["a","b"]`,
	`[{"content":"x"}] trailing`,
	`[{"content":"x"}`,
	`[]`,
	`[{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":{"j":{"k":{"l":{"m":{"n":{"o":{"p":{"q":{"text":"deep"}}}}}}}}}}}}}}}}}}]`,
	`[{"result":"r","system":"s","text":"","response":["a",["b"]]}]`,
	`{"content":"obj"}`,
	`[{"content":"x"},]`,
	`[{"content":"x",}]`,
	`[{"content":tru}]`,
	`[{"content":"x" "y"}]`,
}

func TestScanMessagesEqualsParser(t *testing.T) {
	t.Parallel()
	fast := 0
	for _, s := range scanSeeds {
		if checkScan(t, s) {
			fast++
		}
	}
	if fast < 6 {
		t.Errorf("the fast path took only %d of the usual shapes", fast)
	}
}

func FuzzScanMessages(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkScan(t, s) })
}
