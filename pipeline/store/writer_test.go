package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/store"
)

// The columnar writer must store exactly what a row-by-row INSERT of the same batch
// stores (the writer before issue 15, kept here as the reference), in every column of
// every table, also when the rows are sent in several blocks.
func TestColumnarWriteEqualsRowWrite(t *testing.T) {
	columnar, rowwise := testenv.ClickHouse(t), testenv.ClickHouse(t)
	ctx := context.Background()
	batch := fullBatch()
	defer store.SetInsertBlockRows(store.SetInsertBlockRows(3)) // line items in two blocks
	if err := columnar.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := rowWrite(ctx, rowwise.Conn(), rowwise.Database(), batch); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ table, cols, order string }{
		{"line_items", refLineItemColumns, "trace_id, span_id, component"},
		{"workflows", refWorkflowColumns, "workflow_id"},
		{"span_issues", refIssueColumns, "span_id, issue"},
	} {
		cols := withoutVersion(tc.cols)
		got := dump(t, columnar.Conn(), "SELECT "+cols+" FROM "+columnar.Database()+"."+tc.table+" ORDER BY "+tc.order)
		want := dump(t, rowwise.Conn(), "SELECT "+cols+" FROM "+rowwise.Database()+"."+tc.table+" ORDER BY "+tc.order)
		if len(want) == 0 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s differs:\ncolumnar %v\nrow-wise %v", tc.table, got, want)
		}
		var versions uint64
		if err := columnar.Conn().QueryRow(ctx, "SELECT uniqExact(version) FROM "+columnar.Database()+"."+tc.table).Scan(&versions); err != nil || versions != 1 {
			t.Fatalf("%s: %d versions in one write, err %v", tc.table, versions, err)
		}
	}
}

func fullBatch() pipeline.Batch {
	mk := func(trace, id, parent byte, sec int) *pipeline.Span {
		sp := &pipeline.Span{Tenant: "acme", AuthTenant: "tok-acme", StartUnixNano: time.Date(2026, 11, 1, 23, 59, sec, 123456789, time.UTC).UnixNano()}
		sp.TraceID[0], sp.TraceID[15] = 0xab, trace
		sp.SpanID[7] = id
		sp.ParentSpanID[7] = parent
		sp.EndUnixNano = sp.StartUnixNano + 2_345_678_901
		return sp
	}
	a := mk(1, 2, 1, 58)
	a.Name, a.Step, a.Operation, a.Provider, a.Model = "chat gpt", "draft", pipeline.Operation("chat"), "openai", "gpt-4o"
	a.Usage = pipeline.Usage{InputTokens: 1001, OutputTokens: 202, CacheReadTokens: 303, CacheWriteTokens: 44, ReasoningTokens: 55,
		CacheWrite1hTokens: 6, AudioInputTokens: 7, ImageInputTokens: 8, AudioOutputTokens: 9, Estimated: true,
		Mix: pipeline.TokenMix{System: 10, Context: 11, History: 12, User: 13, Other: 14}}
	a.ProviderCost, a.HasProviderCost, a.ProviderCostCurrency, a.ProviderCostSource = 777, true, "USD", "gen_ai.usage.cost"
	a.Team, a.Feature, a.Session, a.User, a.Service, a.Environment = "t1", "f1", "s1", "u1", "svc", "prod"
	a.Labels = []pipeline.Label{{Key: "k1", Value: "v1"}, {Key: "k2", Value: "v2"}}
	a.Issues = []string{"dup span id", "time replaced"}
	a.ToolName, a.ComputeClass, a.ServiceTier, a.RetrievalUnits, a.ComputeShareBP = "search", "gpu-a10", "flex", 3, 2500
	a.Error = true
	b := mk(1, 3, 1, 59)
	b.Name, b.Operation = "review", pipeline.OpHumanReview
	b.ReviewRole, b.ReviewActiveMs, b.ReviewQueueMs, b.ReviewOutcome = "lawyer", 60_000, 3_600_000, "rejected"
	c := mk(2, 1, 0, 1)
	c.Tenant, c.AuthTenant, c.StartUnixNano = "globex", "", c.StartUnixNano-86_400e9
	c.EndUnixNano = c.StartUnixNano - 1 // clock ran backwards: duration 0
	items := []pipeline.LineItem{
		{Span: a, WorkflowID: "w1", Component: pipeline.ComponentModel, Quantity: 1001.5, Unit: "tokens", Cost: 123456789, Priced: true, PriceVersion: "2026-11-01", PriceRule: "openai/gpt-4o input"},
		{Span: a, WorkflowID: "w1", Component: pipeline.Component("compute"), Quantity: 2.345, Unit: "seconds", Cost: -5, Priced: false, UnpricedReason: "no rate"},
		{Span: b, WorkflowID: "w1", Component: pipeline.ComponentReview, Quantity: 60, Unit: "seconds", Cost: 20_000_000_000, Priced: true},
		{Span: c, WorkflowID: "w2", Component: pipeline.ComponentModel},
	}
	w1 := pipeline.Workflow{ID: "w1", AuthTenant: "tok-acme", Tenant: "acme", TraceID: a.TraceID, RootSpanID: a.ParentSpanID, Name: "qa",
		Version: "v3", Outcome: "completed", ValidatedOutputs: 4, OutcomeSource: "root status", Team: "t1", Feature: "f1",
		Session: "s1", User: "u1", Service: "svc", Environment: "prod", Labels: a.Labels, StartUnixNano: a.StartUnixNano, EndUnixNano: b.EndUnixNano}
	w2 := pipeline.Workflow{ID: "w2", Tenant: "globex", TraceID: c.TraceID, Name: "x", StartUnixNano: c.StartUnixNano, EndUnixNano: c.StartUnixNano}
	return pipeline.Batch{LineItems: items, Workflows: []pipeline.Workflow{w1, w2},
		Issues: []pipeline.SpanIssue{{Span: a, WorkflowID: "w1", Issue: "dup span id"}, {Span: c, WorkflowID: "w2", Issue: "end before start"}}}
}

func withoutVersion(cols string) string {
	var out []string
	for _, c := range strings.Split(cols, ",") {
		if c = strings.TrimSpace(c); c != "version" {
			out = append(out, c)
		}
	}
	return strings.Join(out, ", ")
}

func dump(t *testing.T, conn driver.Conn, q string) [][]any {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	var out [][]any
	for rows.Next() {
		ptrs := make([]any, len(types))
		for i, ct := range types {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]any, len(ptrs))
		for i, p := range ptrs {
			row[i] = reflect.ValueOf(p).Elem().Interface()
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The writer as it was before the columnar inserts: one Append per row.
const refLineItemColumns = `tenant, day, start_time, trace_id, span_id, parent_span_id, workflow_id, component,
step, operation, provider, model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
reasoning_tokens, usage_estimated, duration_ms, quantity, unit, cost_nano, provider_cost_nano,
has_provider_cost, priced, unpriced_reason, price_version, price_rule, team, feature, review_role,
review_active_ms, review_queue_ms, review_outcome, is_error, issues, version, tool_name, compute_class,
service_tier, cache_write_1h_tokens, retrieval_units, system_tokens, context_tokens, history_tokens, user_tokens,
other_tokens, audio_input_tokens, image_input_tokens, audio_output_tokens, compute_share_bp, session, end_user, service,
environment, label_keys, label_values, provider_cost_currency, provider_cost_source, auth_tenant`

const refWorkflowColumns = `tenant, day, start_time, end_time, workflow_id, trace_id, root_span_id, name,
workflow_version, outcome, validated_outputs, team, feature, duration_ms, version, outcome_source, session, end_user,
service, environment, label_keys, label_values, auth_tenant`

const refIssueColumns = `tenant, day, trace_id, span_id, workflow_id, step, issue, version, auth_tenant`

func rowWrite(ctx context.Context, conn driver.Conn, db string, batch pipeline.Batch) error {
	version := uint64(time.Now().UnixNano())
	u := func(b bool) uint8 {
		if b {
			return 1
		}
		return 0
	}
	keys := func(ls []pipeline.Label) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.Key
		}
		return out
	}
	vals := func(ls []pipeline.Label) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.Value
		}
		return out
	}
	send := func(table, cols string, n int, row func(b driver.Batch, i int) error) error {
		b, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+"."+table+" ("+cols+")")
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := row(b, i); err != nil {
				return fmt.Errorf("%s row %d: %w", table, i, err)
			}
		}
		return b.Send()
	}
	if err := send("line_items", refLineItemColumns, len(batch.LineItems), func(b driver.Batch, i int) error {
		li := &batch.LineItems[i]
		sp := li.Span
		start := time.Unix(0, sp.StartUnixNano).UTC()
		issues := sp.Issues
		if issues == nil {
			issues = []string{}
		}
		return b.Append(
			sp.Tenant, start, start, sp.TraceID.String(), sp.SpanID.String(), sp.ParentSpanID.String(),
			li.WorkflowID, string(li.Component), sp.StepKey(), string(sp.Operation), sp.Provider, sp.Model,
			sp.Usage.InputTokens, sp.Usage.OutputTokens, sp.Usage.CacheReadTokens, sp.Usage.CacheWriteTokens,
			sp.Usage.ReasoningTokens, u(sp.Usage.Estimated), sp.DurationMs(), li.Quantity, li.Unit,
			int64(li.Cost), int64(sp.ProviderCost), u(sp.HasProviderCost), u(li.Priced), li.UnpricedReason,
			li.PriceVersion, li.PriceRule, sp.Team, sp.Feature, sp.ReviewRole, sp.ReviewActiveMs, sp.ReviewQueueMs,
			sp.ReviewOutcome, u(sp.Error), issues, version, sp.ToolName, sp.ComputeClass,
			sp.ServiceTier, sp.Usage.CacheWrite1hTokens, sp.RetrievalUnits, sp.Usage.Mix.System, sp.Usage.Mix.Context,
			sp.Usage.Mix.History, sp.Usage.Mix.User, sp.Usage.Mix.Other, sp.Usage.AudioInputTokens, sp.Usage.ImageInputTokens,
			sp.Usage.AudioOutputTokens, sp.ComputeShareBP, sp.Session, sp.User, sp.Service, sp.Environment,
			keys(sp.Labels), vals(sp.Labels), sp.ProviderCostCurrency, sp.ProviderCostSource,
			sp.AuthTenant)
	}); err != nil {
		return err
	}
	if err := send("workflows", refWorkflowColumns, len(batch.Workflows), func(b driver.Batch, i int) error {
		w := &batch.Workflows[i]
		start, end := time.Unix(0, w.StartUnixNano).UTC(), time.Unix(0, w.EndUnixNano).UTC()
		var dur uint64
		if w.EndUnixNano > w.StartUnixNano {
			dur = uint64(w.EndUnixNano-w.StartUnixNano) / 1e6
		}
		return b.Append(w.Tenant, start, start, end, w.ID, w.TraceID.String(), w.RootSpanID.String(), w.Name,
			w.Version, w.Outcome, w.ValidatedOutputs, w.Team, w.Feature, dur, version, w.OutcomeSource, w.Session, w.User,
			w.Service, w.Environment, keys(w.Labels), vals(w.Labels), w.AuthTenant)
	}); err != nil {
		return err
	}
	return send("span_issues", refIssueColumns, len(batch.Issues), func(b driver.Batch, i int) error {
		is := batch.Issues[i]
		sp := is.Span
		return b.Append(sp.Tenant, time.Unix(0, sp.StartUnixNano).UTC(), sp.TraceID.String(), sp.SpanID.String(),
			is.WorkflowID, sp.StepKey(), is.Issue, version, sp.AuthTenant)
	})
}

// BenchmarkWrite compares the columnar writer (whole batch in one block, or blocks of
// 4,096 and 8,192 rows) with the row-by-row reference on one batch of 36,000 line items
// of 4,000 workflows (about one write of `process` draining a backlog) against the real
// ClickHouse: wall per line item, this process's CPU (the client) per line item, and the
// server's query CPU per line item (system.events: shared with anything else the server
// runs meanwhile).
func BenchmarkWrite(b *testing.B) {
	s := testenv.ClickHouse(b)
	ctx := context.Background()
	batch := benchBatch(4000)
	columnar := func(block int) func() error {
		return func() error {
			defer store.SetInsertBlockRows(store.SetInsertBlockRows(block))
			return s.Write(ctx, batch)
		}
	}
	serverCPU := func() time.Duration {
		var us uint64
		_ = s.Conn().QueryRow(ctx, "SELECT sum(value) FROM system.events WHERE event IN ('UserTimeMicroseconds', 'SystemTimeMicroseconds')").Scan(&us)
		return time.Duration(us) * time.Microsecond
	}
	for _, c := range []struct {
		name  string
		write func() error
	}{
		{"columnar-block8192", columnar(8192)},
		{"columnar-block4096", columnar(4096)},
		{"columnar-whole", columnar(1 << 30)},
		{"rowwise", func() error { return rowWrite(ctx, s.Conn(), s.Database(), batch) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu0, srv0 := cpuTime(), serverCPU()
			for i := 0; i < b.N; i++ {
				if err := c.write(); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N * len(batch.LineItems))
			b.ReportMetric(float64(cpuTime()-cpu0)/n/1e3, "client-cpu-us/line")
			b.ReportMetric(float64(serverCPU()-srv0)/n/1e3, "server-cpu-us/line")
			b.ReportMetric(float64(b.Elapsed())/n/1e3, "wall-us/line")
		})
	}
}

// benchBatch is a batch of n workflows of 9 line items each, every field set.
func benchBatch(n int) pipeline.Batch {
	proto := fullBatch()
	var batch pipeline.Batch
	for w := 0; w < n; w++ {
		for i, it := range proto.LineItems[:3] {
			sp := *it.Span
			sp.TraceID[1], sp.TraceID[2] = byte(w>>8), byte(w)
			sp.SpanID[6] = byte(i)
			for k := 0; k < 3; k++ {
				sp := sp
				sp.SpanID[5] = byte(k)
				it.Span = &sp
				batch.LineItems = append(batch.LineItems, it)
			}
		}
		wf := proto.Workflows[0]
		wf.TraceID[1], wf.TraceID[2] = byte(w>>8), byte(w)
		wf.ID = wf.TraceID.String()
		batch.Workflows = append(batch.Workflows, wf)
	}
	return batch
}

// BenchmarkWriteInFlight writes eight chunks of 18,000 line items and 2,000 workflows (a
// 40,000-workflow drain's writes) one at a time or two at once, as process's write jobs
// do, against the real ClickHouse: wall per line item of the whole set. Run with -count to
// interleave the two.
func BenchmarkWriteInFlight(b *testing.B) {
	s := testenv.ClickHouse(b)
	ctx := context.Background()
	chunk := benchBatch(2000)
	const chunks = 8
	for _, inflight := range []int{1, 2} {
		b.Run(fmt.Sprintf("jobs-%d", inflight), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				sem := make(chan struct{}, inflight)
				errs := make(chan error, chunks)
				for c := 0; c < chunks; c++ {
					sem <- struct{}{}
					go func() {
						defer func() { <-sem }()
						errs <- s.Write(ctx, chunk)
					}()
				}
				for c := 0; c < chunks; c++ {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed())/float64(b.N*chunks*len(chunk.LineItems))/1e3, "wall-us/line")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
