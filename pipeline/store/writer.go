package store

import (
	"context"
	"fmt"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

const lineItemColumns = `tenant, day, start_time, trace_id, span_id, parent_span_id, workflow_id, component,
step, operation, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
reasoning_tokens, usage_estimated, duration_ms, quantity, unit, cost_nano, provider_cost_nano,
has_provider_cost, priced, unpriced_reason, price_version, price_rule, team, feature, review_role,
review_active_ms, review_queue_ms, review_outcome, is_error, issues, version, tool_name, compute_class,
service_tier, cache_write_1h_tokens, retrieval_units, system_tokens, context_tokens, history_tokens, user_tokens,
other_tokens, audio_input_tokens, image_input_tokens, audio_output_tokens, compute_share_bp, session, end_user, service,
environment, label_keys, label_values, provider_cost_currency, provider_cost_source, auth_tenant`

const workflowColumns = `tenant, day, start_time, end_time, workflow_id, trace_id, root_span_id, name,
workflow_version, outcome, validated_outputs, team, feature, duration_ms, version, outcome_source, session, end_user,
service, environment, label_keys, label_values, auth_tenant`

const issueColumns = `tenant, day, trace_id, span_id, workflow_id, step, issue, version, auth_tenant`

// Write inserts a batch: line items, then workflow facts, then span issues. It returns
// only once ClickHouse has acknowledged every insert; a caller commits Kafka offsets
// after that. Rows replace earlier rows with the same key (see sql/migrations), so writing
// the same rows twice - a retry, a replay - changes no figure. The key includes the
// authenticated tenant (auth_tenant, migration 0007): a row of tenant A never replaces
// tenant B's.
func (s *Store) Write(ctx context.Context, batch pipeline.Batch) error {
	items, wfs := batch.LineItems, batch.Workflows
	version := uint64(time.Now().UnixNano())
	if len(items) > 0 {
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+".line_items ("+lineItemColumns+")")
		if err != nil {
			return fmt.Errorf("prepare line item batch: %w", err)
		}
		for i := range items {
			li := &items[i]
			sp := li.Span
			start := time.Unix(0, sp.StartUnixNano).UTC()
			issues := sp.Issues
			if issues == nil {
				issues = []string{}
			}
			if err := b.Append(
				sp.Tenant, start, start, sp.TraceID.String(), sp.SpanID.String(), sp.ParentSpanID.String(),
				li.WorkflowID, string(li.Component), sp.StepKey(), string(sp.Operation), sp.Provider, sp.Model,
				sp.Usage.InputTokens, sp.Usage.OutputTokens, sp.Usage.CacheReadTokens, sp.Usage.CacheWriteTokens,
				sp.Usage.ReasoningTokens, b2u(sp.Usage.Estimated), sp.DurationMs(), li.Quantity, li.Unit,
				int64(li.Cost), int64(sp.ProviderCost), b2u(sp.HasProviderCost), b2u(li.Priced), li.UnpricedReason,
				li.PriceVersion, li.PriceRule, sp.Team, sp.Feature, sp.ReviewRole, sp.ReviewActiveMs, sp.ReviewQueueMs,
				sp.ReviewOutcome, b2u(sp.Error), issues, version, sp.ToolName, sp.ComputeClass,
				sp.ServiceTier, sp.Usage.CacheWrite1hTokens, sp.RetrievalUnits, sp.Usage.Mix.System, sp.Usage.Mix.Context,
				sp.Usage.Mix.History, sp.Usage.Mix.User, sp.Usage.Mix.Other, sp.Usage.AudioInputTokens, sp.Usage.ImageInputTokens,
				sp.Usage.AudioOutputTokens, sp.ComputeShareBP, sp.Session, sp.User, sp.Service, sp.Environment,
				labelKeys(sp.Labels), labelValues(sp.Labels), sp.ProviderCostCurrency, sp.ProviderCostSource,
				sp.AuthTenant,
			); err != nil {
				b.Abort()
				return fmt.Errorf("append line item: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("insert %d line items: %w", len(items), err)
		}
	}
	if len(wfs) > 0 {
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+".workflows ("+workflowColumns+")")
		if err != nil {
			return fmt.Errorf("prepare workflow batch: %w", err)
		}
		for i := range wfs {
			w := &wfs[i]
			start, end := time.Unix(0, w.StartUnixNano).UTC(), time.Unix(0, w.EndUnixNano).UTC()
			var dur uint64
			if w.EndUnixNano > w.StartUnixNano {
				dur = uint64(w.EndUnixNano-w.StartUnixNano) / 1e6
			}
			if err := b.Append(w.Tenant, start, start, end, w.ID, w.TraceID.String(), w.RootSpanID.String(), w.Name,
				w.Version, w.Outcome, w.ValidatedOutputs, w.Team, w.Feature, dur, version, w.OutcomeSource, w.Session, w.User,
				w.Service, w.Environment, labelKeys(w.Labels), labelValues(w.Labels), w.AuthTenant); err != nil {
				b.Abort()
				return fmt.Errorf("append workflow: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("insert %d workflows: %w", len(wfs), err)
		}
	}
	if len(batch.Issues) > 0 {
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.cfg.Database+".span_issues ("+issueColumns+")")
		if err != nil {
			return fmt.Errorf("prepare span issue batch: %w", err)
		}
		for _, is := range batch.Issues {
			sp := is.Span
			if err := b.Append(sp.Tenant, time.Unix(0, sp.StartUnixNano).UTC(), sp.TraceID.String(), sp.SpanID.String(),
				is.WorkflowID, sp.StepKey(), is.Issue, version, sp.AuthTenant); err != nil {
				b.Abort()
				return fmt.Errorf("append span issue: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("insert %d span issues: %w", len(batch.Issues), err)
		}
	}
	return nil
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func labelKeys(ls []pipeline.Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Key
	}
	return out
}

func labelValues(ls []pipeline.Label) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Value
	}
	return out
}
