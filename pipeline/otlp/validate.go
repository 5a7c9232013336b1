package otlp

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// DropInvalid removes spans that can never be stitched - an all-zero trace id or span id -
// from td in place, and returns how many it removed and why (for the OTLP partial-success
// response, so the client learns which spans were rejected instead of losing them
// silently). Everything else passes through; values are checked later, in normalisation.
func DropInvalid(td ptrace.Traces) (int, string) {
	var (
		rejected int
		examples []string
	)
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(sp ptrace.Span) bool {
				reason := ""
				switch {
				case sp.TraceID().IsEmpty():
					reason = "all-zero trace id"
				case sp.SpanID().IsEmpty():
					reason = "all-zero span id"
				default:
					return false
				}
				rejected++
				if len(examples) < 3 {
					examples = append(examples, fmt.Sprintf("span %q: %s", clip(sp.Name(), 64), reason))
				}
				return true
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
	if rejected == 0 {
		return 0, ""
	}
	msg := fmt.Sprintf("%d span(s) rejected: %s", rejected, strings.Join(examples, "; "))
	if rejected > len(examples) {
		msg += "; ..."
	}
	return rejected, msg
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
