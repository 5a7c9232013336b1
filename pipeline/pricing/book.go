// Package pricing holds the price book and prices normalised spans into line items. It is
// pure: the book is parsed from bytes the caller supplies (or the built-in one).
//
// Money is exact: rates are parsed from decimal strings into nano-dollars and each line's
// cost is computed in 128-bit integer arithmetic and rounded once, half away from zero.
package pricing

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline"
)

//go:embed builtin.yaml
var builtinYAML []byte

// Builtin returns the price book shipped with unitcost.
func Builtin() (*Book, error) { return Parse(builtinYAML) }

// Rate is a price in dollars, written in YAML as a decimal string ("2.50") so no binary
// float ever holds money.
type Rate struct {
	pipeline.Money
	Set bool
}

// UnmarshalYAML parses a decimal dollar amount.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	m, err := pipeline.ParseMoney(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	if m < 0 {
		return fmt.Errorf("line %d: negative price %s", n.Line, n.Value)
	}
	r.Money, r.Set = m, true
	return nil
}

// Tier replaces a model's rates when a request's input tokens (cached included) exceed
// AboveInputTokens: the whole request is billed at the tier's rates.
type Tier struct {
	AboveInputTokens uint64 `yaml:"above_input_tokens"`
	Input            Rate   `yaml:"input"`
	Output           Rate   `yaml:"output"`
	CacheRead        Rate   `yaml:"cache_read"`
	CacheWrite       Rate   `yaml:"cache_write"`
}

// Model prices one model's tokens, in dollars per million tokens.
type Model struct {
	Provider string   `yaml:"provider"`
	Model    string   `yaml:"model"`
	Aliases  []string `yaml:"aliases"`
	Input    Rate     `yaml:"input"`
	Output   Rate     `yaml:"output"`
	// CacheRead defaults to Input, CacheWrite to Input, Reasoning to Output.
	CacheRead  Rate   `yaml:"cache_read"`
	CacheWrite Rate   `yaml:"cache_write"`
	Reasoning  Rate   `yaml:"reasoning"`
	Tiers      []Tier `yaml:"tiers"`
	// AsOf is the date the price was taken from the provider's price list.
	AsOf string `yaml:"as_of"`
}

// UnitRate prices something per call or unit (tools, retrieval).
type UnitRate struct {
	Name    string `yaml:"name"`
	PerCall Rate   `yaml:"per_call"`
	PerUnit Rate   `yaml:"per_unit"`
}

// HourlyRate prices time: compute classes and reviewer roles.
type HourlyRate struct {
	Name    string `yaml:"name"`
	PerHour Rate   `yaml:"per_hour"`
}

// Book is one version of the price book.
type Book struct {
	Version   string       `yaml:"version"`
	Models    []Model      `yaml:"models"`
	Tools     []UnitRate   `yaml:"tools"`
	Retrieval []UnitRate   `yaml:"retrieval"`
	Compute   []HourlyRate `yaml:"compute"`
	Review    []HourlyRate `yaml:"review"`

	models map[string]*Model // "provider/model" and "model", lower case
	prefix []string          // model keys, longest first, for dated-id prefix matches
	tools  map[string]*UnitRate
	retr   map[string]*UnitRate
	comp   map[string]*HourlyRate
	review map[string]*HourlyRate
}

// Parse reads and validates a price book; every problem is reported at once.
func Parse(b []byte) (*Book, error) {
	var bk Book
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&bk); err != nil {
		return nil, fmt.Errorf("parse price book: %w", err)
	}
	if err := bk.index(); err != nil {
		return nil, fmt.Errorf("price book %q: %w", bk.Version, err)
	}
	return &bk, nil
}

func (b *Book) index() error {
	var errs []error
	if b.Version == "" {
		errs = append(errs, errors.New("version: required"))
	}
	b.models = map[string]*Model{}
	for i := range b.Models {
		m := &b.Models[i]
		if m.Model == "" {
			errs = append(errs, fmt.Errorf("models[%d]: model name required", i))
			continue
		}
		if !m.Input.Set || !m.Output.Set {
			errs = append(errs, fmt.Errorf("models[%d] %s: input and output rates required", i, m.Model))
		}
		for _, name := range append([]string{m.Model}, m.Aliases...) {
			name = strings.ToLower(name)
			if m.Provider != "" {
				b.models[strings.ToLower(m.Provider)+"/"+name] = m
			}
			if _, dup := b.models[name]; !dup {
				b.models[name] = m
			}
		}
		for j := 1; j < len(m.Tiers); j++ {
			if m.Tiers[j].AboveInputTokens <= m.Tiers[j-1].AboveInputTokens {
				errs = append(errs, fmt.Errorf("models[%d] %s: tiers must ascend by above_input_tokens", i, m.Model))
			}
		}
	}
	for k := range b.models {
		if !strings.Contains(k, "/") {
			b.prefix = append(b.prefix, k)
		}
	}
	sort.Slice(b.prefix, func(i, j int) bool {
		if len(b.prefix[i]) != len(b.prefix[j]) {
			return len(b.prefix[i]) > len(b.prefix[j])
		}
		return b.prefix[i] < b.prefix[j]
	})
	idx := func(what string, rs []UnitRate) map[string]*UnitRate {
		m := map[string]*UnitRate{}
		for i := range rs {
			if rs[i].Name == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: name required", what, i))
			}
			m[strings.ToLower(rs[i].Name)] = &rs[i]
		}
		return m
	}
	hidx := func(what string, rs []HourlyRate) map[string]*HourlyRate {
		m := map[string]*HourlyRate{}
		for i := range rs {
			if rs[i].Name == "" || !rs[i].PerHour.Set {
				errs = append(errs, fmt.Errorf("%s[%d]: name and per_hour required", what, i))
			}
			m[strings.ToLower(rs[i].Name)] = &rs[i]
		}
		return m
	}
	b.tools = idx("tools", b.Tools)
	b.retr = idx("retrieval", b.Retrieval)
	b.comp = hidx("compute", b.Compute)
	b.review = hidx("review", b.Review)
	return errors.Join(errs...)
}

// LookupModel finds a model's prices: exact provider/model, then model alone, then the
// longest known model name that prefixes a dated id ("gpt-4o-2024-08-06" -> "gpt-4o"),
// then the same after dropping a vendor prefix ("anthropic.claude-..." on Bedrock,
// "models/gemini-..." on Vertex).
func (b *Book) LookupModel(provider, model string) (*Model, bool) {
	model = strings.ToLower(strings.TrimSpace(model))
	provider = strings.ToLower(provider)
	for _, cand := range modelCandidates(model) {
		if m, ok := b.models[provider+"/"+cand]; ok {
			return m, true
		}
		if m, ok := b.models[cand]; ok {
			return m, true
		}
		for _, k := range b.prefix {
			if strings.HasPrefix(cand, k) && len(cand) > len(k) && (cand[len(k)] == '-' || cand[len(k)] == '@' || cand[len(k)] == ':') {
				return b.models[k], true
			}
		}
	}
	return nil, false
}

func modelCandidates(m string) []string {
	c := []string{m}
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		c = append(c, m[i+1:])
	}
	last := c[len(c)-1]
	for _, vendor := range []string{"anthropic.", "us.anthropic.", "eu.anthropic.", "apac.anthropic.", "openai.", "meta.", "mistral.", "amazon."} {
		if strings.HasPrefix(last, vendor) {
			c = append(c, strings.TrimPrefix(last, vendor))
		}
	}
	return c
}
