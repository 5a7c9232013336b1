package pricing

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/segmentio/encoding/json"
	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline"
)

// Difference is one rate that differs between a book and a catalog, for one model id the
// book prices. Rate names the service tier, the context tier and the rate
// ("batch >200000 cache_write_1h"); "*" stands for the whole model when the catalog has
// no entry for it. Book and Catalog are $ per million tokens, "" where one side has no
// such rate.
type Difference struct {
	ID         string `json:"id"`          // the id compared: an entry's name, alias or a cloud form of it
	Entry      string `json:"entry"`       // the book entry that prices it
	CatalogKey string `json:"catalog_key"` // the catalog's entry ("" when it has none)
	Rate       string `json:"rate"`
	Book       string `json:"book"`
	Catalog    string `json:"catalog"`
}

// Diff lists every rate that differs between the book and the catalog, tier by tier,
// over every id the book prices: each entry's name and aliases, and for entries with a
// regional premium the cloud forms that bill it (Bedrock profiles, Azure data zones).
// Both sides are read through the same rules that price spans, so a difference is a
// difference in what would be billed. keys lists the catalog entries consulted (for a
// pinned subset).
func Diff(b *Book, c *Catalog) (diffs []Difference, keys []string) {
	seenKey := map[string]bool{}
	for i := range b.Models {
		m := &b.Models[i]
		for n, id := range diffIDs(m) {
			bm, ok := b.LookupModel(m.Provider, id)
			if !ok {
				continue
			}
			cm := c.find(m.Provider, id)
			if cm == nil {
				if n == 0 {
					diffs = append(diffs, Difference{ID: id, Entry: m.Model, Rate: "*", Book: "listed", Catalog: ""})
				}
				continue
			}
			if !seenKey[cm.key] {
				seenKey[cm.key] = true
				keys = append(keys, cm.key)
			}
			br, cr := effectiveRates(bm), effectiveRates(&cm.model)
			names := make([]string, 0, len(br)+len(cr))
			for k := range br {
				names = append(names, k)
			}
			for k := range cr {
				if _, dup := br[k]; !dup {
					names = append(names, k)
				}
			}
			sort.Slice(names, func(i, j int) bool { return rateOrder(names[i]) < rateOrder(names[j]) })
			for _, k := range names {
				bv, inB := br[k]
				cv, inC := cr[k]
				if inB && inC && bv == cv {
					continue
				}
				d := Difference{ID: id, Entry: m.Model, CatalogKey: cm.key, Rate: k}
				if inB {
					d.Book = bv.Dollars(9)
				}
				if inC {
					d.Catalog = cv.Dollars(9)
				}
				diffs = append(diffs, d)
			}
		}
	}
	sort.Strings(keys)
	return diffs, keys
}

// diffIDs lists the ids of a book entry to compare: its name first.
func diffIDs(m *Model) []string {
	ids := append([]string{m.Model}, m.Aliases...)
	if m.RegionalPremium == "" {
		return ids
	}
	for _, a := range m.Aliases {
		if strings.HasPrefix(a, "anthropic.") {
			for _, geo := range []string{"global", "us", "eu", "apac", "jp", "au", "us-gov"} {
				ids = append(ids, geo+"."+a)
			}
		}
	}
	if m.Provider == "openai" {
		ids = append(ids, "azure/eu/"+m.Model, "azure/us/"+m.Model)
	}
	return ids
}

// effectiveRates lists what each rate of a model bills, by "tier [>threshold] rate":
// every service tier (standard first) and context tier, the rates the model sets. A
// service tier with explicit rates but none for a context tier is left out there (the
// catalog does not say).
func effectiveRates(m *Model) map[string]pipeline.Money {
	out := map[string]pipeline.Money{}
	tiers := append([]string{""}, sortedTiers(m.ServiceTiers)...)
	for _, st := range tiers {
		for c := -1; c < len(m.Tiers); c++ {
			var tokens uint64
			prefix := "standard"
			if st != "" {
				prefix = st
			}
			if c >= 0 {
				tokens = m.Tiers[c].AboveInputTokens + 1
				prefix += fmt.Sprintf(" >%d", m.Tiers[c].AboveInputTokens)
				if x := m.ServiceTiers[st]; st != "" && x.Multiplier == "" && !x.coversTiers(m.Tiers[c:c+1]) {
					continue
				}
			}
			r, _ := m.resolve(tokens, st)
			out[prefix+" input"] = r.in
			out[prefix+" output"] = r.out
			if m.CacheRead.Set {
				out[prefix+" cache_read"] = r.read
			}
			if m.CacheWrite.Set {
				out[prefix+" cache_write"] = r.write
			}
			if m.CacheWrite1h.Set {
				out[prefix+" cache_write_1h"] = r.write1h
			}
		}
	}
	return out
}

// rateOrder sorts rate names: standard first, then by tier, threshold and rate.
func rateOrder(k string) string {
	rank := map[string]string{"input": "1", "output": "2", "cache_read": "3", "cache_write": "4", "cache_write_1h": "5"}
	f := strings.Fields(k)
	last := f[len(f)-1]
	head := strings.Join(f[:len(f)-1], " ")
	if strings.HasPrefix(head, "standard") {
		head = " " + head
	}
	return head + "\x00" + rank[last]
}

// Explanation says why differences between the built-in book and a catalog are right.
// IDs are the ids compared, or glob patterns of them ("*claude-sonnet-4-5*", "azure/*/gpt-4o");
// Rates lists rate names or their prefixes ("batch" covers every batch rate, "standard
// >200000" every long-context one); empty or "*" covers every rate.
type Explanation struct {
	Catalog string   `yaml:"catalog" json:"catalog"`
	IDs     []string `yaml:"ids" json:"ids"`
	Rates   []string `yaml:"rates,omitempty" json:"rates"`
	Reason  string   `yaml:"reason" json:"reason"`
}

func (e Explanation) coversID(id string) bool {
	for _, p := range e.IDs {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(id)); ok || strings.EqualFold(p, id) {
			return true
		}
	}
	return false
}

// ParseExplanations reads an explained-differences file; every entry needs a reason.
func ParseExplanations(b []byte) ([]Explanation, error) {
	var out []Explanation
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("read explained differences: %w", err)
	}
	for i, e := range out {
		if e.Catalog == "" || len(e.IDs) == 0 || strings.TrimSpace(e.Reason) == "" {
			return nil, fmt.Errorf("explained differences [%d] (%s %v): catalog, ids and reason are required", i, e.Catalog, e.IDs)
		}
		for _, p := range e.IDs {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("explained differences [%d]: id pattern %q: %w", i, p, err)
			}
		}
	}
	return out, nil
}

// Unexplained returns the differences no explanation covers, and the explanations that
// cover no difference any more (stale: the catalog or the book changed).
func Unexplained(catalog string, diffs []Difference, ex []Explanation) (open []Difference, stale []Explanation) {
	used := make([]bool, len(ex))
	for _, d := range diffs {
		covered := false
		for i, e := range ex {
			if e.Catalog == catalog && e.coversID(d.ID) && coversRate(e.Rates, d.Rate) {
				covered, used[i] = true, true
			}
		}
		if !covered {
			open = append(open, d)
		}
	}
	for i, e := range ex {
		if e.Catalog == catalog && !used[i] {
			stale = append(stale, e)
		}
	}
	return open, stale
}

func coversRate(rates []string, rate string) bool {
	if len(rates) == 0 {
		return true
	}
	for _, r := range rates {
		if r == "*" || r == rate || strings.HasPrefix(rate, r+" ") {
			return true
		}
	}
	return false
}

// Subset writes the catalog entries named by keys in the catalog's own format: a pinned
// snapshot small enough to commit (both catalogs are MIT-licensed).
func (c *Catalog) Subset(keys []string) ([]byte, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var buf bytes.Buffer
	if c.Name == "litellm" {
		buf.WriteString("{\n")
		n := 0
		for _, k := range keys {
			raw, ok := c.rawLiteLLM[k]
			if !ok {
				continue
			}
			if n > 0 {
				buf.WriteString(",\n")
			}
			n++
			kb, _ := json.Marshal(k)
			fmt.Fprintf(&buf, "  %s: ", kb)
			buf.Write(compactJSON(raw))
		}
		buf.WriteString("\n}\n")
		return buf.Bytes(), nil
	}
	var out []map[string]json.RawMessage
	for _, p := range c.rawGenAI {
		var models []json.RawMessage
		for _, m := range p.models {
			if want[p.id+"/"+m.id] {
				models = append(models, m.raw)
			}
		}
		if len(models) == 0 {
			continue
		}
		mb, err := json.Marshal(models)
		if err != nil {
			return nil, err
		}
		entry := map[string]json.RawMessage{"models": mb}
		for k, v := range p.fields {
			if k != "models" && k != "extractors" {
				entry[k] = v
			}
		}
		out = append(out, entry)
	}
	b, err := json.MarshalIndent(out, "", " ")
	return append(b, '\n'), err
}

func compactJSON(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

// DiffReport is what `unitcost prices diff` prints: every difference, or with
// explanations only the unexplained ones and the stale explanations.
type DiffReport struct {
	Book        string        `json:"book"`
	Catalog     string        `json:"catalog"`
	Differences []Difference  `json:"differences"`
	Explained   int           `json:"explained"`
	Stale       []Explanation `json:"stale_explanations"`
	Keys        []string      `json:"catalog_keys"`
}

// CompareCatalog diffs book against catalog; with explanations (nil for none) the
// explained differences are counted, not listed.
func CompareCatalog(b *Book, c *Catalog, ex []Explanation) DiffReport {
	diffs, keys := Diff(b, c)
	r := DiffReport{Book: b.Version, Catalog: c.Name, Differences: diffs, Keys: keys, Stale: []Explanation{}}
	if ex != nil {
		open, stale := Unexplained(c.Name, diffs, ex)
		r.Explained = len(diffs) - len(open)
		r.Differences = open
		for _, e := range stale {
			if e.Rates == nil {
				e.Rates = []string{}
			}
			r.Stale = append(r.Stale, e)
		}
	}
	if r.Differences == nil {
		r.Differences = []Difference{}
	}
	if r.Keys == nil {
		r.Keys = []string{}
	}
	return r
}

// Text renders the report as a table, one rate a line, grouped by the id compared.
func (r DiffReport) Text() string {
	var w strings.Builder
	fmt.Fprintf(&w, "book %s vs %s: %d difference(s)", r.Book, r.Catalog, len(r.Differences))
	if r.Explained > 0 || len(r.Stale) > 0 {
		fmt.Fprintf(&w, " not explained (%d explained)", r.Explained)
	}
	fmt.Fprintln(&w)
	last := ""
	for _, d := range r.Differences {
		if d.ID != last {
			last = d.ID
			key := d.CatalogKey
			if key == "" {
				key = "(no entry)"
			}
			fmt.Fprintf(&w, "%s  [book entry %s; %s %s]\n", d.ID, d.Entry, r.Catalog, key)
		}
		if d.Rate == "*" {
			fmt.Fprintf(&w, "    the catalog does not list it\n")
			continue
		}
		dash := func(s string) string {
			if s == "" {
				return "-"
			}
			return strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		fmt.Fprintf(&w, "    %-34s book %-14s catalog %s\n", d.Rate, dash(d.Book), dash(d.Catalog))
	}
	for _, e := range r.Stale {
		fmt.Fprintf(&w, "stale explanation: %s %v %v no longer matches a difference (%s)\n", e.Catalog, e.IDs, e.Rates, e.Reason)
	}
	return w.String()
}
