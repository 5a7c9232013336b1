package semconv

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Workflow returns the attributes that mark a span as the root of a workflow of the
// given type and version. Add them when the span starts:
//
//	ctx, span := tracer.Start(ctx, "extract invoice",
//		trace.WithAttributes(semconv.Workflow("invoice_extraction", "v3")...))
func Workflow(name, version string) []attribute.KeyValue {
	kv := []attribute.KeyValue{attribute.String(WorkflowName, name)}
	if version != "" {
		kv = append(kv, attribute.String(WorkflowVersion, version))
	}
	return kv
}

// Labels returns tenant/team/feature attributes; empty values are left out.
func Labels(tenant, team, feature string) []attribute.KeyValue {
	var kv []attribute.KeyValue
	for _, p := range [...]struct{ k, v string }{{Tenant, tenant}, {Team, team}, {Feature, feature}} {
		if p.v != "" {
			kv = append(kv, attribute.String(p.k, p.v))
		}
	}
	return kv
}

// SetOutcome records the workflow's outcome and how many outputs passed validation on the
// workflow's root span. Call it before ending the span.
func SetOutcome(span trace.Span, outcome string, validatedOutputs int) {
	span.SetAttributes(attribute.String(WorkflowOutcome, outcome), attribute.Int(OutputsValidated, validatedOutputs))
}

// Review returns the attributes of a human review span: the reviewer's role (which picks
// the hourly rate), hands-on seconds (billed), seconds waiting in the queue (reported, not
// billed) and the review's outcome (approved, corrected, rejected).
//
// A review often happens hours after the model calls; start the review span as a child
// of the workflow's root span context (carried in the review ticket) so it joins the same
// trace, and unitcost corrects that workflow's figures when it arrives.
func Review(role string, activeSeconds, queueSeconds float64, outcome string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String(GenAIOperationName, OperationHumanReview),
		attribute.String(ReviewRole, role),
		attribute.Float64(ReviewActiveSeconds, activeSeconds),
		attribute.Float64(ReviewQueueSeconds, queueSeconds),
		attribute.String(ReviewOutcome, outcome),
	}
}

// Step names the step a model call is within its workflow ("classify", "answer"), the
// same whichever model runs it: the key the what-if compares models on.
func Step(name string) attribute.KeyValue { return attribute.String(StepName, name) }
