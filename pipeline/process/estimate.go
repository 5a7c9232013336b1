package process

import (
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/pricing"
)

// Estimator counts a span's captured content with process's own reading of it
// (normalize) and tokenizer (pricing), for the spans that must be trimmed to fit a Kafka
// record (kafka.Bound): the count is taken from the whole content, before trimming, and
// travels on the span. Ingest uses it for OTLP requests, process for the Collector's
// records it re-keys.
func Estimator(lim normalize.Limits) kafka.Estimator {
	n := &normalize.Normalizer{Limits: lim, ContentBytes: math.MaxInt}
	tok := &pricing.Tokenizer{}
	return func(res pcommon.Map, sp ptrace.Span, tenant string) (uint64, uint64, []string) {
		var out pipeline.Span
		if err := n.Span(res, sp, tenant, &out); err != nil || out.Model == "" {
			// Without a model nothing bills by these tokens (process counts such content
			// but prices no line by it): a count written on the span would only turn it
			// into a model call without a model.
			return 0, 0, nil
		}
		in0, out0 := out.Usage.InputTokens, out.Usage.OutputTokens
		did, err := tok.Estimate(&out)
		if err != nil {
			return 0, 0, []string{"token estimate before trimming failed: " + err.Error()}
		}
		if !did {
			return 0, 0, nil
		}
		var in, o uint64
		if in0 == 0 {
			in = out.Usage.InputTokens
		}
		if out0 == 0 {
			o = out.Usage.OutputTokens
		}
		var issues []string
		for _, is := range out.Issues {
			if strings.Contains(is, "captured content") {
				issues = append(issues, is)
			}
		}
		return in, o, issues
	}
}

// preloadTokenizer loads the tokenizer's BPE tables (~0.4 s of CPU and ~34 MB, once per
// process) on another goroutine, so that the load overlaps joining the group and the first
// fetches instead of stalling the first span with captured content on the consuming
// goroutine. A span that needs the tables meanwhile waits for the same load (sync.Once).
func (p *Processor) preloadTokenizer() {
	go func() { _, _ = p.tok.Count("", nil) }()
}
