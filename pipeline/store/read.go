package store

import (
	"context"
	"fmt"
	"time"

	"github.com/unitcost/unitcost/pipeline"
)

// ReadLineItems streams the current line items of spans that started in [from, to),
// each with the span rebuilt from its stored inputs (ids, authenticated tenant, labels, model, usage, tool,
// compute class, service tier, review time, duration) - enough to price it again.
func (s *Store) ReadLineItems(ctx context.Context, from, to time.Time, fn func(pipeline.LineItem) error) error {
	q := `SELECT tenant, start_time, trace_id, span_id, parent_span_id, workflow_id, component, step, operation,
provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens,
reasoning_tokens, usage_estimated, duration_ms, cost_nano, priced, price_version, team, feature, review_role,
review_active_ms, review_queue_ms, review_outcome, is_error, issues, tool_name, compute_class, service_tier,
retrieval_units, provider_cost_nano, has_provider_cost, system_tokens, context_tokens, history_tokens, user_tokens,
other_tokens, audio_input_tokens, image_input_tokens, audio_output_tokens, compute_share_bp, session, end_user, service,
environment, label_keys, label_values, provider_cost_currency, provider_cost_source, unpriced_reason, auth_tenant
FROM ` + s.cfg.Database + `.line_items FINAL WHERE start_time >= ? AND start_time < ?`
	rows, err := s.conn.Query(ctx, q, from.UTC(), to.UTC())
	if err != nil {
		return fmt.Errorf("read line items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			sp                              pipeline.Span
			li                              pipeline.LineItem
			start                           time.Time
			trace, span, parent, comp, op   string
			est, priced, isErr, hasProvider uint8
			dur                             uint64
			cost, provCost                  int64
			keys, values                    []string
			reason                          string
		)
		if err := rows.Scan(&sp.Tenant, &start, &trace, &span, &parent, &li.WorkflowID, &comp, &sp.Name, &op,
			&sp.Provider, &sp.Model, &sp.Usage.InputTokens, &sp.Usage.OutputTokens, &sp.Usage.CacheReadTokens,
			&sp.Usage.CacheWriteTokens, &sp.Usage.CacheWrite1hTokens, &sp.Usage.ReasoningTokens, &est, &dur, &cost, &priced,
			&li.PriceVersion, &sp.Team, &sp.Feature, &sp.ReviewRole, &sp.ReviewActiveMs, &sp.ReviewQueueMs, &sp.ReviewOutcome,
			&isErr, &sp.Issues, &sp.ToolName, &sp.ComputeClass, &sp.ServiceTier, &sp.RetrievalUnits, &provCost, &hasProvider,
			&sp.Usage.Mix.System, &sp.Usage.Mix.Context, &sp.Usage.Mix.History, &sp.Usage.Mix.User, &sp.Usage.Mix.Other,
			&sp.Usage.AudioInputTokens, &sp.Usage.ImageInputTokens, &sp.Usage.AudioOutputTokens, &sp.ComputeShareBP,
			&sp.Session, &sp.User, &sp.Service, &sp.Environment, &keys, &values, &sp.ProviderCostCurrency, &sp.ProviderCostSource,
			&reason, &sp.AuthTenant); err != nil {
			return fmt.Errorf("read line item: %w", err)
		}
		if err := parseHex(trace, sp.TraceID[:]); err != nil {
			return err
		}
		if err := parseHex(span, sp.SpanID[:]); err != nil {
			return err
		}
		if err := parseHex(parent, sp.ParentSpanID[:]); err != nil {
			return err
		}
		sp.StartUnixNano = start.UnixNano()
		sp.EndUnixNano = sp.StartUnixNano + int64(dur)*int64(time.Millisecond)
		sp.Operation = pipeline.Operation(op)
		sp.Usage.Estimated, sp.Error, sp.HasProviderCost = est == 1, isErr == 1, hasProvider == 1
		sp.ProviderCost = pipeline.Money(provCost)
		for i := range keys {
			if i < len(values) {
				sp.Labels = append(sp.Labels, pipeline.Label{Key: keys[i], Value: values[i]})
			}
		}
		if reason == pipeline.UnpricedNoModel || reason == pipeline.UnpricedNoUsage {
			sp.Unpriced = reason // still unpriceable: re-pricing keeps the line and its reason
		}
		li.Span, li.Component, li.Cost, li.Priced = &sp, pipeline.Component(comp), pipeline.Money(cost), priced == 1
		li.UnpricedReason = reason
		if err := fn(li); err != nil {
			return err
		}
	}
	return rows.Err()
}

func parseHex(s string, dst []byte) error {
	if s == "" {
		return nil
	}
	if len(s) != 2*len(dst) {
		return fmt.Errorf("id %q: want %d hex digits", s, 2*len(dst))
	}
	for i := range dst {
		hi, lo := unhex(s[2*i]), unhex(s[2*i+1])
		if hi < 0 || lo < 0 {
			return fmt.Errorf("id %q is not hex", s)
		}
		dst[i] = byte(hi<<4 | lo)
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
