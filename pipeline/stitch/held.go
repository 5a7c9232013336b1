package stitch

import (
	"encoding/binary"
	"fmt"

	"github.com/unitcost/unitcost/pipeline"
)

// An open trace holds its spans encoded, one after another, in one byte buffer: a
// pipeline.Span is ~600 bytes and a dozen separately allocated strings, most of its
// fields empty, and the stitcher may hold a million of them. Encoded, a span is its
// record's offset, its span id, then only its non-zero fields, each a one-byte tag and a
// value: integers as varints (times relative to the trace's first span), strings as ids
// into the stitcher's symbol table (or inline when not interned). The trace id and the
// authenticated tenant are the trace's. A trace is decoded back into exactly the spans
// that were added (TestHeldSpanRoundTrip checks every field) when it closes.

// field is the tag of one encoded Span field. fDone (0) ends a span.
type field uint8

const (
	fDone field = iota
	fParent
	fTenant
	fName
	fStart
	fEnd // end time, relative to the start
	fError
	fOperation
	fProvider
	fModel
	fInput
	fOutput
	fCacheRead
	fCacheWrite
	fCacheWrite1h
	fReasoning
	fAudioIn
	fImageIn
	fAudioOut
	fEstimated
	fMixSystem
	fMixContext
	fMixHistory
	fMixUser
	fMixOther
	fServiceTier
	fProviderCost
	fHasProviderCost
	fProviderCostCurrency
	fProviderCostSource
	fWorkflowRoot
	fWorkflowName
	fWorkflowVersion
	fOutcome
	fValidated
	fValidatedExplicit
	fOutcomeSource
	fSignal
	fAgent
	fStep
	fTeam
	fFeature
	fSession
	fUser
	fService
	fEnvironment
	fLabels
	fToolName
	fRetrievalUnits
	fComputeClass
	fComputeShareBP
	fReviewRole
	fReviewActiveMs
	fReviewQueueMs
	fReviewOutcome
	fInputContent
	fOutputContent
	fUnpriced
	fIssues
	// Strings inside lists and the signal have tags of their own for the recent-symbol
	// cache only; they are never written as field tags.
	fLabelKey
	fLabelValue
	fPieceRole
	fText
	fSignalOutcome
	fSignalSource
	fieldCount
)

// encoder appends one span to a trace's buffer.
type encoder struct {
	b    []byte
	syms *symbols
}

func (e *encoder) tag(f field)      { e.b = append(e.b, byte(f)) }
func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) flag(f field, v bool) {
	if v {
		e.tag(f)
	}
}

func (e *encoder) u(f field, v uint64) {
	if v != 0 {
		e.tag(f)
		e.uvarint(v)
	}
}

func (e *encoder) str(f field, s string) {
	if s != "" {
		e.tag(f)
		e.sym(f, s)
	}
}

// sym writes s as 2*id (interned) or 2*len+1 followed by the bytes (inline).
func (e *encoder) sym(f field, s string) {
	if s != "" {
		if id, ok := e.syms.ref(f, s); ok {
			e.uvarint(uint64(id) << 1)
			return
		}
	}
	e.uvarint(uint64(len(s))<<1 | 1)
	e.b = append(e.b, s...)
}

func (e *encoder) strs(f, item field, ss []string) {
	if ss != nil {
		e.tag(f)
		e.uvarint(uint64(len(ss)))
		for _, s := range ss {
			e.sym(item, s)
		}
	}
}

// span appends sp, which arrived in the record at offset, to trace t's buffer.
func (e *encoder) span(t *Trace, offset int64, sp *pipeline.Span) {
	e.varint(offset - t.baseOffset)
	e.b = append(e.b, sp.SpanID[:]...)
	if !sp.ParentSpanID.IsZero() {
		e.tag(fParent)
		e.b = append(e.b, sp.ParentSpanID[:]...)
	}
	e.str(fTenant, sp.Tenant)
	e.str(fName, sp.Name)
	if sp.StartUnixNano != t.baseStart {
		e.tag(fStart)
		e.varint(sp.StartUnixNano - t.baseStart)
	}
	if sp.EndUnixNano != sp.StartUnixNano {
		e.tag(fEnd)
		e.varint(sp.EndUnixNano - sp.StartUnixNano)
	}
	e.flag(fError, sp.Error)
	e.str(fOperation, string(sp.Operation))
	e.str(fProvider, sp.Provider)
	e.str(fModel, sp.Model)
	u := &sp.Usage
	e.u(fInput, u.InputTokens)
	e.u(fOutput, u.OutputTokens)
	e.u(fCacheRead, u.CacheReadTokens)
	e.u(fCacheWrite, u.CacheWriteTokens)
	e.u(fCacheWrite1h, u.CacheWrite1hTokens)
	e.u(fReasoning, u.ReasoningTokens)
	e.u(fAudioIn, u.AudioInputTokens)
	e.u(fImageIn, u.ImageInputTokens)
	e.u(fAudioOut, u.AudioOutputTokens)
	e.flag(fEstimated, u.Estimated)
	e.u(fMixSystem, u.Mix.System)
	e.u(fMixContext, u.Mix.Context)
	e.u(fMixHistory, u.Mix.History)
	e.u(fMixUser, u.Mix.User)
	e.u(fMixOther, u.Mix.Other)
	e.str(fServiceTier, sp.ServiceTier)
	if sp.ProviderCost != 0 {
		e.tag(fProviderCost)
		e.varint(int64(sp.ProviderCost))
	}
	e.flag(fHasProviderCost, sp.HasProviderCost)
	e.str(fProviderCostCurrency, sp.ProviderCostCurrency)
	e.str(fProviderCostSource, sp.ProviderCostSource)
	e.flag(fWorkflowRoot, sp.WorkflowRoot)
	e.str(fWorkflowName, sp.WorkflowName)
	e.str(fWorkflowVersion, sp.WorkflowVersion)
	e.str(fOutcome, sp.Outcome)
	e.u(fValidated, sp.ValidatedOutputs)
	e.flag(fValidatedExplicit, sp.ValidatedExplicit)
	e.str(fOutcomeSource, sp.OutcomeSource)
	if sg := sp.Signal; sg != nil {
		e.tag(fSignal)
		e.sym(fSignalOutcome, sg.Outcome)
		e.uvarint(sg.Validated)
		e.sym(fSignalSource, sg.Source)
	}
	e.str(fAgent, sp.Agent)
	e.str(fStep, sp.Step)
	e.str(fTeam, sp.Team)
	e.str(fFeature, sp.Feature)
	e.str(fSession, sp.Session)
	e.str(fUser, sp.User)
	e.str(fService, sp.Service)
	e.str(fEnvironment, sp.Environment)
	if sp.Labels != nil {
		e.tag(fLabels)
		e.uvarint(uint64(len(sp.Labels)))
		for _, l := range sp.Labels {
			e.sym(fLabelKey, l.Key)
			e.sym(fLabelValue, l.Value)
		}
	}
	e.str(fToolName, sp.ToolName)
	e.u(fRetrievalUnits, sp.RetrievalUnits)
	e.str(fComputeClass, sp.ComputeClass)
	e.u(fComputeShareBP, sp.ComputeShareBP)
	e.str(fReviewRole, sp.ReviewRole)
	e.u(fReviewActiveMs, sp.ReviewActiveMs)
	e.u(fReviewQueueMs, sp.ReviewQueueMs)
	e.str(fReviewOutcome, sp.ReviewOutcome)
	if sp.InputContent != nil {
		e.tag(fInputContent)
		e.uvarint(uint64(len(sp.InputContent)))
		for _, p := range sp.InputContent {
			e.sym(fPieceRole, string(p.Role))
			e.sym(fText, p.Text)
		}
	}
	e.strs(fOutputContent, fText, sp.OutputContent)
	e.str(fUnpriced, sp.Unpriced)
	e.strs(fIssues, fText, sp.Issues)
	e.tag(fDone)
}

// decoder reads a trace's buffer back into spans, releasing the symbols it refers to.
type decoder struct {
	b    []byte
	i    int
	syms *symbols
}

func (d *decoder) byte() byte {
	c := d.b[d.i]
	d.i++
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.i:])
	if n <= 0 {
		panic(fmt.Sprintf("stitch: corrupt held span at byte %d", d.i)) // only the encoder writes these bytes
	}
	d.i += n
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b[d.i:])
	if n <= 0 {
		panic(fmt.Sprintf("stitch: corrupt held span at byte %d", d.i))
	}
	d.i += n
	return v
}

func (d *decoder) sym() string {
	v := d.uvarint()
	if v&1 == 0 {
		return d.syms.release(uint32(v >> 1))
	}
	n := int(v >> 1)
	if n == 0 {
		return ""
	}
	// Inline strings are rare (long ones, or the table full) and get their own
	// allocation: a span kept after its neighbours are written keeps only its own text.
	s := string(d.b[d.i : d.i+n])
	d.i += n
	return s
}

func (d *decoder) strs() []string {
	ss := make([]string, d.uvarint())
	for i := range ss {
		ss[i] = d.sym()
	}
	return ss
}

// span decodes the next span of trace t into sp and returns its record's offset.
func (d *decoder) span(t *Trace, sp *pipeline.Span) int64 {
	offset := t.baseOffset + d.varint()
	sp.TraceID, sp.AuthTenant = t.TraceID, t.AuthTenant
	d.i += copy(sp.SpanID[:], d.b[d.i:])
	sp.StartUnixNano = t.baseStart
	sp.EndUnixNano = t.baseStart
	for {
		f := field(d.byte())
		switch f {
		case fDone:
			return offset
		case fParent:
			d.i += copy(sp.ParentSpanID[:], d.b[d.i:])
		case fTenant:
			sp.Tenant = d.sym()
		case fName:
			sp.Name = d.sym()
		case fStart:
			sp.StartUnixNano = t.baseStart + d.varint()
			sp.EndUnixNano = sp.StartUnixNano
		case fEnd:
			sp.EndUnixNano = sp.StartUnixNano + d.varint()
		case fError:
			sp.Error = true
		case fOperation:
			sp.Operation = pipeline.Operation(d.sym())
		case fProvider:
			sp.Provider = d.sym()
		case fModel:
			sp.Model = d.sym()
		case fInput:
			sp.Usage.InputTokens = d.uvarint()
		case fOutput:
			sp.Usage.OutputTokens = d.uvarint()
		case fCacheRead:
			sp.Usage.CacheReadTokens = d.uvarint()
		case fCacheWrite:
			sp.Usage.CacheWriteTokens = d.uvarint()
		case fCacheWrite1h:
			sp.Usage.CacheWrite1hTokens = d.uvarint()
		case fReasoning:
			sp.Usage.ReasoningTokens = d.uvarint()
		case fAudioIn:
			sp.Usage.AudioInputTokens = d.uvarint()
		case fImageIn:
			sp.Usage.ImageInputTokens = d.uvarint()
		case fAudioOut:
			sp.Usage.AudioOutputTokens = d.uvarint()
		case fEstimated:
			sp.Usage.Estimated = true
		case fMixSystem:
			sp.Usage.Mix.System = d.uvarint()
		case fMixContext:
			sp.Usage.Mix.Context = d.uvarint()
		case fMixHistory:
			sp.Usage.Mix.History = d.uvarint()
		case fMixUser:
			sp.Usage.Mix.User = d.uvarint()
		case fMixOther:
			sp.Usage.Mix.Other = d.uvarint()
		case fServiceTier:
			sp.ServiceTier = d.sym()
		case fProviderCost:
			sp.ProviderCost = pipeline.Money(d.varint())
		case fHasProviderCost:
			sp.HasProviderCost = true
		case fProviderCostCurrency:
			sp.ProviderCostCurrency = d.sym()
		case fProviderCostSource:
			sp.ProviderCostSource = d.sym()
		case fWorkflowRoot:
			sp.WorkflowRoot = true
		case fWorkflowName:
			sp.WorkflowName = d.sym()
		case fWorkflowVersion:
			sp.WorkflowVersion = d.sym()
		case fOutcome:
			sp.Outcome = d.sym()
		case fValidated:
			sp.ValidatedOutputs = d.uvarint()
		case fValidatedExplicit:
			sp.ValidatedExplicit = true
		case fOutcomeSource:
			sp.OutcomeSource = d.sym()
		case fSignal:
			sg := &pipeline.Signal{Outcome: d.sym()}
			sg.Validated = d.uvarint()
			sg.Source = d.sym()
			sp.Signal = sg
		case fAgent:
			sp.Agent = d.sym()
		case fStep:
			sp.Step = d.sym()
		case fTeam:
			sp.Team = d.sym()
		case fFeature:
			sp.Feature = d.sym()
		case fSession:
			sp.Session = d.sym()
		case fUser:
			sp.User = d.sym()
		case fService:
			sp.Service = d.sym()
		case fEnvironment:
			sp.Environment = d.sym()
		case fLabels:
			ls := make([]pipeline.Label, d.uvarint())
			for i := range ls {
				ls[i].Key = d.sym()
				ls[i].Value = d.sym()
			}
			sp.Labels = ls
		case fToolName:
			sp.ToolName = d.sym()
		case fRetrievalUnits:
			sp.RetrievalUnits = d.uvarint()
		case fComputeClass:
			sp.ComputeClass = d.sym()
		case fComputeShareBP:
			sp.ComputeShareBP = d.uvarint()
		case fReviewRole:
			sp.ReviewRole = d.sym()
		case fReviewActiveMs:
			sp.ReviewActiveMs = d.uvarint()
		case fReviewQueueMs:
			sp.ReviewQueueMs = d.uvarint()
		case fReviewOutcome:
			sp.ReviewOutcome = d.sym()
		case fInputContent:
			ps := make([]pipeline.Piece, d.uvarint())
			for i := range ps {
				ps[i].Role = pipeline.Role(d.sym())
				ps[i].Text = d.sym()
			}
			sp.InputContent = ps
		case fOutputContent:
			sp.OutputContent = d.strs()
		case fUnpriced:
			sp.Unpriced = d.sym()
		case fIssues:
			sp.Issues = d.strs()
		default:
			panic(fmt.Sprintf("stitch: corrupt held span: tag %d at byte %d", f, d.i-1))
		}
	}
}
