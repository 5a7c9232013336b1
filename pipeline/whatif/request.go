package whatif

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Source reads what the what-if needs (pipeline/whatif/clickhouse implements it).
type Source interface {
	Workflows(ctx context.Context, from, to time.Time, tenant string) ([]string, error)
	Load(ctx context.Context, workflow, tenant string, from, to time.Time) (Data, error)
}

// CallSource is a Source that can also read every call one by one, without the rollups
// (Data.Sums empty): what Run falls back to where summed calls cannot be re-priced exactly
// (ErrNotExact).
type CallSource interface {
	Source
	LoadCalls(ctx context.Context, workflow, tenant string, from, to time.Time) (Data, error)
}

// BatchSource is a Source that can read every workflow type of a window at once (fewer
// round trips than Workflows and a Load per type); ok=false when it cannot for this
// window (then Run uses Workflows and Load).
type BatchSource interface {
	Source
	LoadAll(ctx context.Context, tenant string, from, to time.Time) (ds []Data, ok bool, err error)
}

// Request is one what-if: a workflow type ("" = every type with workflows in the
// window), a tenant ("" = all) and a window of workflow start times.
type Request struct {
	Workflow string
	Tenant   string
	From, To time.Time
	Options  Options
}

// Run loads and analyses each workflow type of the request, in name order.
func Run(ctx context.Context, src Source, req Request) ([]*Report, error) {
	if !req.From.Before(req.To) {
		return nil, fmt.Errorf("what-if window: from %s is not before to %s", req.From.Format(time.RFC3339), req.To.Format(time.RFC3339))
	}
	if err := req.Options.Pricer.Validate(); err != nil {
		return nil, err
	}
	req.From, req.To = req.From.UTC(), req.To.UTC()
	if bs, ok := src.(BatchSource); ok && req.Workflow == "" && !perCall(req.Options) {
		ds, ok, err := bs.LoadAll(ctx, req.Tenant, req.From, req.To)
		if err != nil {
			return nil, err
		}
		if ok {
			reps := make([]*Report, 0, len(ds))
			for _, d := range ds {
				rep, err := analyzeOrCalls(ctx, src, req, d)
				if err != nil {
					return nil, err
				}
				reps = append(reps, rep)
			}
			return reps, nil
		}
	}
	types := []string{req.Workflow}
	if req.Workflow == "" {
		var err error
		if types, err = src.Workflows(ctx, req.From, req.To, req.Tenant); err != nil {
			return nil, err
		}
	}
	// Two types at a time: one's queries run on the server while another's analysis runs
	// here. Reports keep the name order; the first error (in that order) is returned.
	reps, errs := make([]*Report, len(types)), make([]error, len(types))
	sem := make(chan struct{}, runParallel)
	var wg sync.WaitGroup
	for i, wf := range types {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			reps[i], errs[i] = runOne(ctx, src, req, wf)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return reps, nil
}

// InnerHours splits [from, to) (UTC) into the whole hours strictly inside it, [hf, ht)
// (empty when hf is not before ht), and its partial edge stretches (at most two, in time
// order; the whole window when no whole hour lies inside it). Sources read the whole hours
// from hourly rollups and the edges call by call, so that the what-if covers exactly the
// window asked for.
func InnerHours(from, to time.Time) (hf, ht time.Time, edges [][2]time.Time) {
	from, to = from.UTC(), to.UTC()
	hf, ht = from.Truncate(time.Hour), to.Truncate(time.Hour)
	if hf.Before(from) {
		hf = hf.Add(time.Hour)
	}
	if !hf.Before(ht) {
		if from.Before(to) {
			edges = append(edges, [2]time.Time{from, to})
		}
		return hf, hf, edges
	}
	if from.Before(hf) {
		edges = append(edges, [2]time.Time{from, hf})
	}
	if ht.Before(to) {
		edges = append(edges, [2]time.Time{ht, to})
	}
	return hf, ht, edges
}

// runParallel is how many workflow types Run loads and analyses at once.
const runParallel = 2

// perCall says whether the options change each call by its own token mix, which summed
// calls cannot tell (ErrNotExact).
func perCall(o Options) bool {
	return o.Pricer.CutContextPct > 0 || o.Pricer.CachePolicy == CacheSystem
}

func runOne(ctx context.Context, src Source, req Request, wf string) (*Report, error) {
	load := src.Load
	if cs, ok := src.(CallSource); ok && perCall(req.Options) {
		load = cs.LoadCalls
	}
	d, err := load(ctx, wf, req.Tenant, req.From, req.To)
	if err != nil {
		return nil, fmt.Errorf("what-if %q: %w", wf, err)
	}
	return analyzeOrCalls(ctx, src, req, d)
}

// analyzeOrCalls analyses d, or the calls of its type one by one where its summed calls
// cannot be re-priced exactly.
func analyzeOrCalls(ctx context.Context, src Source, req Request, d Data) (*Report, error) {
	wf := d.Workflow
	rep, err := Analyze(d, req.Options)
	if cs, ok := src.(CallSource); ok && errors.Is(err, ErrNotExact) && len(d.Sums) > 0 {
		if d, err = cs.LoadCalls(ctx, wf, req.Tenant, req.From, req.To); err != nil {
			return nil, fmt.Errorf("what-if %q: %w", wf, err)
		}
		rep, err = Analyze(d, req.Options)
	}
	if errors.Is(err, ErrNoWorkflows) && req.Workflow != "" {
		return nil, fmt.Errorf("what-if %q: %w: none started between %s and %s (check the name with `unitcost report`)",
			wf, ErrNoWorkflows, req.From.Format(time.RFC3339), req.To.Format(time.RFC3339))
	}
	return rep, err
}

// ParseScenario reads a routing such as "classify=gpt-4.1,answer=openai/gpt-5-mini@batch":
// step keys mapped to candidate models, each optionally with a provider prefix and an
// @service tier; "step=@batch" changes only the tier.
func ParseScenario(s string) (Scenario, error) {
	sc := Scenario{Changes: map[string]Change{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		step, target, ok := strings.Cut(part, "=")
		step = strings.TrimSpace(step)
		if !ok || step == "" || strings.TrimSpace(target) == "" {
			return sc, fmt.Errorf("scenario %q: want step=model[@tier], e.g. classify=gpt-4.1 (list the steps with `unitcost whatif --steps`)", part)
		}
		var ch Change
		model, tier, _ := strings.Cut(strings.TrimSpace(target), "@")
		if p, m, ok := strings.Cut(model, "/"); ok {
			ch.Provider, model = p, m
		}
		ch.Model, ch.ServiceTier = model, tier
		if _, dup := sc.Changes[step]; dup {
			return sc, fmt.Errorf("scenario %q: step %q appears twice", s, step)
		}
		sc.Changes[step] = ch
	}
	if len(sc.Changes) == 0 {
		return sc, fmt.Errorf("scenario %q: no step=model pair", s)
	}
	return sc, nil
}

// ParseAssumed reads user-supplied rates such as "review_rate=0.05,validated_per_workflow=1".
func ParseAssumed(s string) (*Assumed, error) {
	a := &Assumed{ReviewRate: -1}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || f < 0 {
			return nil, fmt.Errorf("assumed rates %q: want name=non-negative number pairs (review_rate, validated_per_workflow, completion_rate)", part)
		}
		switch strings.TrimSpace(k) {
		case "review_rate":
			a.ReviewRate = f
		case "validated_per_workflow":
			a.ValidatedPerWorkflow = f
		case "completion_rate":
			a.CompletionRate = f
		default:
			return nil, fmt.Errorf("assumed rates: unknown %q (use review_rate, validated_per_workflow, completion_rate)", k)
		}
	}
	if a.ReviewRate < 0 || a.ReviewRate > 1 || a.CompletionRate > 1 {
		return nil, fmt.Errorf("assumed rates %q: review_rate is required, and rates lie in [0, 1]", s)
	}
	return a, nil
}
