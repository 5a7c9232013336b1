package process

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/unitcost/unitcost/pipeline/stitch"
)

// Cumulative stitcher counts are counters named _total that advance by what the stitcher
// gained and never go down.
func TestCumulativeCountsAreCounters(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.observe(stitch.Stats{LateSpans: 3, Corrections: 2, Evictions: 1}, time.Now())
	m.observe(stitch.Stats{LateSpans: 5, Corrections: 2, Evictions: 1, Orphans: 4}, time.Now())
	want := `
# HELP unitcost_process_late_spans_total Spans that arrived after their trace had closed.
# TYPE unitcost_process_late_spans_total counter
unitcost_process_late_spans_total 5
# HELP unitcost_process_orphan_closes_total Rootless traces closed after orphan_quiet, e.g. late spans after a restart.
# TYPE unitcost_process_orphan_closes_total counter
unitcost_process_orphan_closes_total 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "unitcost_process_late_spans_total", "unitcost_process_orphan_closes_total"); err != nil {
		t.Error(err)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetType().String() == "COUNTER" && !strings.HasSuffix(mf.GetName(), "_total") {
			t.Errorf("counter %s does not end in _total", mf.GetName())
		}
	}
}
