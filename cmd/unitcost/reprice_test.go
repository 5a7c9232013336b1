package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
)

// `unitcost reprice --since 1d` covers line items stamped after now (a review that a client
// clock, or the generator, puts in the future) as well as those before.
func TestRepriceCoversLinesAfterNow(t *testing.T) {
	bin := buildBinary(t)
	st := testenv.ClickHouse(t)
	var b pipeline.Batch
	now := time.Now().UTC()
	for i, at := range []time.Time{now.Add(-2 * time.Hour), now.Add(3 * time.Hour)} {
		var tid pipeline.TraceID
		tid[15] = byte(i + 1)
		sp := &pipeline.Span{Tenant: "acme", TraceID: tid, StartUnixNano: at.UnixNano(), EndUnixNano: at.UnixNano() + 1e9, Model: "no-such-model"}
		sp.SpanID[7] = 2
		b.Workflows = append(b.Workflows, pipeline.Workflow{ID: tid.String(), Tenant: "acme", TraceID: tid, Name: "qa", Outcome: "completed",
			StartUnixNano: at.UnixNano(), EndUnixNano: at.UnixNano() + 2e9})
		b.LineItems = append(b.LineItems, pipeline.LineItem{Span: sp, WorkflowID: tid.String(), Component: pipeline.ComponentModel})
	}
	if err := st.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "reprice", "--since", "1d", "--clickhouse.addr", testenv.ClickHouseAddr(t), "--clickhouse.database", st.Database(),
		"--log_level", "warn").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reprice: 2 line items started after ") {
		t.Fatalf("%v\n%s", err, out)
	}
}
