package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
)

// `unitcost alert --once` against a real database: it reads the rollups through the
// configured rules, prints every reading, keeps its state file, and `unitcost rollup`
// and `report --view series` see the same data.
func TestAlertAndRollupCommands(t *testing.T) {
	bin := buildBinary(t)
	st := testenv.ClickHouse(t)
	var b pipeline.Batch
	now := time.Now().UTC()
	until := now.Add(time.Minute).Format(time.RFC3339) // report windows end at a whole second
	for i := 0; i < 3; i++ {
		var tid pipeline.TraceID
		tid[15] = byte(i + 1)
		ts := now.Add(-time.Duration(i) * time.Hour).UnixNano()
		call := &pipeline.Span{Tenant: "acme", TraceID: tid, StartUnixNano: ts, EndUnixNano: ts + 1e9}
		call.SpanID[7] = 2
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: tid.String(), Tenant: "acme", TraceID: tid, Name: "qa", Outcome: "completed",
			ValidatedOutputs: 1, StartUnixNano: ts, EndUnixNano: ts + 2e9})
		b.LineItems = append(b.LineItems, pipeline.LineItem{Span: call, WorkflowID: tid.String(), Component: pipeline.ComponentModel, Cost: 1_000_000, Priced: true})
	}
	if err := st.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	var posts atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body); posts.Add(1) }))
	defer hook.Close()
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(`state_file: `+filepath.Join(dir, "state.json")+`
notifiers: [{name: hook, type: webhook, url: "${HOOK_URL}"}]
rules:
  - {name: cpc, metric: cost_per_completed, group_by: workflow, min_samples: 1, min_baseline_hours: 2}
`), 0o644)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--clickhouse.addr", testenv.ClickHouseAddr(t), "--clickhouse.database", st.Database())...)
		cmd.Env = append(os.Environ(), "HOOK_URL="+hook.URL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("rollup"); !strings.Contains(out, "rebuilt 3 hours") {
		t.Fatalf("rollup: %s", out)
	}
	if out := run("report", "--view", "series", "--since", "4h", "--until", until, "--format", "csv"); strings.Count(out, ",qa,1,1,1,0,0.001000000,") != 3 {
		t.Fatalf("series report:\n%s", out)
	}
	for _, args := range [][]string{{"report", "--rollups", "--since", "4h", "--until", until, "--format", "csv"}, {"report", "--since", "4h", "--until", until, "--format", "csv"}} {
		if out := run(args...); !strings.Contains(out, "\nworkflow,qa,3,3,3,0,0.003000000,") {
			t.Fatalf("%v:\n%s", args, out)
		}
	}
	// --format json prints the API's document (schemas/openapi.yaml's UnitEconomics)
	if out := run("report", "--rollups", "--since", "4h", "--until", until, "--format", "json"); !strings.Contains(out, `"source": "rollups"`) ||
		!strings.Contains(out, `"currency": "USD"`) || !strings.Contains(out, `"cost_usd": "0.003000000"`) || !strings.Contains(out, `"total": {`) {
		t.Fatalf("report --format json:\n%s", out)
	}
	out := run("alert", "--rules", rules, "--once", "--at", now.Format(time.RFC3339))
	if !strings.Contains(out, "cpc/qa") || !strings.Contains(out, "+0.0%") || strings.Contains(out, "breach") || strings.Contains(out, "not enough data") ||
		!strings.Contains(out, "0 notifications sent, 0 pending") {
		t.Fatalf("alert --once:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Fatalf("no state file: %v", err)
	}
	if posts.Load() != 0 {
		t.Fatalf("%d notifications for a steady workload", posts.Load())
	}
}
