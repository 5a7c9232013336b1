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
	"strconv"
	"strings"
	"time"

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
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("line %d: write the price %s as a quoted decimal string (\"%s\"), not a YAML %s, so no tool reads it as a float",
			n.Line, n.Value, n.Value, strings.TrimPrefix(n.Tag, "!!"))
	}
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
// AboveInputTokens: the whole request is billed at the tier's rates. A tier carries every
// rate it changes: Parse refuses a tier that omits a cache rate the model sets, so no
// long request is billed a short-context cache rate.
type Tier struct {
	AboveInputTokens uint64 `yaml:"above_input_tokens,omitempty"`
	Input            Rate   `yaml:"input,omitempty"`
	Output           Rate   `yaml:"output,omitempty"`
	CacheRead        Rate   `yaml:"cache_read,omitempty"`
	CacheWrite       Rate   `yaml:"cache_write,omitempty"`
	CacheWrite1h     Rate   `yaml:"cache_write_1h,omitempty"`
}

// Model prices one model's tokens, in dollars per million tokens.
type Model struct {
	Provider string   `yaml:"provider,omitempty"`
	Model    string   `yaml:"model,omitempty"`
	Aliases  []string `yaml:"aliases,omitempty"`
	Input    Rate     `yaml:"input,omitempty"`
	Output   Rate     `yaml:"output,omitempty"`
	// CacheRead defaults to Input, CacheWrite to Input, Reasoning to Output.
	CacheRead  Rate `yaml:"cache_read,omitempty"`
	CacheWrite Rate `yaml:"cache_write,omitempty"`
	// CacheWrite1h prices cache writes with a 1-hour lifetime (Anthropic); CacheWrite is
	// then the 5-minute rate. Defaults to CacheWrite.
	CacheWrite1h Rate `yaml:"cache_write_1h,omitempty"`
	Reasoning    Rate `yaml:"reasoning,omitempty"`
	// Audio and image token rates; default to the input/output rates.
	AudioInput  Rate   `yaml:"audio_input,omitempty"`
	AudioOutput Rate   `yaml:"audio_output,omitempty"`
	ImageInput  Rate   `yaml:"image_input,omitempty"`
	Tiers       []Tier `yaml:"tiers,omitempty"`
	// ServiceTiers prices batch, flex, priority (or any tier name the span reports) by a
	// multiplier of the rates or by explicit rates.
	ServiceTiers map[string]ServiceTier `yaml:"service_tiers,omitempty"`
	// RegionalPremium (a decimal multiplier such as "1.1") scales every rate when the model
	// is called through a cloud's regional endpoint: a Bedrock in-region id
	// ("anthropic.claude-...") or geographic cross-region profile ("us.", "eu.", "apac.",
	// "jp.", "au.", "us-gov." ...), or an Azure data-zone deployment ("azure/eu/...").
	// Global endpoints ("global.") and the provider's own API bill the listed rates.
	// Without it, regional endpoints bill the listed rates.
	RegionalPremium string `yaml:"regional_premium,omitempty"`
	// GovCloudPremium scales every rate in AWS GovCloud ("us-gov." profiles). GovCloud has
	// its own price list, so without it a us-gov id is unknown, never the listed price.
	GovCloudPremium string `yaml:"govcloud_premium,omitempty"`
	// AsOf is the date the price was taken from the provider's price list; Source is that
	// page.
	AsOf   string `yaml:"as_of,omitempty"`
	Source string `yaml:"source,omitempty"`

	regional *Model // the rates at RegionalPremium, when set
	govcloud *Model // the rates at GovCloudPremium, when set
	route    string // "@regional x1.1" on a derived model
	rule     string // "model:" + Model + route, the price rule of its standard rates (set by validate)
}

// ServiceTier changes a model's rates for requests made in that tier: Multiplier (a
// decimal such as "0.5") scales every rate, context tiers included; explicit rates replace
// the ones they name and the others keep the standard rate (OpenAI's batch table, for
// instance, lists no cached-input rate). A model with context tiers needs, for explicit
// rates, the same tiers here (Parse checks).
type ServiceTier struct {
	Multiplier   string `yaml:"multiplier,omitempty"`
	Input        Rate   `yaml:"input,omitempty"`
	Output       Rate   `yaml:"output,omitempty"`
	CacheRead    Rate   `yaml:"cache_read,omitempty"`
	CacheWrite   Rate   `yaml:"cache_write,omitempty"`
	CacheWrite1h Rate   `yaml:"cache_write_1h,omitempty"`
	Tiers        []Tier `yaml:"tiers,omitempty"`
	// AsOf and Source date the tier's price and name the page it was taken from, when
	// they differ from the model's.
	AsOf   string `yaml:"as_of,omitempty"`
	Source string `yaml:"source,omitempty"`

	num, den uint64
}

// Discount is a negotiated percentage off the computed cost of model-token lines, for
// all models ("" provider and model), a provider's, or one model's. The most specific
// discount that matches applies.
type Discount struct {
	Provider string `yaml:"provider,omitempty"`
	Model    string `yaml:"model,omitempty"`
	Percent  string `yaml:"percent,omitempty"`

	bp uint64 // basis points
}

// TenantOverride holds one tenant's negotiated prices: models priced differently for
// it (looked up before the book's own) and discounts.
type TenantOverride struct {
	Tenant    string     `yaml:"tenant,omitempty"`
	Models    []Model    `yaml:"models,omitempty"`
	Discounts []Discount `yaml:"discounts,omitempty"`

	idx modelIndex
}

// UnitRate prices something per call or unit (tools, retrieval).
type UnitRate struct {
	Name    string `yaml:"name,omitempty"`
	PerCall Rate   `yaml:"per_call,omitempty"`
	PerUnit Rate   `yaml:"per_unit,omitempty"`

	rule string // "tool:" or "retrieval:" + Name, its lines' price rule (set by index)
}

// HourlyRate prices time: compute classes and reviewer roles.
type HourlyRate struct {
	Name    string `yaml:"name,omitempty"`
	PerHour Rate   `yaml:"per_hour,omitempty"`

	rule string // "compute:" or "review:" + Name (set by index)
}

// Book is one version of the price book.
type Book struct {
	Version string `yaml:"version,omitempty"`
	// EffectiveFrom (YYYY-MM-DD, UTC) is the first day this version prices; spans are
	// priced by the version in effect when they started. Optional for a single book.
	EffectiveFrom string `yaml:"effective_from,omitempty"`
	// Refreshed is the day the book was last compared with the public catalogs
	// (RefreshedFrom names them and their versions); see deploy/prices/refresh.sh.
	Refreshed     string           `yaml:"refreshed,omitempty"`
	RefreshedFrom string           `yaml:"refreshed_from,omitempty"`
	Models        []Model          `yaml:"models,omitempty"`
	Tools         []UnitRate       `yaml:"tools,omitempty"`
	Retrieval     []UnitRate       `yaml:"retrieval,omitempty"`
	Compute       []HourlyRate     `yaml:"compute,omitempty"`
	Review        []HourlyRate     `yaml:"review,omitempty"`
	Tenants       []TenantOverride `yaml:"tenants,omitempty"`

	effective time.Time
	idx       modelIndex
	tenants   map[string]*TenantOverride
	tools     map[string]*UnitRate
	retr      map[string]*UnitRate
	comp      map[string]*HourlyRate
	review    map[string]*HourlyRate
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
	if b.EffectiveFrom != "" {
		t, err := time.Parse("2006-01-02", b.EffectiveFrom)
		if err != nil {
			errs = append(errs, fmt.Errorf("effective_from: %q is not YYYY-MM-DD", b.EffectiveFrom))
		}
		b.effective = t
	}
	b.idx, errs = buildIndex("models", b.Models, errs)
	b.tenants = map[string]*TenantOverride{}
	for i := range b.Tenants {
		t := &b.Tenants[i]
		if t.Tenant == "" {
			errs = append(errs, fmt.Errorf("tenants[%d]: tenant required", i))
		}
		if _, dup := b.tenants[t.Tenant]; dup {
			errs = append(errs, fmt.Errorf("tenants[%d]: tenant %q appears twice", i, t.Tenant))
		}
		b.tenants[t.Tenant] = t
		t.idx, errs = buildIndex(fmt.Sprintf("tenants[%d].models", i), t.Models, errs)
		for j := range t.Discounts {
			d := &t.Discounts[j]
			bp, err := basisPoints(d.Percent)
			if err != nil {
				errs = append(errs, fmt.Errorf("tenants[%d].discounts[%d]: %w", i, j, err))
			}
			d.bp = bp
		}
	}
	// Each rate's price rule is built once here, not per priced line.
	idx := func(what, rule string, rs []UnitRate) map[string]*UnitRate {
		m := map[string]*UnitRate{}
		for i := range rs {
			if rs[i].Name == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: name required", what, i))
			}
			rs[i].rule = rule + ":" + rs[i].Name
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
			rs[i].rule = what + ":" + rs[i].Name
			m[strings.ToLower(rs[i].Name)] = &rs[i]
		}
		return m
	}
	b.tools = idx("tools", "tool", b.Tools)
	b.retr = idx("retrieval", "retrieval", b.Retrieval)
	b.comp = hidx("compute", b.Compute)
	b.review = hidx("review", b.Review)
	return errors.Join(errs...)
}

// LookupModel finds a model's list prices. A match is never a guess: an id matches an
// entry's name or alias exactly (provider-qualified first), after removing only cloud
// decorations (Vertex and Gemini paths, routing prefixes, Bedrock geography and vendor
// prefixes) and dated snapshot suffixes ("-2025-10-06", "-20250929", "@20250514",
// "-v1:0", "-latest"). A different variant ("-pro", "-mini", "-realtime-preview", ...)
// matches only its own entry. See match.go.
func (b *Book) LookupModel(provider, model string) (*Model, bool) {
	return b.idx.lookup(provider, model)
}

// LookupTenantModel finds the prices a tenant pays: its own override first, then the
// book's. It also returns the discount (basis points) that applies, and the override's
// tenant when one matched.
func (b *Book) LookupTenantModel(tenant, provider, model string) (m *Model, discountBP uint64, override bool, ok bool) {
	t := b.tenants[tenant]
	if t != nil {
		if m, ok = t.idx.lookup(provider, model); ok {
			override = true
		}
	}
	if !ok {
		if m, ok = b.idx.lookup(provider, model); !ok {
			return nil, 0, false, false
		}
	}
	if t != nil {
		discountBP = t.discount(provider, m.Model)
	}
	return m, discountBP, override, true
}

// discount returns the most specific matching discount: model, then provider, then all.
func (t *TenantOverride) discount(provider, model string) uint64 {
	best, rank := uint64(0), 0
	for _, d := range t.Discounts {
		r := 0
		switch {
		case d.Model != "" && strings.EqualFold(d.Model, model):
			r = 3
		case d.Model == "" && d.Provider != "" && strings.EqualFold(d.Provider, provider):
			r = 2
		case d.Model == "" && d.Provider == "":
			r = 1
		}
		if r > rank {
			best, rank = d.bp, r
		}
	}
	return best
}

// decimalRatio parses a non-negative decimal ("0.5", "1.75") as num/den exactly.
func decimalRatio(s string) (num, den uint64, err error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if len(frac) > 6 {
		return 0, 0, fmt.Errorf("%q: at most 6 decimal places", s)
	}
	den = 1
	for range frac {
		den *= 10
	}
	n, err := strconv.ParseUint(whole+frac, 10, 64)
	if err != nil || (whole == "" && frac == "") {
		return 0, 0, fmt.Errorf("%q is not a non-negative decimal", s)
	}
	return n, den, nil
}

// basisPoints parses a percentage ("15", "12.5") into basis points (1/100 of a percent).
func basisPoints(s string) (uint64, error) {
	num, den, err := decimalRatio(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if err != nil {
		return 0, err
	}
	if (num*100)%den != 0 {
		return 0, fmt.Errorf("percent %q: at most two decimal places", s)
	}
	bp := num * 100 / den
	if bp > 10000 {
		return 0, fmt.Errorf("percent %q above 100", s)
	}
	return bp, nil
}
