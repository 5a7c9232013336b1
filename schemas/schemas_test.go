package schemas_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/segmentio/encoding/json"
	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/schemas"
)

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.PriceBook))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("price-book.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("price-book.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks every YAML document of a price-book file against the schema.
func validate(s *jsonschema.Schema, src []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var v any
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		// through JSON, so YAML maps become the map[string]any the validator expects
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return err
		}
		if err := s.Validate(doc); err != nil {
			return err
		}
	}
}

// The schema accepts every book unitcost ships or writes, and refuses what Parse refuses.
func TestPriceBookSchema(t *testing.T) {
	s := compile(t)
	builtin, err := os.ReadFile("../pipeline/pricing/builtin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("../testdata/litellm_sample.json")
	imported, _, err := pricing.ImportLiteLLM(raw, "imp", "2026-11-22")
	if err != nil {
		t.Fatal(err)
	}
	media := []byte("version: m\nmodels: [{model: v, input: \"2.5\", output: \"10\", audio_input: \"40\", audio_output: \"80\", image_input: \"5\"}]\n")
	multi := []byte("version: v2\neffective_from: \"2026-11-01\"\ntenants:\n  - {tenant: acme, discounts: [{provider: openai, percent: \"12.5\"}]}\n---\nversion: v1\neffective_from: \"2026-01-01\"\n")
	for name, src := range map[string][]byte{"builtin": builtin, "imported": imported, "multi": multi, "media": media} {
		if err := validate(s, src); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, bad := range map[string]string{
		"unknown field":       "version: x\nmodels: [{model: m, input: \"1\", output: \"1\", colour: red}]\n",
		"float price":         "version: x\nmodels: [{model: m, input: 1.5, output: \"1\"}]\n",
		"too fine":            "version: x\nmodels: [{model: m, input: \"0.0000000001\", output: \"1\"}]\n",
		"no version":          "models: []\n",
		"review without rate": "version: x\nreview: [{name: analyst}]\n",
	} {
		if err := validate(s, []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := pricing.ParseBooks([]byte(bad)); err == nil {
			t.Errorf("%s: Parse accepted what the schema refuses", name)
		}
	}
}
