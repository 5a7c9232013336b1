// Package schemas embeds the JSON Schemas of unitcost's file formats, so the binary can
// validate them and editors can use them (the price book's YAML is described by
// price-book.schema.json), and the OpenAPI 3.1 description of the HTTP API (openapi.yaml).
package schemas

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// PriceBook is the JSON Schema of one price-book version.
//
//go:embed price-book.schema.json
var PriceBook []byte

// OpenAPI is the OpenAPI 3.1 description of /api/v1 (YAML).
//
//go:embed openapi.yaml
var OpenAPI []byte

// OpenAPIJSON returns OpenAPI as JSON, as /api/v1/openapi.json serves it.
func OpenAPIJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}
