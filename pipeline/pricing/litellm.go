package pricing

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/segmentio/encoding/json"
	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline"
)

// litellmEntry is the part of one entry of LiteLLM's model_prices_and_context_window.json
// that unitcost prices from. Costs there are dollars per token, as JSON numbers.
type litellmEntry struct {
	Provider           string      `json:"litellm_provider"`
	Mode               string      `json:"mode"`
	Input              json.Number `json:"input_cost_per_token"`
	Output             json.Number `json:"output_cost_per_token"`
	CacheRead          json.Number `json:"cache_read_input_token_cost"`
	CacheWrite         json.Number `json:"cache_creation_input_token_cost"`
	Reasoning          json.Number `json:"output_cost_per_reasoning_token"`
	InputAbove200k     json.Number `json:"input_cost_per_token_above_200k_tokens"`
	OutputAbove200k    json.Number `json:"output_cost_per_token_above_200k_tokens"`
	CacheReadAbove200k json.Number `json:"cache_read_input_token_cost_above_200k_tokens"`
	InputBatch         json.Number `json:"input_cost_per_token_batches"`
	OutputBatch        json.Number `json:"output_cost_per_token_batches"`
	InputFlex          json.Number `json:"input_cost_per_token_flex"`
	OutputFlex         json.Number `json:"output_cost_per_token_flex"`
	InputPriority      json.Number `json:"input_cost_per_token_priority"`
	OutputPriority     json.Number `json:"output_cost_per_token_priority"`
}

// ImportLiteLLM converts LiteLLM's model price file into a price book version (YAML).
// Per-token costs become exact per-million decimals; entries without input and output
// costs (image, audio-only, free) are skipped and listed in the returned notes.
func ImportLiteLLM(b []byte, version, effectiveFrom string) ([]byte, []string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, fmt.Errorf("read LiteLLM price file: %w", err)
	}
	names := make([]string, 0, len(raw))
	for k := range raw {
		if k != "sample_spec" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	book := Book{Version: version, EffectiveFrom: effectiveFrom}
	var notes []string
	for _, name := range names {
		var e litellmEntry
		if err := json.Unmarshal(raw[name], &e); err != nil {
			notes = append(notes, fmt.Sprintf("%s: skipped (%v)", name, err))
			continue
		}
		in, err1 := perTokenToPerMillion(e.Input)
		out, err2 := perTokenToPerMillion(e.Output)
		if err1 != nil || err2 != nil || in == "" || out == "" {
			notes = append(notes, fmt.Sprintf("%s: skipped (no input/output cost per token)", name))
			continue
		}
		m := Model{Provider: e.Provider, Model: name, Input: rate(in), Output: rate(out)}
		if i := strings.LastIndexByte(name, '/'); i >= 0 { // "bedrock/anthropic.claude-..." style keys
			m.Model, m.Aliases = name[i+1:], []string{name}
		}
		m.CacheRead = optRate(e.CacheRead)
		m.CacheWrite = optRate(e.CacheWrite)
		m.Reasoning = optRate(e.Reasoning)
		if ia, oa := optRate(e.InputAbove200k), optRate(e.OutputAbove200k); ia.Set && oa.Set {
			m.Tiers = []Tier{{AboveInputTokens: 200_000, Input: ia, Output: oa, CacheRead: optRate(e.CacheReadAbove200k)}}
		}
		for tier, p := range map[string][2]json.Number{"batch": {e.InputBatch, e.OutputBatch}, "flex": {e.InputFlex, e.OutputFlex},
			"priority": {e.InputPriority, e.OutputPriority}} {
			if i, o := optRate(p[0]), optRate(p[1]); i.Set && o.Set {
				if m.ServiceTiers == nil {
					m.ServiceTiers = map[string]ServiceTier{}
				}
				m.ServiceTiers[tier] = ServiceTier{Input: i, Output: o}
			}
		}
		book.Models = append(book.Models, m)
	}
	y, err := yaml.Marshal(&book)
	if err != nil {
		return nil, notes, err
	}
	if _, err := Parse(y); err != nil {
		return nil, notes, fmt.Errorf("imported book does not validate: %w", err)
	}
	return y, notes, nil
}

// perMillion turns a per-token decimal (JSON number, possibly in exponent form) into an
// exact per-million decimal string; "" for an absent number.
func perTokenToPerMillion(n json.Number) (string, error) {
	if n == "" {
		return "", nil
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok || r.Sign() < 0 {
		return "", fmt.Errorf("bad cost %q", n)
	}
	r.Mul(r, big.NewRat(1_000_000, 1))
	s := r.FloatString(9)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" {
		s = "0"
	}
	return s, nil
}

func rate(s string) Rate {
	var r Rate
	r.Money, _ = pipeline.ParseMoney(s)
	r.Set = true
	return r
}

func optRate(n json.Number) Rate {
	s, err := perTokenToPerMillion(n)
	if err != nil || s == "" {
		return Rate{}
	}
	return rate(s)
}

// MarshalYAML writes a rate as the decimal string Parse reads.
func (r Rate) MarshalYAML() (any, error) {
	if !r.Set {
		return nil, nil
	}
	return r.Money.Dollars(9), nil
}

// IsZero lets omitempty drop unset rates.
func (r Rate) IsZero() bool { return !r.Set }
