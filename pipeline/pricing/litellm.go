package pricing

import (
	"fmt"
	"sort"
	"strings"

	"github.com/segmentio/encoding/json"

	"gopkg.in/yaml.v3"
)

// ImportLiteLLM converts LiteLLM's model price file into a price book version (YAML):
// every per-token rate LiteLLM records (cache reads, 5-minute and 1-hour writes, context
// tiers, batch/flex/priority) becomes an exact per-million decimal. Entries without input
// and output costs, and entries that would not make a valid book entry (a context tier
// that omits a cache rate the model sets), are skipped and listed in the returned notes.
func ImportLiteLLM(b []byte, version, effectiveFrom string) ([]byte, []string, error) {
	c, err := ReadLiteLLM(b)
	if err != nil {
		return nil, nil, err
	}
	book := Book{Version: version, EffectiveFrom: effectiveFrom}
	var notes []string
	kept, seen := map[string]bool{}, map[string]bool{}
	for _, cm := range c.models {
		kept[cm.key] = true
		m := cm.model
		m.Source = cm.source
		// "bedrock/anthropic.claude-...", "gemini/gemini-2.5-pro": a routing prefix names the
		// same model. A key with any other path ("azure/eu/...", "bedrock/us-gov-east-1/...")
		// is priced differently and keeps its whole key as its name.
		if id, rt, ok := stripCloud(strings.ToLower(m.Model)); ok && !rt.regional && id != strings.ToLower(m.Model) {
			m.Model, m.Aliases = m.Model[len(m.Model)-len(id):], []string{m.Model}
		}
		names := append([]string{m.Model}, m.Aliases...)
		dup := ""
		for _, n := range names {
			if seen[strings.ToLower(m.Provider+"/"+n)] {
				dup = n
			}
		}
		if dup != "" {
			notes = append(notes, fmt.Sprintf("%s: skipped (%s already imported from another key)", cm.key, dup))
			continue
		}
		for _, name := range sortedTiers(m.ServiceTiers) {
			if st := m.ServiceTiers[name]; !st.coversTiers(m.Tiers) {
				delete(m.ServiceTiers, name)
				notes = append(notes, fmt.Sprintf("%s: %s rates not imported (none given above %d input tokens)", cm.key, name, m.Tiers[0].AboveInputTokens))
			}
		}
		if errs := m.validate(m.Model, nil); len(errs) > 0 {
			notes = append(notes, fmt.Sprintf("%s: skipped (%v)", cm.key, errs[0]))
			continue
		}
		for _, n := range names {
			seen[strings.ToLower(m.Provider+"/"+n)] = true
		}
		book.Models = append(book.Models, m)
	}
	for _, k := range litellmKeys(b) {
		if !kept[k] && k != "sample_spec" {
			notes = append(notes, fmt.Sprintf("%s: skipped (no input/output cost per token)", k))
		}
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

// litellmKeys lists the file's top-level keys.
func litellmKeys(b []byte) []string {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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
