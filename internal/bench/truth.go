package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/unitcost/unitcost/pipeline/loadgen"
	"github.com/unitcost/unitcost/pipeline/store"
)

// checkTruth compares a drained database with the ground truth: row counts after dedup,
// unit economics for all tenants and each, and the rollups after a refresh ("" = equal).
func (b *run) checkTruth(ctx context.Context, st *store.Store, truth *loadgen.Truth, from, to time.Time) string {
	w, l, err := st.Counts(ctx)
	if err != nil {
		return err.Error()
	}
	if w != uint64(len(truth.Workflows)) || l != uint64(truth.LineItems) {
		return fmt.Sprintf("%d workflows and %d line items, want %d and %d", w, l, len(truth.Workflows), truth.LineItems)
	}
	for _, tenant := range []string{"", "acme", "globex"} {
		got, err := st.UnitEconomics(ctx, from, to, tenant)
		if err != nil {
			return err.Error()
		}
		if d := sameFigures(got, truth.ByType(tenant)); d != "" {
			return "line items, tenant " + tenant + ": " + d
		}
	}
	if _, err := st.RefreshRollups(ctx, time.Minute); err != nil {
		return err.Error()
	}
	points, err := st.Series(ctx, from.Truncate(time.Hour), to.Truncate(time.Hour).Add(time.Hour), "hour", store.SeriesFilter{})
	if err != nil {
		return err.Error()
	}
	if d := sameFigures(store.SumByWorkflow(points), truth.ByType("")); d != "" {
		return "rollups: " + d
	}
	return ""
}
