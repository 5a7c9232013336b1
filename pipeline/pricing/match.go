package pricing

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// How a model id reported by a span finds its entry. The rule is that a match is never a
// guess: an id names an entry (its model name or an alias, case-insensitive) once the
// decorations that do not change the price are removed, and nothing else is removed.
//
//   - Paths: Vertex "projects/.../publishers/anthropic/models/claude-...", Gemini
//     "models/gemini-...", routing prefixes ("openai/", "azure/", "bedrock/",
//     "vertex_ai/"), Bedrock ARNs ("arn:aws:bedrock:...:inference-profile/us.anthropic...").
//     A path with any other segment (an Azure data zone "azure/eu/" is the exception,
//     below) is not understood and stays unknown.
//   - Bedrock: a geography prefix ("global.", "us.", "eu.", "apac.", "jp.", "au.",
//     "us-gov.", ...) and a vendor prefix ("anthropic.", "openai.", "meta.", ...).
//     Regional forms (in-region "anthropic.claude-..." and every geography but global)
//     bill the entry's regional_premium when it has one (older Bedrock models cost the
//     same everywhere); Azure data zones ("azure/eu/") and GovCloud ("us-gov.") always
//     bill a premium of their own, so an entry without one leaves them unknown.
//   - Snapshot suffixes, one at a time from the end: Bedrock versions "-v1:0", Vertex
//     "@20250514" / "@001" / "@latest", dates "-2025-10-06", "-20250929", "-0709",
//     "-09-2025", "-05-20", Gemini revisions "-001", and "-latest".
//
// After each removal the id is looked up exactly (provider-qualified first). A variant
// ("gpt-5-pro", "o3-pro", "gpt-4o-realtime-preview", "gemini-2.5-flash-preview") is not a
// decoration: it matches its own entry or none, and an unmatched span is kept unpriced
// with the reason.

// modelIndex finds models by exact name and alias.
// Keys are "provider\x00name" and "name", lower case (a name may contain "/"); regional
// and govcloud hold the derived endpoint models under the same keys.
type modelIndex struct {
	models   map[string]*Model
	regional map[string]*Model
	govcloud map[string]*Model
	cache    *lookupCache
}

// lookupCache remembers resolved ids: spans repeat a handful of model ids, and resolving
// one (paths, prefixes, suffixes) costs microseconds. Bounded, so hostile ids cannot grow
// it; a Book is otherwise immutable, and the cache is safe for concurrent Price calls.
type lookupCache struct {
	mu sync.RWMutex
	m  map[[2]string]*Model // {provider, model} as reported -> entry, nil for unknown
}

const lookupCacheMax = 4096

func buildIndex(what string, models []Model, errs []error) (modelIndex, []error) {
	idx := modelIndex{models: map[string]*Model{}, regional: map[string]*Model{}, govcloud: map[string]*Model{},
		cache: &lookupCache{m: map[[2]string]*Model{}}}
	for i := range models {
		m := &models[i]
		if m.Model == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: model name required", what, i))
			continue
		}
		if !m.Input.Set || !m.Output.Set {
			errs = append(errs, fmt.Errorf("%s[%d] %s: input and output rates required", what, i, m.Model))
		}
		errs = m.validate(fmt.Sprintf("%s[%d] %s", what, i, m.Model), errs)
		for _, name := range append([]string{m.Model}, m.Aliases...) {
			name = strings.ToLower(strings.TrimSpace(name))
			keys := []string{name}
			if m.Provider != "" {
				keys = append(keys, strings.ToLower(m.Provider)+"\x00"+name)
			}
			for _, k := range keys {
				if other, dup := idx.models[k]; dup && other != m {
					if k == name && m.Provider != "" && other.Provider != "" && !strings.EqualFold(m.Provider, other.Provider) {
						continue // same name at two providers: the bare name keeps the first
					}
					errs = append(errs, fmt.Errorf("%s[%d] %s: name %q already names %s", what, i, m.Model, name, other.Model))
					continue
				}
				idx.models[k] = m
				if m.regional != nil {
					idx.regional[k] = m.regional
				}
				if m.govcloud != nil {
					idx.govcloud[k] = m.govcloud
				}
			}
		}
	}
	return idx, errs
}

// routing path segments that do not change the price.
var routingSegments = map[string]bool{"openai": true, "azure": true, "azure_ai": true, "bedrock": true, "bedrock_converse": true,
	"converse": true, "invoke": true, "vertex_ai": true, "vertex": true, "gemini": true, "google": true, "anthropic": true,
	"mistral": true, "xai": true, "deepseek": true, "models": true}

// Azure data zones: deployments processed within a geography, billed at a premium.
var azureDataZones = map[string]bool{"eu": true, "us": true}

// Bedrock cross-region inference profile geographies. "global." routes worldwide at the
// listed price; the others are regional.
var bedrockGeos = map[string]bool{"global": true, "us": true, "eu": true, "apac": true, "jp": true, "au": true, "ca": true,
	"us-gov": true, "sa": true, "me": true, "af": true, "uk": true, "in": true, "kr": true}

// Bedrock model-id vendor prefixes.
var bedrockVendors = map[string]bool{"anthropic": true, "openai": true, "meta": true, "mistral": true, "amazon": true,
	"deepseek": true, "cohere": true, "ai21": true, "qwen": true, "writer": true, "google": true, "moonshotai": true,
	"zai": true, "nvidia": true, "minimax": true, "twelvelabs": true, "stability": true, "luma": true}

// bedrockVersion matches a model version ("-v1:0", "-1:0", ":0"), removed first; on a
// Bedrock id (vendor prefix) also a bare "-v1" ("anthropic.claude-opus-4-6-v1").
var (
	bedrockVersion     = regexp.MustCompile(`(?:-v\d+:\d+|-\d+:\d+|:\d+)$`)
	bedrockBareVersion = regexp.MustCompile(`-v\d+$`)
)

// snapshotSuffixes match one dated-snapshot decoration at the end of an id; the shortest
// match is removed first.
var snapshotSuffixes = func() []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range []string{`@\d{8}`, `@\d{3}`, `@latest`, `@default`, `-\d{4}-\d{2}-\d{2}`, `-\d{8}`,
		`-\d{2}-\d{4}`, `-\d{2}-\d{2}`, `-\d{4}`, `-\d{3}`, `-latest`} {
		out = append(out, regexp.MustCompile(`(?:`+p+`)$`))
	}
	return out
}()

// trimSnapshot removes the shortest snapshot suffix; false when there is none (or the
// whole id would go).
func trimSnapshot(id string, bedrock bool) (string, bool) {
	if loc := bedrockVersion.FindStringIndex(id); loc != nil && loc[0] > 0 {
		return id[:loc[0]], true
	}
	if loc := bedrockBareVersion.FindStringIndex(id); bedrock && loc != nil && loc[0] > 0 {
		return id[:loc[0]], true
	}
	best := -1
	for _, re := range snapshotSuffixes {
		if loc := re.FindStringIndex(id); loc != nil && loc[0] > 0 && loc[0] > best {
			best = loc[0]
		}
	}
	if best < 0 {
		return id, false
	}
	return id[:best], true
}

// route is how an id reaches the model: the provider's API or a cloud's global endpoint
// bill the listed rates, a regional endpoint may bill a premium.
type route struct{ regional, govcloud, dataZone bool }

func (x modelIndex) lookup(provider, model string) (*Model, bool) {
	if x.cache == nil {
		return x.resolve(provider, model)
	}
	k := [2]string{provider, model}
	x.cache.mu.RLock()
	m, hit := x.cache.m[k]
	x.cache.mu.RUnlock()
	if hit {
		return m, m != nil
	}
	m, ok := x.resolve(provider, model)
	x.cache.mu.Lock()
	if len(x.cache.m) < lookupCacheMax {
		x.cache.m[[2]string{strings.Clone(provider), strings.Clone(model)}] = m
	}
	x.cache.mu.Unlock()
	return m, ok
}

func (x modelIndex) resolve(provider, model string) (*Model, bool) {
	provider = strings.ToLower(strings.TrimSpace(provider))
	forms, rt, ok := idForms(strings.ToLower(strings.TrimSpace(model)))
	if !ok {
		return nil, false
	}
	for n, k := range forms {
		literal := n == 0 // an entry named by the whole id as reported states its own price
		if rt.govcloud {
			// GovCloud has its own price list: only an entry that states it prices it.
			if m := x.govcloud[provider+"\x00"+k]; m != nil {
				return m, true
			}
			if m := x.govcloud[k]; m != nil {
				return m, true
			}
			if !literal {
				continue
			}
		}
		if rt.regional {
			if m := x.regional[provider+"\x00"+k]; m != nil {
				return m, true
			}
			if m := x.regional[k]; m != nil {
				return m, true
			}
			if rt.dataZone && !literal {
				continue // every Azure data zone bills a premium: only an entry that states it prices it
			}
		}
		if m := x.models[provider+"\x00"+k]; m != nil {
			return m, true
		}
		if m := x.models[k]; m != nil {
			return m, true
		}
	}
	return nil, false
}

// idForms lists the forms of an id to look up, most specific first, and the route the id
// names. ok is false for an id it cannot read (a path it does not understand).
func idForms(id string) (forms []string, rt route, ok bool) {
	if id == "" {
		return nil, rt, false
	}
	forms = append(forms, id)
	id, rt, ok = stripCloud(id)
	if !ok {
		return forms, rt, false
	}
	add := func(s string) {
		if s != forms[len(forms)-1] {
			forms = append(forms, s)
		}
	}
	add(id)
	geo := ""
	if i := strings.IndexByte(id, '.'); i > 0 && bedrockGeos[id[:i]] && i+1 < len(id) {
		geo, id = id[:i], id[i+1:]
		add(id)
	}
	bedrock := false
	if i := strings.IndexByte(id, '.'); i > 0 && bedrockVendors[id[:i]] && i+1 < len(id) {
		id, bedrock = id[i+1:], true
		add(id)
		if geo == "" {
			rt.regional = true // an in-region Bedrock id is a regional endpoint
		}
	}
	if geo != "" && geo != "global" {
		rt.regional = true
	}
	rt.govcloud = geo == "us-gov"
	for {
		var more bool
		if id, more = trimSnapshot(id, bedrock); !more {
			return forms, rt, true
		}
		add(id)
	}
}

// stripCloud removes a path: Vertex and Gemini "…models/NAME", Bedrock ARNs, and routing
// prefixes. ok is false for a path it does not understand.
func stripCloud(id string) (string, route, bool) {
	var rt route
	if i := strings.LastIndex(id, "models/"); i >= 0 && (i == 0 || id[i-1] == '/') {
		return id[i+len("models/"):], rt, true
	}
	if strings.HasPrefix(id, "arn:") {
		i := strings.LastIndexByte(id, '/')
		kind := id[strings.LastIndexByte(id[:max(i, 0)], ':')+1 : max(i, 0)]
		if i < 0 || (kind != "foundation-model" && kind != "inference-profile") {
			return "", rt, false // application inference profiles and provisioned models name no model
		}
		return id[i+1:], rt, true
	}
	segs := strings.Split(id, "/")
	if len(segs) == 1 {
		return id, rt, true
	}
	for i, s := range segs[:len(segs)-1] {
		switch {
		case routingSegments[s]:
		case azureDataZones[s] && i > 0 && segs[i-1] == "azure":
			rt.regional, rt.dataZone = true, true
		default:
			return "", rt, false
		}
	}
	return segs[len(segs)-1], rt, true
}

// unknownReason says why a model id has no price, for the unpriced line: which entry it was
// not priced as and what to add.
func (b *Book) unknownReason(provider, model string) string {
	base := fmt.Sprintf("unknown model %q (provider %q)", model, provider)
	forms, rt, ok := idForms(strings.ToLower(strings.TrimSpace(model)))
	switch {
	case !ok:
		return base + ": its path is not a form unitcost reads (Vertex publishers/.../models/..., Bedrock ARNs, routing prefixes); add the id to the price book as an alias"
	case rt.dataZone:
		for _, k := range forms {
			if m := b.idx.models[k]; m != nil {
				return fmt.Sprintf("%s: Azure data-zone deployments bill a premium and %s has no regional_premium; add one to the price book", base, m.Model)
			}
		}
	case rt.govcloud:
		for _, k := range forms {
			if m := b.idx.models[k]; m != nil {
				return fmt.Sprintf("%s: AWS GovCloud has its own prices and %s has no govcloud_premium; add one to the price book", base, m.Model)
			}
		}
	}
	// The longest entry name the id extends is the model it must not be priced as.
	near := ""
	for _, f := range forms {
		for i := len(f) - 1; i > 0; i-- {
			if f[i] != '-' && f[i] != ':' {
				continue
			}
			if m := b.idx.models[f[:i]]; m != nil && len(m.Model) > len(near) {
				near = m.Model
				break
			}
		}
	}
	if near != "" {
		return fmt.Sprintf("%s: not priced as %s - a variant is a different model; add it to the price book", base, near)
	}
	return base + ": add it to the price book"
}
