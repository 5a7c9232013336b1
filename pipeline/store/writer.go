package store

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unitcost/unitcost/pipeline"
)

// The writer inserts column by column: each column's values are gathered into one typed
// slice and handed to clickhouse-go whole (batch.Column(i).Append), instead of one Append
// of ~60 boxed values per row, which cost ~9 us of client CPU per line item (issue 15).
// Each table is one list of (column, value) pairs, so the INSERT's column list and the
// values cannot drift apart.

// col is one column of a table whose rows are made from R: its name and how to gather
// its values for a block of rows. buf is what the column returned for the previous block
// of the same INSERT (nil for the first): that block is sent by then, and clickhouse-go
// copied the values into its own column, so the slice is reused rather than allocated
// again for every block.
type col[R any] interface {
	name() string
	values(rows []R, c *rowCtx, buf any) any
}

// reuse is buf as a []T of n elements when it has room, else a new one.
func reuse[T any](buf any, n int) []T {
	if out, ok := buf.([]T); ok && cap(out) >= n {
		return out[:n]
	}
	return make([]T, n)
}

// rowCtx is what every row of one write shares.
type rowCtx struct {
	version uint64
}

// of is a column whose value is a function of the row.
type of[R, T any] struct {
	n string
	f func(*R) T
}

func (c of[R, T]) name() string { return c.n }

func (c of[R, T]) values(rows []R, _ *rowCtx, buf any) any {
	out := reuse[T](buf, len(rows))
	for i := range rows {
		out[i] = c.f(&rows[i])
	}
	return out
}

// versionCol is the write's version, the same for every row of it.
type versionCol[R any] struct{}

func (versionCol[R]) name() string { return "version" }

func (versionCol[R]) values(rows []R, c *rowCtx, buf any) any {
	out := reuse[uint64](buf, len(rows))
	for i := range out {
		out[i] = c.version
	}
	return out
}

// traceHex renders trace ids: the line items of one trace come together, so the last
// rendering is reused instead of allocating a string per row.
type traceHex struct {
	id  pipeline.TraceID
	hex string
	ok  bool
}

func (h *traceHex) of(id pipeline.TraceID) string {
	if !h.ok || h.id != id {
		h.id, h.hex, h.ok = id, id.String(), true
	}
	return h.hex
}

// traceCol is a trace id column rendered as hex, reusing the rendering of the previous
// row of the same trace.
type traceCol[R any] struct {
	n string
	f func(*R) pipeline.TraceID
}

func (c traceCol[R]) name() string { return c.n }

func (c traceCol[R]) values(rows []R, _ *rowCtx, buf any) any {
	out := reuse[string](buf, len(rows))
	var h traceHex
	for i := range rows {
		out[i] = h.of(c.f(&rows[i]))
	}
	return out
}

// spanCol is a span id column rendered as hex ("" for the zero id, as SpanID.String):
// the block's ids are rendered into one string and each row's value is a slice of it,
// one allocation per block instead of one per row.
type spanCol[R any] struct {
	n string
	f func(*R) pipeline.SpanID
}

func (c spanCol[R]) name() string { return c.n }

func (c spanCol[R]) values(rows []R, _ *rowCtx, buf any) any {
	out := reuse[string](buf, len(rows))
	const w = 2 * len(pipeline.SpanID{})
	var sb strings.Builder
	sb.Grow(w * len(rows))
	for i := range rows {
		if id := c.f(&rows[i]); !id.IsZero() {
			var h [w]byte
			hex.Encode(h[:], id[:])
			sb.Write(h[:])
		}
	}
	all := sb.String()
	at := 0
	for i := range rows {
		if id := c.f(&rows[i]); id.IsZero() {
			out[i] = ""
		} else {
			out[i] = all[at : at+w]
			at += w
		}
	}
	return out
}

func utc(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func issuesOf(sp *pipeline.Span) []string {
	if sp.Issues == nil {
		return []string{}
	}
	return sp.Issues
}

type li = pipeline.LineItem

var lineItemCols = []col[li]{
	of[li, string]{"tenant", func(l *li) string { return l.Span.Tenant }},
	of[li, time.Time]{"day", func(l *li) time.Time { return utc(l.Span.StartUnixNano) }},
	of[li, time.Time]{"start_time", func(l *li) time.Time { return utc(l.Span.StartUnixNano) }},
	traceCol[li]{"trace_id", func(l *li) pipeline.TraceID { return l.Span.TraceID }},
	spanCol[li]{"span_id", func(l *li) pipeline.SpanID { return l.Span.SpanID }},
	spanCol[li]{"parent_span_id", func(l *li) pipeline.SpanID { return l.Span.ParentSpanID }},
	of[li, string]{"workflow_id", func(l *li) string { return l.WorkflowID }},
	of[li, string]{"component", func(l *li) string { return string(l.Component) }},
	of[li, string]{"step", func(l *li) string { return l.Span.StepKey() }},
	of[li, string]{"operation", func(l *li) string { return string(l.Span.Operation) }},
	of[li, string]{"provider", func(l *li) string { return l.Span.Provider }},
	of[li, string]{"model", func(l *li) string { return l.Span.Model }},
	of[li, uint64]{"input_tokens", func(l *li) uint64 { return l.Span.Usage.InputTokens }},
	of[li, uint64]{"output_tokens", func(l *li) uint64 { return l.Span.Usage.OutputTokens }},
	of[li, uint64]{"cache_read_tokens", func(l *li) uint64 { return l.Span.Usage.CacheReadTokens }},
	of[li, uint64]{"cache_write_tokens", func(l *li) uint64 { return l.Span.Usage.CacheWriteTokens }},
	of[li, uint64]{"reasoning_tokens", func(l *li) uint64 { return l.Span.Usage.ReasoningTokens }},
	of[li, uint8]{"usage_estimated", func(l *li) uint8 { return b2u(l.Span.Usage.Estimated) }},
	of[li, uint64]{"duration_ms", func(l *li) uint64 { return l.Span.DurationMs() }},
	of[li, float64]{"quantity", func(l *li) float64 { return l.Quantity }},
	of[li, string]{"unit", func(l *li) string { return l.Unit }},
	of[li, int64]{"cost_nano", func(l *li) int64 { return int64(l.Cost) }},
	of[li, int64]{"provider_cost_nano", func(l *li) int64 { return int64(l.Span.ProviderCost) }},
	of[li, uint8]{"has_provider_cost", func(l *li) uint8 { return b2u(l.Span.HasProviderCost) }},
	of[li, uint8]{"priced", func(l *li) uint8 { return b2u(l.Priced) }},
	of[li, string]{"unpriced_reason", func(l *li) string { return l.UnpricedReason }},
	of[li, string]{"price_version", func(l *li) string { return l.PriceVersion }},
	of[li, string]{"price_rule", func(l *li) string { return l.PriceRule }},
	of[li, string]{"team", func(l *li) string { return l.Span.Team }},
	of[li, string]{"feature", func(l *li) string { return l.Span.Feature }},
	of[li, string]{"review_role", func(l *li) string { return l.Span.ReviewRole }},
	of[li, uint64]{"review_active_ms", func(l *li) uint64 { return l.Span.ReviewActiveMs }},
	of[li, uint64]{"review_queue_ms", func(l *li) uint64 { return l.Span.ReviewQueueMs }},
	of[li, string]{"review_outcome", func(l *li) string { return l.Span.ReviewOutcome }},
	of[li, uint8]{"is_error", func(l *li) uint8 { return b2u(l.Span.Error) }},
	of[li, []string]{"issues", func(l *li) []string { return issuesOf(l.Span) }},
	versionCol[li]{},
	of[li, string]{"tool_name", func(l *li) string { return l.Span.ToolName }},
	of[li, string]{"compute_class", func(l *li) string { return l.Span.ComputeClass }},
	of[li, string]{"service_tier", func(l *li) string { return l.Span.ServiceTier }},
	of[li, uint64]{"cache_write_1h_tokens", func(l *li) uint64 { return l.Span.Usage.CacheWrite1hTokens }},
	of[li, uint64]{"retrieval_units", func(l *li) uint64 { return l.Span.RetrievalUnits }},
	of[li, uint64]{"system_tokens", func(l *li) uint64 { return l.Span.Usage.Mix.System }},
	of[li, uint64]{"context_tokens", func(l *li) uint64 { return l.Span.Usage.Mix.Context }},
	of[li, uint64]{"history_tokens", func(l *li) uint64 { return l.Span.Usage.Mix.History }},
	of[li, uint64]{"user_tokens", func(l *li) uint64 { return l.Span.Usage.Mix.User }},
	of[li, uint64]{"other_tokens", func(l *li) uint64 { return l.Span.Usage.Mix.Other }},
	of[li, uint64]{"audio_input_tokens", func(l *li) uint64 { return l.Span.Usage.AudioInputTokens }},
	of[li, uint64]{"image_input_tokens", func(l *li) uint64 { return l.Span.Usage.ImageInputTokens }},
	of[li, uint64]{"audio_output_tokens", func(l *li) uint64 { return l.Span.Usage.AudioOutputTokens }},
	of[li, uint64]{"compute_share_bp", func(l *li) uint64 { return l.Span.ComputeShareBP }},
	of[li, string]{"session", func(l *li) string { return l.Span.Session }},
	of[li, string]{"end_user", func(l *li) string { return l.Span.User }},
	of[li, string]{"service", func(l *li) string { return l.Span.Service }},
	of[li, string]{"environment", func(l *li) string { return l.Span.Environment }},
	of[li, []string]{"label_keys", func(l *li) []string { return labelKeys(l.Span.Labels) }},
	of[li, []string]{"label_values", func(l *li) []string { return labelValues(l.Span.Labels) }},
	of[li, string]{"provider_cost_currency", func(l *li) string { return l.Span.ProviderCostCurrency }},
	of[li, string]{"provider_cost_source", func(l *li) string { return l.Span.ProviderCostSource }},
	of[li, string]{"auth_tenant", func(l *li) string { return l.Span.AuthTenant }},
}

type wf = pipeline.Workflow

var workflowCols = []col[wf]{
	of[wf, string]{"tenant", func(w *wf) string { return w.Tenant }},
	of[wf, time.Time]{"day", func(w *wf) time.Time { return utc(w.StartUnixNano) }},
	of[wf, time.Time]{"start_time", func(w *wf) time.Time { return utc(w.StartUnixNano) }},
	of[wf, time.Time]{"end_time", func(w *wf) time.Time { return utc(w.EndUnixNano) }},
	of[wf, string]{"workflow_id", func(w *wf) string { return w.ID }},
	traceCol[wf]{"trace_id", func(w *wf) pipeline.TraceID { return w.TraceID }},
	spanCol[wf]{"root_span_id", func(w *wf) pipeline.SpanID { return w.RootSpanID }},
	of[wf, string]{"name", func(w *wf) string { return w.Name }},
	of[wf, string]{"workflow_version", func(w *wf) string { return w.Version }},
	of[wf, string]{"outcome", func(w *wf) string { return w.Outcome }},
	of[wf, uint64]{"validated_outputs", func(w *wf) uint64 { return w.ValidatedOutputs }},
	of[wf, string]{"team", func(w *wf) string { return w.Team }},
	of[wf, string]{"feature", func(w *wf) string { return w.Feature }},
	of[wf, uint64]{"duration_ms", func(w *wf) uint64 {
		if w.EndUnixNano > w.StartUnixNano {
			return uint64(w.EndUnixNano-w.StartUnixNano) / 1e6
		}
		return 0
	}},
	versionCol[wf]{},
	of[wf, string]{"outcome_source", func(w *wf) string { return w.OutcomeSource }},
	of[wf, string]{"session", func(w *wf) string { return w.Session }},
	of[wf, string]{"end_user", func(w *wf) string { return w.User }},
	of[wf, string]{"service", func(w *wf) string { return w.Service }},
	of[wf, string]{"environment", func(w *wf) string { return w.Environment }},
	of[wf, []string]{"label_keys", func(w *wf) []string { return labelKeys(w.Labels) }},
	of[wf, []string]{"label_values", func(w *wf) []string { return labelValues(w.Labels) }},
	of[wf, string]{"auth_tenant", func(w *wf) string { return w.AuthTenant }},
}

type si = pipeline.SpanIssue

var issueCols = []col[si]{
	of[si, string]{"tenant", func(s *si) string { return s.Span.Tenant }},
	of[si, time.Time]{"day", func(s *si) time.Time { return utc(s.Span.StartUnixNano) }},
	traceCol[si]{"trace_id", func(s *si) pipeline.TraceID { return s.Span.TraceID }},
	spanCol[si]{"span_id", func(s *si) pipeline.SpanID { return s.Span.SpanID }},
	of[si, string]{"workflow_id", func(s *si) string { return s.WorkflowID }},
	of[si, string]{"step", func(s *si) string { return s.Span.StepKey() }},
	of[si, string]{"issue", func(s *si) string { return s.Issue }},
	versionCol[si]{},
	of[si, string]{"auth_tenant", func(s *si) string { return s.Span.AuthTenant }},
}

func columnList[R any](cols []col[R]) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name()
	}
	return strings.Join(names, ", ")
}

var (
	lineItemColumns = columnList(lineItemCols)
	workflowColumns = columnList(workflowCols)
	issueColumns    = columnList(issueCols)
)

// insertBlockRows is the most rows sent in one block of an INSERT. The client's columns
// grow by appending; sent in blocks, they grow once to this size and are reused for the
// next block, instead of growing (and copying) up to the whole batch - the copies and
// the fresh memory they touch were most of the writer's CPU at ~40k line items a write.
// ClickHouse makes a part of each block, so blocks should not be small.
var insertBlockRows = 8192

// insert writes rows into table column by column, in one INSERT of blocks of at most
// insertBlockRows rows, and waits for ClickHouse's acknowledgement of all of them.
func insert[R any](ctx context.Context, conn driver.Conn, table, columns string, cols []col[R], rows []R, rc *rowCtx) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+columns+")")
	if err != nil {
		return fmt.Errorf("prepare %s batch: %w", table, err)
	}
	bufs := make([]any, len(cols))
	for from := 0; from < len(rows); from += insertBlockRows {
		chunk := rows[from:min(from+insertBlockRows, len(rows))]
		if from > 0 {
			// Send the previous block; the columns keep their capacity for this one.
			if err := b.Flush(); err != nil {
				_ = b.Abort()
				return fmt.Errorf("insert rows into %s: %w", table, err)
			}
		}
		for i, c := range cols {
			bufs[i] = c.values(chunk, rc, bufs[i])
			var err error
			if arrays, ok := bufs[i].([][]string); ok {
				err = appendArrays(b.Column(i), arrays)
			} else {
				err = b.Column(i).Append(bufs[i])
			}
			if err != nil {
				_ = b.Abort()
				return fmt.Errorf("append %s.%s: %w", table, c.name(), err)
			}
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), table, err)
	}
	return nil
}

// emptyArray is the value of an empty Array(String) row, boxed once.
var emptyArray any = []string{}

// appendArrays appends Array(String) rows one by one: clickhouse-go takes a [][]string
// whole only through reflection, allocating for every row and element, while a row given
// as a []string takes its typed path (and an empty one, most rows, allocates nothing).
func appendArrays(c driver.BatchColumn, rows [][]string) error {
	for _, r := range rows {
		v := emptyArray
		if len(r) > 0 {
			v = r
		}
		if err := c.AppendRow(v); err != nil {
			return err
		}
	}
	return nil
}

// Write inserts a batch: line items, then workflow facts, then span issues. It returns
// only once ClickHouse has acknowledged every insert; a caller commits Kafka offsets
// after that. Rows replace earlier rows with the same key (see sql/migrations), so writing
// the same rows twice - a retry, a replay - changes no figure. The key includes the
// authenticated tenant (auth_tenant, migration 0007): a row of tenant A never replaces
// tenant B's. The rows' version is the one pipeline.WithWriteVersion set on ctx, else the
// time of the call.
func (s *Store) Write(ctx context.Context, batch pipeline.Batch) error {
	v, ok := pipeline.WriteVersion(ctx)
	if !ok {
		v = uint64(time.Now().UnixNano())
	}
	rc := &rowCtx{version: v}
	db := s.cfg.Database
	if len(batch.LineItems) > 0 {
		if err := insert(ctx, s.conn, db+".line_items", lineItemColumns, lineItemCols, batch.LineItems, rc); err != nil {
			return err
		}
	}
	if len(batch.Workflows) > 0 {
		if err := insert(ctx, s.conn, db+".workflows", workflowColumns, workflowCols, batch.Workflows, rc); err != nil {
			return err
		}
	}
	if len(batch.Issues) > 0 {
		if err := insert(ctx, s.conn, db+".span_issues", issueColumns, issueCols, batch.Issues, rc); err != nil {
			return err
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

var noStrings = []string{}

func labelKeys(ls []pipeline.Label) []string {
	if len(ls) == 0 {
		return noStrings
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Key
	}
	return out
}

func labelValues(ls []pipeline.Label) []string {
	if len(ls) == 0 {
		return noStrings
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Value
	}
	return out
}
