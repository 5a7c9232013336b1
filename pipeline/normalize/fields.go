package normalize

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/unitcost/unitcost/pipeline"
)

// ranks: higher wins when two families name the same concept. A renamed attribute reads
// one below its new name (e.g. cache_creation below cache_write).
const (
	rankOther    = 10 // OpenInference, Vercel, Langfuse, Traceloop
	rankOldGenAI = 20 // deprecated gen_ai.* names
	rankRenamed  = 29 // current GenAI names renamed since
	rankGenAI    = 30 // current OTel GenAI
	rankUnitcost = 40 // unitcost's own conventions
)

// sKey indexes the string concepts a span may carry.
type sKey uint8

const (
	sProvider sKey = iota
	sModel
	sResponseModel
	sOperation
	sWorkflow // unitcost.workflow.name, gen_ai.workflow.name
	sWorkflowVersion
	sOutcome
	sAgent
	sEntity       // traceloop.entity.name
	sTraceloopWfl // traceloop.workflow.name
	sTenant
	sTeam
	sFeature
	sSession
	sUser
	sTool
	sReviewRole
	sReviewOutcome
	sComputeClass
	sStep // unitcost.step
	sServiceTier
	sService
	sEnvironment
	sCostCurrency
	sCostSource
	sDBSystem
	nStr
)

// nKey indexes the numeric concepts.
type nKey uint8

const (
	nInput nKey = iota
	nOutput
	nCacheRead
	nCacheWrite
	nCacheWrite1h
	nReasoning
	nAudioIn
	nImageIn
	nAudioOut
	nShare
	nValidated
	nReviewActive
	nReviewQueue
	nUnits
	nCost
	nCostPrompt
	nCostCompletion
	nNum
)

type strField struct {
	v    string
	rank int8
}

func (f *strField) set(v string, rank int8) {
	if v != "" && rank > f.rank {
		f.v, f.rank = v, rank
	}
}

type numField struct {
	v    float64
	rank int8
}

func (f *numField) set(v float64, rank int8) bool {
	if rank > f.rank {
		f.v, f.rank = v, rank
		return true
	}
	return false
}

// fields is what one pass over a span's (and its resource's) attributes found.
type fields struct {
	s [nStr]strField
	n [nNum]numField
	// inputExclusive: the winning input count excludes cached tokens (Vercel AI SDK <= v5).
	inputExclusive bool
	workflowMarked bool
	internal       bool // gen_ai.invocation.internal
	labels         []labelField
	labelMap       map[string]string // configured attribute -> label key
	msgs           []msg
	roles          map[string]string // "src#idx" -> role, flattened families
	outContent     []string
	contentBytes   int
	maxContent     int
	tokensBeyond   bool // a token count was beyond its limits (not counted)
	issues         []string
}

type labelField struct {
	key, value string
	rank       int8
}

func (f *fields) label(key, value string, rank int8) {
	if key == "" || value == "" {
		return
	}
	for i := range f.labels {
		if f.labels[i].key == key {
			if rank > f.labels[i].rank {
				f.labels[i].value, f.labels[i].rank = value, rank
			}
			return
		}
	}
	f.labels = append(f.labels, labelField{key: key, value: value, rank: rank})
}

// num reads an int, double or numeric string into dst; it reports whether the value won.
// A value that is none of these is an issue.
func (f *fields) num(dst *numField, k string, v *value, rank int8) bool {
	x, ok := f.number(k, v)
	return ok && dst.set(x, rank)
}

func (f *fields) number(k string, v *value) (float64, bool) {
	var x float64
	switch v.typ {
	case pcommon.ValueTypeInt:
		x = float64(v.i)
	case pcommon.ValueTypeDouble:
		x = v.d
	case pcommon.ValueTypeStr:
		s := strings.TrimSpace(v.s)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			x = float64(i)
		} else if d, err := strconv.ParseFloat(s, 64); err == nil {
			x = d
		} else {
			f.issues = append(f.issues, fmt.Sprintf("%s: %q is not a number; ignored", k, clip(s, 32)))
			return 0, false
		}
	default:
		f.issues = append(f.issues, fmt.Sprintf("%s: %s value is not a number; ignored", k, v.typ))
		return 0, false
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		f.issues = append(f.issues, fmt.Sprintf("%s: %v; ignored", k, x))
		return 0, false
	}
	return x, true
}

func (f *fields) tokens(k nKey, what string, lim Limits) uint64 {
	n := len(f.issues)
	v := f.count(f.n[k], what, lim.MaxTokens)
	if len(f.issues) > n {
		f.tokensBeyond = true
	}
	return v
}

// count reads a count in [0, max]. A value beyond either bound is not what happened:
// it is not counted (0, never the bound) and the issue says so ("... above limit ..." or
// "... below limit ..."), which quarantines the line billed by it (pricing keeps that line
// unpriced with the reason). Billing or counting the bound would invent dollars or
// outputs: 1e12 validated outputs counted as 1e8 would change a unit cost silently.
func (f *fields) count(n numField, what string, max uint64) uint64 {
	switch {
	case n.rank == 0 || n.v == 0:
		return 0
	case n.v < 0:
		f.issues = append(f.issues, fmt.Sprintf("%s %v below limit 0; not counted", what, n.v))
		return 0
	case n.v > float64(max):
		f.issues = append(f.issues, fmt.Sprintf("%s %.0f above limit %d; not counted", what, n.v, max))
		return 0
	}
	return uint64(math.Round(n.v))
}

// seconds reads a duration in seconds as milliseconds, in [0, MaxReviewSeconds]; beyond
// either bound it is not counted, as count.
func (f *fields) seconds(n numField, what string, lim Limits) uint64 {
	switch {
	case n.rank == 0:
		return 0
	case n.v < 0:
		f.issues = append(f.issues, fmt.Sprintf("%s %v below limit 0; not counted", what, n.v))
		return 0
	case n.v > lim.MaxReviewSeconds:
		f.issues = append(f.issues, fmt.Sprintf("%s %v above limit %v; not counted", what, n.v, lim.MaxReviewSeconds))
		return 0
	}
	return uint64(math.Round(n.v * 1000))
}

// str makes a label safe to store: valid UTF-8 and at most MaxStringBytes.
func (f *fields) str(s, what string, lim Limits) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		f.issues = append(f.issues, what+": invalid UTF-8 replaced")
	}
	if len(s) > lim.MaxStringBytes {
		f.issues = append(f.issues, fmt.Sprintf("%s: %d bytes truncated to %d", what, len(s), lim.MaxStringBytes))
		s = clip(s, lim.MaxStringBytes)
	}
	return s
}

// get is the safe form of string concept k.
func (f *fields) get(k sKey, what string, lim Limits) string {
	return f.str(f.s[k].v, what, lim)
}

// clip truncates s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// labelsOut returns the span's labels sorted by key, made safe.
func (f *fields) labelsOut(lim Limits) []pipeline.Label {
	if len(f.labels) == 0 {
		return nil
	}
	out := make([]pipeline.Label, 0, len(f.labels))
	for _, l := range f.labels {
		out = append(out, pipeline.Label{Key: f.str(l.key, "label key", lim), Value: f.str(l.value, "label "+clip(l.key, 32), lim)})
	}
	for i := 1; i < len(out); i++ { // insertion sort: a handful of labels
		for j := i; j > 0 && out[j].Key < out[j-1].Key; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
