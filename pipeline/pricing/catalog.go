package pricing

import (
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/segmentio/encoding/json"

	"github.com/unitcost/unitcost/pipeline"
)

// Catalog is a public price catalog read into the book's terms, so a book and a catalog
// can be compared rate by rate (Diff) and a book drafted from one (ImportLiteLLM). Two
// formats are read: LiteLLM's model_prices_and_context_window.json (an object keyed by
// model id, costs per token) and pydantic's genai-prices data (a list of providers whose
// models carry match clauses and prices per million tokens).
type Catalog struct {
	Name   string // "litellm" or "genai-prices"
	models []catalogModel
	byKey  map[string]*catalogModel // LiteLLM: lower-case key

	rawLiteLLM map[string]json.RawMessage // for Subset
	rawGenAI   []rawProvider
}

type rawProvider struct {
	id     string
	fields map[string]json.RawMessage
	models []rawModel
}

type rawModel struct {
	id  string
	raw json.RawMessage
}

type catalogModel struct {
	key      string // LiteLLM key or genai-prices "provider/id"
	provider string // LiteLLM litellm_provider or genai-prices provider id
	model    Model
	match    *matchClause // genai-prices only
	source   string
}

// ReadCatalog reads either catalog format, told apart by its JSON shape.
func ReadCatalog(b []byte) (*Catalog, error) {
	s := strings.TrimSpace(string(b))
	switch {
	case strings.HasPrefix(s, "{"):
		return ReadLiteLLM(b)
	case strings.HasPrefix(s, "["):
		return ReadGenAIPrices(b)
	}
	return nil, fmt.Errorf("read catalog: neither LiteLLM's model_prices_and_context_window.json (an object) nor genai-prices data (a list of providers)")
}

// litellmField reads LiteLLM's cost keys: a base field, an optional context threshold
// ("_above_200k_tokens") and an optional service tier ("_batches", "_flex", "_priority").
var litellmField = regexp.MustCompile(`^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost|output_cost_per_reasoning_token|input_cost_per_audio_token|output_cost_per_audio_token)(?:_above_(\d+)k_tokens)?(?:_(batches|flex|priority))?$`)

// ReadLiteLLM reads LiteLLM's model price file. Entries without per-token input and output
// costs (images, audio by the second, search) are left out.
func ReadLiteLLM(b []byte) (*Catalog, error) {
	var rawEntries map[string]json.RawMessage
	if err := json.Unmarshal(b, &rawEntries); err != nil {
		return nil, fmt.Errorf("read LiteLLM price file: %w", err)
	}
	raw := make(map[string]map[string]any, len(rawEntries))
	for k, v := range rawEntries {
		var e map[string]any
		if json.Unmarshal(v, &e) == nil {
			raw[k] = e
		}
	}
	c := &Catalog{Name: "litellm", byKey: map[string]*catalogModel{}, rawLiteLLM: rawEntries}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if k != "sample_spec" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := raw[k]
		cm := catalogModel{key: k, model: Model{Model: k}}
		cm.provider, _ = e["litellm_provider"].(string)
		cm.source, _ = e["source"].(string)
		cm.model.Provider = cm.provider
		fields := make([]string, 0, len(e))
		for f := range e {
			fields = append(fields, f)
		}
		sort.Strings(fields)
		for _, f := range fields {
			g := litellmField.FindStringSubmatch(f)
			if g == nil {
				continue
			}
			r, err := perTokenRate(e[f])
			if err != nil {
				return nil, fmt.Errorf("read LiteLLM price file: %s.%s: %w", k, f, err)
			}
			above := uint64(0)
			if g[2] != "" {
				n, err := strconv.ParseUint(g[2], 10, 32)
				if err != nil {
					return nil, fmt.Errorf("read LiteLLM price file: %s.%s: threshold: %w", k, f, err)
				}
				above = n * 1000
			}
			tier := map[string]string{"batches": "batch", "flex": "flex", "priority": "priority"}[g[3]]
			setRate(&cm.model, tier, above, litellmRateName(g[1]), r)
		}
		if !cm.model.Input.Set || !cm.model.Output.Set {
			continue
		}
		c.models = append(c.models, cm)
	}
	for i := range c.models {
		c.byKey[strings.ToLower(c.models[i].key)] = &c.models[i]
	}
	return c, nil
}

func litellmRateName(f string) string {
	switch f {
	case "input_cost_per_token":
		return "input"
	case "output_cost_per_token":
		return "output"
	case "cache_read_input_token_cost":
		return "cache_read"
	case "cache_creation_input_token_cost":
		return "cache_write"
	case "cache_creation_input_token_cost_above_1hr":
		return "cache_write_1h"
	case "output_cost_per_reasoning_token":
		return "reasoning"
	case "input_cost_per_audio_token":
		return "audio_input"
	case "output_cost_per_audio_token":
		return "audio_output"
	}
	return ""
}

// setRate sets one rate of m: in service tier st ("" for standard) and above a context
// threshold (0 for the base rates).
func setRate(m *Model, st string, above uint64, name string, r Rate) {
	var tier *Tier
	ratesOf := func(t *Tier) map[string]*Rate {
		return map[string]*Rate{"input": &t.Input, "output": &t.Output, "cache_read": &t.CacheRead, "cache_write": &t.CacheWrite, "cache_write_1h": &t.CacheWrite1h}
	}
	findTier := func(ts *[]Tier) *Tier {
		for i := range *ts {
			if (*ts)[i].AboveInputTokens == above {
				return &(*ts)[i]
			}
		}
		*ts = append(*ts, Tier{AboveInputTokens: above})
		sort.Slice(*ts, func(i, j int) bool { return (*ts)[i].AboveInputTokens < (*ts)[j].AboveInputTokens })
		for i := range *ts {
			if (*ts)[i].AboveInputTokens == above {
				return &(*ts)[i]
			}
		}
		return nil
	}
	if st == "" {
		if above == 0 {
			switch name {
			case "input":
				m.Input = r
			case "output":
				m.Output = r
			case "cache_read":
				m.CacheRead = r
			case "cache_write":
				m.CacheWrite = r
			case "cache_write_1h":
				m.CacheWrite1h = r
			case "reasoning":
				m.Reasoning = r
			case "audio_input":
				m.AudioInput = r
			case "audio_output":
				m.AudioOutput = r
			}
			return
		}
		tier = findTier(&m.Tiers)
	} else {
		if m.ServiceTiers == nil {
			m.ServiceTiers = map[string]ServiceTier{}
		}
		s := m.ServiceTiers[st]
		if above == 0 {
			t := Tier{Input: s.Input, Output: s.Output, CacheRead: s.CacheRead, CacheWrite: s.CacheWrite, CacheWrite1h: s.CacheWrite1h}
			if p := ratesOf(&t)[name]; p != nil {
				*p = r
			}
			s.Input, s.Output, s.CacheRead, s.CacheWrite, s.CacheWrite1h = t.Input, t.Output, t.CacheRead, t.CacheWrite, t.CacheWrite1h
		} else if p := ratesOf(findTier(&s.Tiers))[name]; p != nil {
			*p = r
		}
		m.ServiceTiers[st] = s
		return
	}
	if p := ratesOf(tier)[name]; p != nil {
		*p = r
	}
}

// perTokenRate turns a per-token cost (a JSON number, possibly in exponent form) into an
// exact per-million rate.
func perTokenRate(v any) (Rate, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		s = x
	default:
		return Rate{}, fmt.Errorf("not a number: %v", v)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 {
		return Rate{}, fmt.Errorf("bad cost %q", s)
	}
	return ratRate(r.Mul(r, big.NewRat(1_000_000, 1)))
}

// ratRate makes a rate of an exact $/M amount, rounded to the nano-dollar (catalog floats
// such as 1.375e-07 are exact decimals once printed shortest).
func ratRate(r *big.Rat) (Rate, error) {
	m, err := pipeline.ParseMoney(r.FloatString(9))
	if err != nil {
		return Rate{}, err
	}
	return Rate{Money: m, Set: true}, nil
}

// ReadGenAIPrices reads pydantic's genai-prices data as JSON (the repository's
// prices/data.json, or deploy/prices/genai_prices_json.py's export of the PyPI package).
// Prices dated by start_date take the latest; variants "processing: batch" and
// "service_tier: flex|priority" become service tiers.
func ReadGenAIPrices(b []byte) (*Catalog, error) {
	var providers []struct {
		ID     string `json:"id"`
		Models []struct {
			ID            string          `json:"id"`
			Match         json.RawMessage `json:"match"`
			Prices        json.RawMessage `json:"prices"`
			PriceVariants []struct {
				When   map[string]string          `json:"when"`
				Prices map[string]json.RawMessage `json:"prices"`
			} `json:"price_variants"`
		} `json:"models"`
		PricingURLs []string `json:"pricing_urls"`
	}
	if err := json.Unmarshal(b, &providers); err != nil {
		return nil, fmt.Errorf("read genai-prices data: %w", err)
	}
	c := &Catalog{Name: "genai-prices"}
	var rawProviders []map[string]json.RawMessage
	if err := json.Unmarshal(b, &rawProviders); err != nil {
		return nil, fmt.Errorf("read genai-prices data: %w", err)
	}
	for i, rp := range rawProviders {
		var models []json.RawMessage
		_ = json.Unmarshal(rp["models"], &models)
		p := rawProvider{id: providers[i].ID, fields: rp}
		for j, m := range models {
			if j < len(providers[i].Models) {
				p.models = append(p.models, rawModel{id: providers[i].Models[j].ID, raw: m})
			}
		}
		c.rawGenAI = append(c.rawGenAI, p)
	}
	for _, p := range providers {
		for _, gm := range p.Models {
			cm := catalogModel{key: p.ID + "/" + gm.ID, provider: p.ID, model: Model{Provider: p.ID, Model: gm.ID}}
			if len(p.PricingURLs) > 0 {
				cm.source = p.PricingURLs[0]
			}
			var err error
			if cm.match, err = parseMatch(gm.Match); err != nil {
				return nil, fmt.Errorf("read genai-prices data: %s: %w", cm.key, err)
			}
			prices, err := latestPrices(gm.Prices)
			if err != nil {
				return nil, fmt.Errorf("read genai-prices data: %s: %w", cm.key, err)
			}
			if err := genaiRates(&cm.model, "", prices); err != nil {
				return nil, fmt.Errorf("read genai-prices data: %s: %w", cm.key, err)
			}
			for _, v := range gm.PriceVariants {
				st := ""
				switch {
				case v.When["processing"] == "batch":
					st = "batch"
				case v.When["service_tier"] == "flex" || v.When["service_tier"] == "priority":
					st = v.When["service_tier"]
				}
				if st == "" || len(v.Prices) == 0 {
					continue
				}
				if err := genaiRates(&cm.model, st, v.Prices); err != nil {
					return nil, fmt.Errorf("read genai-prices data: %s: %w", cm.key, err)
				}
			}
			if !cm.model.Input.Set || !cm.model.Output.Set {
				continue
			}
			c.models = append(c.models, cm)
		}
	}
	return c, nil
}

// latestPrices picks one price set: the object itself, or of a list of dated prices the
// last one that is not a time-of-day discount (genai-prices lists them oldest first).
func latestPrices(raw json.RawMessage) (map[string]json.RawMessage, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return nil, nil
	}
	if strings.HasPrefix(s, "[") {
		var list []struct {
			Constraint map[string]any             `json:"constraint"`
			Prices     map[string]json.RawMessage `json:"prices"`
		}
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, err
		}
		var last map[string]json.RawMessage
		for _, p := range list {
			if _, timeOfDay := p.Constraint["start_time"]; !timeOfDay {
				last = p.Prices // off-peak (time-of-day) prices are not list prices
			}
		}
		return last, nil
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(raw, &m)
}

var genaiNames = map[string]string{"input_mtok": "input", "output_mtok": "output", "cache_read_mtok": "cache_read",
	"cache_write_mtok": "cache_write", "cache_write_1h_mtok": "cache_write_1h", "input_audio_mtok": "audio_input", "output_audio_mtok": "audio_output"}

func genaiRates(m *Model, st string, prices map[string]json.RawMessage) error {
	for k, raw := range prices {
		name := genaiNames[k]
		if name == "" {
			continue
		}
		var tiered struct {
			Base  json.RawMessage `json:"base"`
			Tiers []struct {
				Start uint64          `json:"start"`
				Price json.RawMessage `json:"price"`
			} `json:"tiers"`
		}
		flat := raw
		if strings.HasPrefix(strings.TrimSpace(string(raw)), "{") {
			if err := json.Unmarshal(raw, &tiered); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			flat = tiered.Base
		}
		r, err := mtokRate(flat)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		setRate(m, st, 0, name, r)
		for _, t := range tiered.Tiers {
			r, err := mtokRate(t.Price)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			setRate(m, st, t.Start, name, r)
		}
	}
	return nil
}

// mtokRate reads a $/M price written as a JSON number or a decimal string.
func mtokRate(raw json.RawMessage) (Rate, error) {
	n := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	r, ok := new(big.Rat).SetString(n)
	if !ok || r.Sign() < 0 {
		return Rate{}, fmt.Errorf("bad price %q", n)
	}
	return ratRate(r)
}

// matchClause is genai-prices' model match logic.
type matchClause struct {
	Equals, StartsWith, EndsWith, Contains, Regex string
	re                                            *regexp.Regexp
	negate                                        bool
	Or, And                                       []*matchClause
}

func parseMatch(raw json.RawMessage) (*matchClause, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var j struct {
		Equals     string            `json:"equals"`
		StartsWith string            `json:"starts_with"`
		EndsWith   string            `json:"ends_with"`
		Contains   string            `json:"contains"`
		Regex      string            `json:"regex"`
		Or         []json.RawMessage `json:"or"`
		And        []json.RawMessage `json:"and"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, err
	}
	c := &matchClause{Equals: j.Equals, StartsWith: j.StartsWith, EndsWith: j.EndsWith, Contains: j.Contains, Regex: j.Regex}
	if j.Regex != "" {
		pattern := j.Regex
		// Go's RE2 has no lookahead; the one form genai-prices uses, a whole-pattern
		// negative lookahead "^(?!X)", is "not ^X".
		if strings.HasPrefix(pattern, "^(?!") && strings.HasSuffix(pattern, ")") && strings.Count(pattern, "(?!") == 1 {
			pattern, c.negate = "^(?:"+pattern[4:len(pattern)-1]+")", true
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("match regex %q: %w", j.Regex, err)
		}
		c.re = re
	}
	for _, list := range []struct {
		raw []json.RawMessage
		dst *[]*matchClause
	}{{j.Or, &c.Or}, {j.And, &c.And}} {
		for _, r := range list.raw {
			sub, err := parseMatch(r)
			if err != nil {
				return nil, err
			}
			*list.dst = append(*list.dst, sub)
		}
	}
	return c, nil
}

func (c *matchClause) matches(id string) bool {
	switch {
	case c == nil:
		return false
	case c.Equals != "":
		return id == c.Equals
	case c.StartsWith != "":
		return strings.HasPrefix(id, c.StartsWith)
	case c.EndsWith != "":
		return strings.HasSuffix(id, c.EndsWith)
	case c.Contains != "":
		return strings.Contains(id, c.Contains)
	case c.re != nil:
		return c.re.MatchString(id) != c.negate
	case len(c.Or) > 0:
		for _, s := range c.Or {
			if s.matches(id) {
				return true
			}
		}
		return false
	case len(c.And) > 0:
		for _, s := range c.And {
			if !s.matches(id) {
				return false
			}
		}
		return true
	}
	return false
}

// catalogProviders maps a book provider (gen_ai.provider.name) to the catalogs' names:
// LiteLLM key prefixes, then genai-prices provider ids.
var catalogProviders = map[string]struct{ litellm, genai []string }{
	"openai":          {nil, []string{"openai"}},
	"anthropic":       {nil, []string{"anthropic"}},
	"gcp.gemini":      {[]string{"gemini/"}, []string{"google"}},
	"gcp.vertex_ai":   {[]string{"vertex_ai/"}, []string{"google"}},
	"aws.bedrock":     {[]string{"bedrock/"}, []string{"aws"}},
	"azure.ai.openai": {[]string{"azure/"}, []string{"azure", "openai"}},
	"mistral_ai":      {[]string{"mistral/"}, []string{"mistral"}},
	"xai":             {[]string{"xai/"}, []string{"x-ai"}},
	"deepseek":        {[]string{"deepseek/"}, []string{"deepseek"}},
}

// find returns the catalog's entry for a model id as the book's provider reports it.
func (c *Catalog) find(provider, id string) *catalogModel {
	id = strings.ToLower(id)
	provider = strings.ToLower(provider)
	if c.byKey != nil {
		for _, pre := range catalogProviders[provider].litellm {
			if m := c.byKey[pre+id]; m != nil {
				return m
			}
		}
		return c.byKey[id]
	}
	pids := catalogProviders[provider].genai
	if bedrockID(id) {
		pids = []string{"aws"}
	}
	if len(pids) == 0 {
		pids = []string{provider}
	}
	for _, pid := range pids {
		for i := range c.models {
			if cm := &c.models[i]; cm.provider == pid && cm.match.matches(id) {
				return cm
			}
		}
	}
	return nil
}

// bedrockID reports an id in Bedrock's form: a geography or vendor prefix.
func bedrockID(id string) bool {
	i := strings.IndexByte(id, '.')
	return i > 0 && (bedrockGeos[id[:i]] || bedrockVendors[id[:i]])
}
