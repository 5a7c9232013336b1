// Package schemas embeds the JSON Schemas of unitcost's file formats, so the binary can
// validate them and editors can use them (the price book's YAML is described by
// price-book.schema.json).
package schemas

import _ "embed"

// PriceBook is the JSON Schema of one price-book version.
//
//go:embed price-book.schema.json
var PriceBook []byte
