package normalize

import (
	"fmt"
	"math"
	"strings"

	"github.com/unitcost/unitcost/pipeline"
	sc "github.com/unitcost/unitcost/pipeline/semconv"
)

// usage fills the token counts: input always includes cached tokens, output always
// includes reasoning tokens, whatever the family reported.
func (f *fields) usage(out *pipeline.Span, lim Limits) {
	u := &out.Usage
	u.InputTokens = f.tokens(nInput, "input tokens", lim)
	u.OutputTokens = f.tokens(nOutput, "output tokens", lim)
	u.CacheReadTokens = f.tokens(nCacheRead, "cache read tokens", lim)
	u.CacheWriteTokens = f.tokens(nCacheWrite, "cache write tokens", lim)
	u.ReasoningTokens = f.tokens(nReasoning, "reasoning tokens", lim)
	u.CacheWrite1hTokens = f.tokens(nCacheWrite1h, "1-hour cache write tokens", lim)
	if u.CacheWrite1hTokens > u.CacheWriteTokens {
		// reported only the 1-hour part, or the 5-minute part elsewhere: 1h is part of writes
		u.CacheWriteTokens += u.CacheWrite1hTokens - min(u.CacheWriteTokens, u.CacheWrite1hTokens)
	}
	// Audio and image tokens are parts of the input (audio output of the output): a part
	// above its whole is not counted at the whole (the line is quarantined, see count).
	u.AudioInputTokens = f.part(f.tokens(nAudioIn, "audio input tokens", lim), "audio input tokens", u.InputTokens, "input tokens")
	u.ImageInputTokens = f.part(f.tokens(nImageIn, "image input tokens", lim), "image input tokens", u.InputTokens-u.AudioInputTokens, "input tokens less audio")
	u.AudioOutputTokens = f.part(f.tokens(nAudioOut, "audio output tokens", lim), "audio output tokens", u.OutputTokens, "output tokens")
	out.ComputeShareBP = 10_000
	if sh := f.n[nShare]; sh.rank > 0 {
		switch {
		case sh.v > 1:
			// Billing the whole node for a share above it would bill a clamp: the
			// compute line is quarantined instead.
			f.issues = append(f.issues, fmt.Sprintf("compute share %v above limit 1; not counted", sh.v))
		case sh.v <= 0:
			f.issues = append(f.issues, fmt.Sprintf("compute share %v below limit 0 (a share is above 0); not counted", sh.v))
		default:
			out.ComputeShareBP = uint64(math.Round(sh.v * 10_000))
		}
	}
	switch tier := strings.ToLower(f.get(sServiceTier, "service tier", lim)); tier {
	case "", "default", "auto", "standard", "on_demand":
	default:
		out.ServiceTier = tier
	}
	cached := u.CacheReadTokens + u.CacheWriteTokens
	switch {
	case f.inputExclusive && f.n[nInput].rank > 0:
		u.InputTokens += cached // Vercel AI SDK <= v5 reports input without cached tokens
	case cached > u.InputTokens:
		// An inclusive count can never be below its cached part: this instrumentation
		// reported input excluding the cache. Make it inclusive and say so.
		u.InputTokens += cached
		f.issues = append(f.issues, "input tokens excluded cached tokens; added them")
	}
	if len(f.msgs) > 0 {
		out.InputContent = f.pieces()
	}
	if f.n[nOutput].rank == 0 && len(f.outContent) > 0 {
		out.OutputContent = f.outContent
	}
	if u.ReasoningTokens > u.OutputTokens {
		u.OutputTokens += u.ReasoningTokens
		f.issues = append(f.issues, "output tokens excluded reasoning tokens; added them")
	}
}

// part checks a part of a count against its whole: above it, it is not counted and the
// issue quarantines the model line.
func (f *fields) part(n uint64, what string, whole uint64, wholeWhat string) uint64 {
	if n <= whole {
		return n
	}
	f.issues = append(f.issues, fmt.Sprintf("%s %d above limit %d (the %s they are part of); not counted", what, n, whole, wholeWhat))
	return 0
}

// providerCost records a cost the instrumentation reported, beside the computed one:
// gen_ai.usage.cost.amount (or gen_ai.usage.cost), OpenInference llm.cost.total (or
// prompt + completion), Langfuse cost_details.
func (f *fields) providerCost(out *pipeline.Span, lim Limits) {
	c := f.n[nCost]
	if c.rank == 0 && (f.n[nCostPrompt].rank > 0 || f.n[nCostCompletion].rank > 0) {
		c = numField{v: f.n[nCostPrompt].v + f.n[nCostCompletion].v, rank: rankOther}
	}
	if c.rank == 0 {
		return
	}
	if c.v < 0 || c.v >= 1e6 || math.IsNaN(c.v) {
		f.issues = append(f.issues, fmt.Sprintf("provider cost %v out of range; ignored", c.v))
		return
	}
	out.ProviderCost = pipeline.Money(math.Round(c.v * pipeline.NanosPerDollar))
	out.HasProviderCost = true
	out.ProviderCostCurrency = strings.ToUpper(f.get(sCostCurrency, "provider cost currency", lim))
	out.ProviderCostSource = f.get(sCostSource, "provider cost source", lim)
	if out.ProviderCostSource == "" {
		switch c.rank {
		case rankGenAI, rankRenamed:
			out.ProviderCostSource = sc.GenAIUsageCost
		default:
			out.ProviderCostSource = costFamily(f)
		}
	}
}

func costFamily(f *fields) string {
	if f.n[nCostPrompt].rank > 0 || f.n[nCostCompletion].rank > 0 || f.n[nCost].rank == rankOther && f.s[sModel].rank == rankOther {
		return "openinference"
	}
	return "reported"
}

// silentDrops flags what used to vanish without a line or an issue: a model call with
// tokens but no model, or with a model but neither usage nor captured content. Pricing
// turns the flag into an unpriced line; the reason is a span issue too.
func (f *fields) silentDrops(out *pipeline.Span) {
	u := &out.Usage
	tokens := u.InputTokens > 0 || u.OutputTokens > 0
	if f.tokensBeyond && !tokens {
		// Every token count was beyond its limits: the model line is kept, unpriced, and
		// pricing names the limit (quarantined), rather than "no usage".
		out.Unpriced = "token counts beyond their limits"
		return
	}
	if !modelCalls[out.Operation] || f.internal {
		return
	}
	switch {
	case out.Model == "" && tokens:
		out.Unpriced = pipeline.UnpricedNoModel
	case out.Model != "" && !tokens && len(out.InputContent) == 0 && len(out.OutputContent) == 0 &&
		(out.Operation != "" || !out.WorkflowRoot):
		out.Unpriced = pipeline.UnpricedNoUsage
	default:
		return
	}
	f.issues = append(f.issues, out.Unpriced)
}
