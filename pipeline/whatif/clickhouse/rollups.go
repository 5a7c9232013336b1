package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/whatif"
)

// maxCallRanges bounds the stretches of hours Load reads from the line items beside the
// rollups (hours not built yet, or built before migration 0012); beyond it the whole window
// is read from the line items, in two queries rather than many.
const maxCallRanges = 8

// Load reads one workflow type over exactly [from, to): the whole hours strictly inside
// the window from the what-if's rollups (rollup_whatif_calls_hourly,
// rollup_whatif_cohorts_hourly) for every hour whose newest recorded build holds them, as
// of that build, and from the line items (LoadCalls) the partial hours at its edges (at
// most two, each over exactly its part of the window) and the hours with workflows but no
// such build. The rollups' calls come summed (Data.Sums); whatif.Run falls back to
// LoadCalls where summed calls cannot be re-priced exactly.
func (s *Source) Load(ctx context.Context, workflow, tenant string, from, to time.Time) (whatif.Data, error) {
	from, to = from.UTC(), to.UTC()
	hf, ht, edges := whatif.InnerHours(from, to)
	if !hf.Before(ht) {
		return s.LoadCalls(ctx, workflow, tenant, from, to)
	}
	builds, ranges, err := s.plan(ctx, workflow, tenant, hf, ht)
	if err != nil {
		return whatif.Data{}, err
	}
	if len(builds) == 0 || len(ranges) > maxCallRanges {
		return s.LoadCalls(ctx, workflow, tenant, from, to)
	}
	all, irregular, err := s.loadRollups(ctx, workflow, tenant, from, to, builds)
	if err != nil {
		return whatif.Data{}, err
	}
	if irregular[workflow] {
		// counts that contradict each other price call by call (Price clamps them one by one)
		return s.LoadCalls(ctx, workflow, tenant, from, to)
	}
	d := all[workflow]
	if d == nil {
		d = newData(workflow, tenant, from, to)
	}
	if err := s.addCalls(ctx, d, tenant, append(edges, ranges...)); err != nil {
		return *d, err
	}
	d.Cohorts = mergeCohorts(d.Cohorts)
	return *d, nil
}

// addCalls adds to d the calls and cohorts of its type read one by one over ranges.
func (s *Source) addCalls(ctx context.Context, d *whatif.Data, tenant string, ranges [][2]time.Time) error {
	for _, r := range ranges {
		part, err := s.LoadCalls(ctx, d.Workflow, tenant, r[0], r[1])
		if err != nil {
			return err
		}
		d.Groups = append(d.Groups, part.Groups...)
		d.Cohorts = append(d.Cohorts, part.Cohorts...)
	}
	return nil
}

// LoadAll reads every workflow type of exactly [from, to) at once, in name order: the
// whole hours strictly inside the window from the rollups (three queries whatever the
// number of types) where they have a build holding the what-if's rollups, and, for each
// partial edge hour and each stretch of hours with workflows but no such build (at most
// maxCallRanges), its types and their calls read one by one. Hours without any workflow
// have no build and nothing to read (plan tells them from the workflows table in one
// query). ok is false when no hour is built or too many are not (then use Workflows and
// Load). A type with contradicting counts is read call by call.
func (s *Source) LoadAll(ctx context.Context, tenant string, from, to time.Time) ([]whatif.Data, bool, error) {
	from, to = from.UTC(), to.UTC()
	hf, ht, edges := whatif.InnerHours(from, to)
	if !hf.Before(ht) {
		return nil, false, nil
	}
	builds, ranges, err := s.plan(ctx, "", tenant, hf, ht)
	if err != nil || len(builds) == 0 || len(ranges) > maxCallRanges {
		return nil, false, err
	}
	all, irregular, err := s.loadRollups(ctx, "", tenant, from, to, builds)
	if err != nil {
		return nil, false, err
	}
	for _, e := range append(edges, ranges...) {
		names, err := s.workflowsFromSource(ctx, e[0], e[1], tenant)
		if err != nil {
			return nil, false, err
		}
		for _, n := range names {
			d := all[n]
			if d == nil {
				d = newData(n, tenant, from, to)
				all[n] = d
			}
			if irregular[n] {
				continue
			}
			if err := s.addCalls(ctx, d, tenant, [][2]time.Time{e}); err != nil {
				return nil, false, err
			}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]whatif.Data, 0, len(names))
	for _, n := range names {
		if irregular[n] {
			d, err := s.LoadCalls(ctx, n, tenant, from, to)
			if err != nil {
				return nil, false, err
			}
			out = append(out, d)
			continue
		}
		d := all[n]
		d.Cohorts = mergeCohorts(d.Cohorts)
		out = append(out, *d)
	}
	return out, true, nil
}

func newData(workflow, tenant string, from, to time.Time) *whatif.Data {
	return &whatif.Data{Workflow: workflow, Tenant: tenant, From: from, To: to, Groups: []whatif.LineGroup{}, Sums: []whatif.CallSum{}}
}

// loadRollups reads the summed calls and cohorts of the builds for workflow ("" = every
// type), per type: regular calls as Sums, calls without input or output (alike to any
// pricer) as Groups. It also names the types with a row of contradicting counts (kind 2).
func (s *Source) loadRollups(ctx context.Context, workflow, tenant string, from, to time.Time, builds map[int64]uint64) (map[string]*whatif.Data, map[string]bool, error) {
	list := buildList(builds)
	all, irregular := map[string]*whatif.Data{}, map[string]bool{}
	get := func(wf string) *whatif.Data {
		d := all[wf]
		if d == nil {
			d = newData(wf, tenant, from, to)
			all[wf] = d
		}
		return d
	}
	q, err := s.query("whatif_calls_rollups")
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.st.Conn().Query(ctx, strings.ReplaceAll(q, "{builds}", list), workflow, workflow, tenant, tenant)
	if err != nil {
		return nil, nil, fmt.Errorf("what-if calls rollup query: %w", err)
	}
	for rows.Next() {
		var wf string
		var c whatif.CallSum
		var kind uint8
		var bucket uint32
		var cost int64
		u := &c.Sums.Usage
		if err := rows.Scan(&wf, &c.Tenant, &c.Day, &c.Step, &c.Operation, &c.Provider, &c.Model, &c.ServiceTier, &kind, &bucket,
			&c.Sums.Calls, &cost, &c.Unpriced, &c.Errors, &u.InputTokens, &u.OutputTokens, &u.CacheReadTokens, &u.CacheWriteTokens,
			&u.CacheWrite1hTokens, &u.ReasoningTokens, &u.AudioInputTokens, &u.ImageInputTokens, &u.AudioOutputTokens,
			&c.Sums.MinInput, &c.Sums.MaxInput); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("what-if calls rollup row: %w", err)
		}
		c.Day = time.Date(c.Day.Year(), c.Day.Month(), c.Day.Day(), 0, 0, 0, 0, time.UTC)
		c.Cost = pipeline.Money(cost)
		d := get(wf)
		switch kind {
		case 0:
			d.Sums = append(d.Sums, c)
		case 1:
			d.Groups = append(d.Groups, whatif.LineGroup{Tenant: c.Tenant, Day: c.Day, Step: c.Step, Operation: c.Operation,
				Provider: c.Provider, Model: c.Model, ServiceTier: c.ServiceTier, Lines: c.Sums.Calls, Cost: c.Cost,
				Unpriced: c.Unpriced, Errors: c.Errors})
		default:
			irregular[wf] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("what-if calls rollup: %w", err)
	}
	if q, err = s.query("whatif_cohorts_rollups"); err != nil {
		return nil, nil, err
	}
	rows, err = s.st.Conn().Query(ctx, strings.ReplaceAll(q, "{builds}", list), workflow, workflow, tenant, tenant)
	if err != nil {
		return nil, nil, fmt.Errorf("what-if cohorts rollup query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var wf string
		c, err := scanCohort(rows, &wf)
		if err != nil {
			return nil, nil, fmt.Errorf("what-if cohorts rollup row: %w", err)
		}
		d := get(wf)
		d.Cohorts = append(d.Cohorts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("what-if cohorts rollup: %w", err)
	}
	return all, irregular, nil
}

// builtHours returns the hours of [from, to) (whole hours) whose newest recorded build
// (rollup_builds) holds the what-if's rows (recorded in rollup_whatif_builds too), with
// that build, and the stretch of hours from the first to the last hour without one (zero
// if every hour has one). An hour never built (no workflows, or not refreshed yet), built
// before migration 0012, or whose what-if rebuild is in flight or failed has none.
func (s *Source) builtHours(ctx context.Context, from, to time.Time) (map[int64]uint64, [2]time.Time, error) {
	var missing [2]time.Time
	q, err := s.query("whatif_rollup_hours")
	if err != nil {
		return nil, missing, err
	}
	rows, err := s.st.Conn().Query(ctx, q, from, to, from, to)
	if err != nil {
		return nil, missing, fmt.Errorf("what-if rollup hours query: %w", err)
	}
	defer rows.Close()
	built := map[int64]uint64{}
	for rows.Next() {
		var h time.Time
		var newest, whatif uint64
		if err := rows.Scan(&h, &newest, &whatif); err != nil {
			return nil, missing, fmt.Errorf("what-if rollup hours row: %w", err)
		}
		if whatif == newest {
			built[h.Unix()] = newest
		}
	}
	if err := rows.Err(); err != nil {
		return nil, missing, fmt.Errorf("what-if rollup hours: %w", err)
	}
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		if _, ok := built[h.Unix()]; ok {
			continue
		}
		if missing[0].IsZero() {
			missing[0] = h
		}
		missing[1] = h.Add(time.Hour)
	}
	return built, missing, nil
}

// plan splits [from, to) (whole hours) into the hours read from the rollups (each with
// its newest build, which holds the what-if's rows) and the stretches of hours read from
// the line items: hours in which workflows of the type ("" = any) started but which have
// no such build. Hours without such workflows (never built: quiet hours) have nothing to
// read; a workflow arriving late in one makes it a stretch to read call by call until the
// refresher rebuilds it (its write makes the hour dirty).
func (s *Source) plan(ctx context.Context, workflow, tenant string, from, to time.Time) (map[int64]uint64, [][2]time.Time, error) {
	built, missing, err := s.builtHours(ctx, from, to)
	if err != nil || missing[0].IsZero() {
		return built, nil, err
	}
	q, err := s.query("whatif_hours")
	if err != nil {
		return nil, nil, err
	}
	rows, err := s.st.Conn().Query(ctx, q, missing[0], missing[1], missing[0], missing[1], workflow, workflow, tenant, tenant)
	if err != nil {
		return nil, nil, fmt.Errorf("what-if hours query: %w", err)
	}
	defer rows.Close()
	var ranges [][2]time.Time
	for rows.Next() {
		var h time.Time
		if err := rows.Scan(&h); err != nil {
			return nil, nil, fmt.Errorf("what-if hours row: %w", err)
		}
		h = h.UTC()
		if _, ok := built[h.Unix()]; ok {
			continue
		}
		if n := len(ranges); n > 0 && ranges[n-1][1].Equal(h) {
			ranges[n-1][1] = h.Add(time.Hour)
		} else {
			ranges = append(ranges, [2]time.Time{h, h.Add(time.Hour)})
		}
	}
	return built, ranges, rows.Err()
}

// workflowsFromRollups lists the workflow types of [from, to) (whole hours): from the
// what-if's cohort rollups for the hours built with them, from the workflows for the rest.
func (s *Source) workflowsFromRollups(ctx context.Context, from, to time.Time, tenant string) ([]string, error) {
	built, missing, err := s.builtHours(ctx, from, to)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	if !missing[0].IsZero() {
		names, err := s.workflowsFromSource(ctx, missing[0], missing[1], tenant)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			seen[n] = true
		}
	}
	if len(built) > 0 {
		q, err := s.query("whatif_workflows_rollups")
		if err != nil {
			return nil, err
		}
		rows, err := s.st.Conn().Query(ctx, strings.ReplaceAll(q, "{builds}", buildList(built)), tenant, tenant)
		if err != nil {
			return nil, fmt.Errorf("what-if workflow types rollup query: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n uint64
			if err := rows.Scan(&name, &n); err != nil {
				return nil, fmt.Errorf("what-if workflow types rollup row: %w", err)
			}
			seen[name] = true
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("what-if workflow types rollup: %w", err)
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// buildList is the {builds} of the rollup queries: (hour as Unix seconds, build) pairs of
// plain numbers (18.16 builds a set of literal numbers at once; toDateTime() calls in the
// literal took ~10x longer), with one that matches nothing so that a single pair is never
// read as a tuple of two values.
func buildList(builds map[int64]uint64) string {
	hours := make([]int64, 0, len(builds))
	for h := range builds {
		hours = append(hours, h)
	}
	sort.Slice(hours, func(i, j int) bool { return hours[i] < hours[j] })
	parts := []string{"(0, 0)"}
	for _, h := range hours {
		parts = append(parts, fmt.Sprintf("(%d, %d)", h, builds[h]))
	}
	return strings.Join(parts, ", ")
}

// mergeCohorts adds up the cohorts of the same routing (from the rollups and from the
// line items of other hours), in routing order.
func mergeCohorts(cs []whatif.Cohort) []whatif.Cohort {
	idx := map[string]int{}
	var out []whatif.Cohort
	for _, c := range cs {
		k := routingKey(c.Routing)
		if i, ok := idx[k]; ok {
			o := &out[i]
			o.Workflows += c.Workflows
			o.Completed += c.Completed
			o.Failed += c.Failed
			o.Escalated += c.Escalated
			o.ValidatedWorkflows += c.ValidatedWorkflows
			o.ValidatedOutputs += c.ValidatedOutputs
			o.ValidatedSq += c.ValidatedSq
			o.Reviewed += c.Reviewed
			o.ReviewCost += c.ReviewCost
			o.ReviewCostSq += c.ReviewCostSq
			o.ReviewActiveMs += c.ReviewActiveMs
			o.ReviewActiveMsSq += c.ReviewActiveMsSq
			o.MachineCost += c.MachineCost
			o.Calls += c.Calls
			o.ErrorCalls += c.ErrorCalls
			continue
		}
		idx[k] = len(out)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return routingKey(out[i].Routing) < routingKey(out[j].Routing) })
	return out
}

func routingKey(r []whatif.StepModel) string {
	parts := make([]string, len(r))
	for i, sm := range r {
		parts[i] = sm.Step + "\t" + sm.Operation + "\t" + sm.Model
	}
	return strings.Join(parts, "\n")
}
