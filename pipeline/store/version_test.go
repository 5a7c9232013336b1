package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline"
)

// A write's rows take the version the caller set (pipeline.WithWriteVersion), not the
// time of the call: a write job retried after a later one still loses to the later one's
// rows with the same key. Runs on the real server (18.16 in CI).
func TestWriteTakesTheCallersVersion(t *testing.T) {
	s := testenv.ClickHouse(t)
	ctx := context.Background()
	root := span(7, 1, 0)
	wf := func(outcome string) pipeline.Batch {
		return pipeline.Batch{Workflows: []pipeline.Workflow{{ID: root.TraceID.String(), Tenant: "acme", TraceID: root.TraceID,
			RootSpanID: root.SpanID, Name: "chat", Outcome: outcome, OutcomeSource: "status UNSET",
			StartUnixNano: root.StartUnixNano, EndUnixNano: root.EndUnixNano}}}
	}
	later := uint64(time.Date(2026, 11, 1, 0, 0, 2, 0, time.UTC).UnixNano())
	// The later job (version later) is written first, the earlier job's retry after it.
	if err := s.Write(pipeline.WithWriteVersion(ctx, later), wf("failed")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(pipeline.WithWriteVersion(ctx, later-1), wf("completed")); err != nil {
		t.Fatal(err)
	}
	var outcome string
	var version uint64
	q := "SELECT outcome, version FROM " + s.Database() + ".workflows FINAL WHERE workflow_id = ?"
	if err := s.Conn().QueryRow(ctx, q, root.TraceID.String()).Scan(&outcome, &version); err != nil {
		t.Fatal(err)
	}
	if outcome != "failed" || version != later {
		t.Fatalf("workflow row: outcome %q version %d, want %q version %d (the later job's)", outcome, version, "failed", later)
	}
	// Without a version the call's time is used: after the fixed 2026 version above.
	if err := s.Write(ctx, wf("completed")); err != nil {
		t.Fatal(err)
	}
	if err := s.Conn().QueryRow(ctx, q, root.TraceID.String()).Scan(&outcome, &version); err != nil {
		t.Fatal(err)
	}
	if outcome != "completed" || version <= later {
		t.Fatalf("workflow row after an unversioned write: outcome %q version %d, want %q above %d", outcome, version, "completed", later)
	}
}
