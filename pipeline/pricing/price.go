package pricing

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/unitcost/unitcost/pipeline"
)

const perMillion = 1_000_000

// Price appends the line items of one span to dst. A span of no billable kind yields
// nothing. A billable span with no matching price yields an unpriced line (cost 0, with
// the reason): never dropped, never guessed. A line whose quantity was beyond a limit
// (see quarantine) is unpriced too: a clamped value is not what happened.
func (b *Book) Price(dst []pipeline.LineItem, sp *pipeline.Span, workflowID string) []pipeline.LineItem {
	n := len(dst)
	dst = b.price(dst, sp, workflowID)
	if len(sp.Issues) > 0 {
		for i := n; i < len(dst); i++ {
			quarantine(&dst[i])
		}
	}
	return dst
}

func (b *Book) price(dst []pipeline.LineItem, sp *pipeline.Span, workflowID string) []pipeline.LineItem {
	li := pipeline.LineItem{Span: sp, WorkflowID: workflowID, PriceVersion: b.Version}
	u := &sp.Usage
	switch {
	case sp.Operation == pipeline.OpHumanReview:
		li.Component = pipeline.ComponentReview
		li.Quantity, li.Unit = float64(sp.ReviewActiveMs)/1000, "seconds"
		b.hourly(&li, b.review, "review", sp.ReviewRole, sp.ReviewActiveMs, 10_000)
		dst = append(dst, li)
	case sp.Model != "" && (u.InputTokens > 0 || u.OutputTokens > 0):
		li.Component = pipeline.ComponentModel
		li.Quantity, li.Unit = float64(u.InputTokens+u.OutputTokens), "tokens"
		b.model(&li, sp)
		dst = append(dst, li)
	case sp.Unpriced != "":
		// A model call that cannot be priced (no model, or no usage): a visible line at
		// cost 0 with the reason, never nothing.
		li.Component = pipeline.ComponentModel
		li.Quantity, li.Unit = float64(u.InputTokens+u.OutputTokens), "tokens"
		li.UnpricedReason = sp.Unpriced
		dst = append(dst, li)
	case sp.Operation == pipeline.OpTool:
		li.Component = pipeline.ComponentTool
		li.Quantity, li.Unit = 1, "calls"
		b.unit(&li, b.tools, "tool", sp.ToolName, 1)
		dst = append(dst, li)
	case sp.Operation == pipeline.OpRetrieval:
		units := sp.RetrievalUnits
		if units == 0 {
			units = 1
		}
		li.Component = pipeline.ComponentRetrieval
		li.Quantity, li.Unit = float64(units), "queries"
		b.unit(&li, b.retr, "retrieval", "default", units)
		dst = append(dst, li)
	}
	if sp.ComputeClass != "" {
		c := pipeline.LineItem{Span: sp, WorkflowID: workflowID, PriceVersion: b.Version, Component: pipeline.ComponentCompute}
		ms := sp.DurationMs()
		c.Quantity, c.Unit = float64(ms)/1000, "seconds"
		share := sp.ComputeShareBP
		if share == 0 || share > 10_000 {
			share = 10_000
		}
		b.hourly(&c, b.comp, "compute", sp.ComputeClass, ms, share)
		dst = append(dst, c)
	}
	return dst
}

// QuarantinePrefix starts the unpriced reason of a quarantined line.
const QuarantinePrefix = "quarantined: "

// quarantine unprices li when its span recorded an issue of a quantity beyond a limit that
// the line is billed by ("... above limit ..." or "... below limit ...": token counts for
// the model line, review seconds for the review line, retrieval units, span duration and
// compute share for compute). Normalisation does not count such values (never the
// bound: billing a review clamped to 30 days would be $43,200), and the line keeps cost 0
// and the reason.
func quarantine(li *pipeline.LineItem) {
	for _, is := range li.Span.Issues {
		i := strings.Index(is, " above limit ")
		if i < 0 {
			i = strings.Index(is, " below limit ")
		}
		limited := i >= 0 && limitedComponent(is[:i]) == li.Component
		// A time replaced because it could not be true (an end before the start, a time
		// outside 2000..2100: see process.checkTimes) leaves a duration that is not what
		// happened; the compute billed by it is quarantined too, never billed as 0 s or
		// as a duration between made-up times.
		limited = limited || li.Component == pipeline.ComponentCompute &&
			(strings.HasPrefix(is, "end before start") || strings.Contains(is, "outside 2000..2100"))
		if !limited {
			continue
		}
		li.Cost, li.Priced, li.PriceRule, li.Quantity = 0, false, "", 0
		li.UnpricedReason = QuarantinePrefix + is
		return
	}
}

// limitedComponent is the line a limited quantity is billed by, from the start of its
// issue text (the quantity's name and value).
func limitedComponent(what string) pipeline.Component {
	switch {
	case strings.HasPrefix(what, "review "):
		return pipeline.ComponentReview
	case strings.HasPrefix(what, "retrieval units"):
		return pipeline.ComponentRetrieval
	case strings.HasPrefix(what, "span duration"), strings.HasPrefix(what, "compute share"):
		return pipeline.ComponentCompute
	case strings.Contains(what, "tokens"):
		return pipeline.ComponentModel
	}
	return ""
}

func (b *Book) model(li *pipeline.LineItem, sp *pipeline.Span) {
	m, discount, override, ok := b.LookupTenantModel(sp.Tenant, sp.Provider, sp.Model)
	if !ok {
		li.UnpricedReason = b.unknownReason(sp.Provider, sp.Model)
		return
	}
	u := &sp.Usage
	r, tiers := m.resolve(u.InputTokens, sp.ServiceTier)
	// The standard rates' rule is the model's own string (built once per book); only a
	// context or service tier, a tenant override or a discount builds one per line.
	rule := m.rule
	if rule == "" || tiers != m.route {
		rule = "model:" + m.Model + tiers
	}
	if override {
		rule = "tenant:" + sp.Tenant + "/" + rule
	}
	// Input splits into cached (read, write), audio, image and the rest (text); output
	// into reasoning, audio and the rest. Each part is billed once, at its own rate.
	special := u.CacheReadTokens + u.CacheWriteTokens + u.AudioInputTokens + u.ImageInputTokens
	text := uint64(0)
	if u.InputTokens > special {
		text = u.InputTokens - special
	}
	w1h := min(u.CacheWrite1hTokens, u.CacheWriteTokens)
	outText := uint64(0)
	if u.OutputTokens > u.ReasoningTokens+u.AudioOutputTokens {
		outText = u.OutputTokens - u.ReasoningTokens - u.AudioOutputTokens
	}
	var acc acc128
	acc.add(text, r.in)
	acc.add(u.CacheReadTokens, r.read)
	acc.add(u.CacheWriteTokens-w1h, r.write)
	acc.add(w1h, r.write1h)
	acc.add(u.AudioInputTokens, r.audioIn)
	acc.add(u.ImageInputTokens, r.imageIn)
	acc.add(outText, r.out)
	acc.add(u.ReasoningTokens, r.reasoning)
	acc.add(u.AudioOutputTokens, r.audioOut)
	per := uint64(perMillion)
	if discount > 0 {
		// cost x (10000 - bp) / 10000, still one rounding at the end
		if !acc.mul(10_000 - discount) {
			li.UnpricedReason = "cost overflows int64 nano-dollars"
			return
		}
		per *= 10_000
		rule += fmt.Sprintf("-%d.%02d%%", discount/100, discount%100)
	}
	li.Cost, li.Priced = acc.div(per)
	li.PriceRule = rule
	if !li.Priced {
		li.UnpricedReason = "cost overflows int64 nano-dollars"
	}
}

func (b *Book) unit(li *pipeline.LineItem, rates map[string]*UnitRate, what, name string, units uint64) {
	r, ok := rates[strings.ToLower(name)]
	if !ok {
		r, ok = rates["default"]
	}
	if !ok {
		li.UnpricedReason = fmt.Sprintf("no %s rate for %q and no default: add one to the price book", what, name)
		return
	}
	var acc acc128
	acc.add(1, r.PerCall.Money)
	acc.add(units, r.PerUnit.Money)
	li.Cost, li.Priced = acc.div(1)
	li.PriceRule = r.rule
	if li.PriceRule == "" {
		li.PriceRule = what + ":" + r.Name
	}
}

// hourly prices time: ms of wall time x the share (basis points) of the rate's unit used,
// at the named rate or the default one, rounded once.
func (b *Book) hourly(li *pipeline.LineItem, rates map[string]*HourlyRate, what, name string, ms, shareBP uint64) {
	r, ok := rates[strings.ToLower(name)]
	if !ok {
		r, ok = rates["default"]
	}
	if !ok {
		li.UnpricedReason = fmt.Sprintf("no %s rate for %q and no default: add one to the price book", what, name)
		return
	}
	var acc acc128
	acc.add(ms*shareBP, r.PerHour.Money)
	li.Cost, li.Priced = acc.div(3_600_000 * 10_000)
	li.PriceRule = r.rule
	if li.PriceRule == "" {
		li.PriceRule = what + ":" + r.Name
	}
	if shareBP != 10_000 {
		li.PriceRule += fmt.Sprintf(" share %d.%02d%%", shareBP/100, shareBP%100)
	}
}

// acc128 sums quantity x rate products exactly before the single rounding division.
type acc128 struct {
	hi, lo uint64
	neg    bool
}

func (a *acc128) add(q uint64, rate pipeline.Money) {
	if q == 0 || rate <= 0 {
		return
	}
	hi, lo := bits.Mul64(q, uint64(rate))
	var c uint64
	a.lo, c = bits.Add64(a.lo, lo, 0)
	a.hi, _ = bits.Add64(a.hi, hi, c)
}

// mul multiplies the sum by m; false on overflow of 128 bits.
func (a *acc128) mul(m uint64) bool {
	hiHi, hiLo := bits.Mul64(a.hi, m)
	loHi, loLo := bits.Mul64(a.lo, m)
	hi, c := bits.Add64(hiLo, loHi, 0)
	if hiHi != 0 || c != 0 {
		return false
	}
	a.hi, a.lo = hi, loLo
	return true
}

func (a *acc128) div(per uint64) (pipeline.Money, bool) {
	if a.hi >= per {
		return 0, false
	}
	q, r := bits.Div64(a.hi, a.lo, per)
	if r >= per-r {
		q++
	}
	if q > 1<<63-1 {
		return 0, false
	}
	return pipeline.Money(q), true
}
