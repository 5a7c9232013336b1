package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline"
)

// Field is one leaf setting, addressable by its YAML path ("process.limits.max_tokens"),
// its environment variable (UNITCOST_PROCESS_LIMITS_MAX_TOKENS) and its flag
// (--process.limits.max_tokens). All three derive from the yaml tags on the way to it;
// Desc is its desc tag.
type Field struct {
	Path string
	Env  string
	Desc string
	// Kind is what the value looks like: string, bool, int, number, duration, list
	// (comma-separated), map (k=v,k=v) or yaml (a YAML/JSON value in flow style).
	Kind string
	v    reflect.Value
}

var durationType = reflect.TypeOf(time.Duration(0))

// Fields lists every leaf setting of c, in declaration order. A struct field is a
// section (walked into) unless it is a time.Duration or implements
// encoding.TextUnmarshaler.
func Fields(c *Config) []Field {
	var out []Field
	walk(reflect.ValueOf(c).Elem(), "", &out)
	return out
}

// EnvName is the variable of a setting path: UNITCOST_ + the path upper-cased, dots as
// underscores.
func EnvName(path string) string {
	return "UNITCOST_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

func walk(v reflect.Value, prefix string, out *[]Field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if tag == "-" || !sf.IsExported() {
			continue
		}
		if tag == "" { // a field without a key would be settable only as its Go name: refuse it visibly
			tag = "MISSING_YAML_TAG_" + sf.Name
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		fv := v.Field(i)
		if isSection(fv.Type()) {
			walk(fv, path, out)
			continue
		}
		*out = append(*out, Field{Path: path, Env: EnvName(path), Desc: sf.Tag.Get("desc"), Kind: kind(fv.Type()), v: fv})
	}
}

func isSection(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t == durationType {
		return false
	}
	_, text := reflect.New(t).Interface().(encoding.TextUnmarshaler)
	return !text
}

func kind(t reflect.Type) string {
	if t == durationType {
		return "duration"
	}
	if _, ok := reflect.New(t).Interface().(encoding.TextUnmarshaler); ok {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "int"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "list"
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String && t.Elem().Kind() == reflect.String {
			return "map"
		}
	}
	return "yaml"
}

// Value is the field's current value.
func (f Field) Value() any { return f.v.Interface() }

// Format renders the current value the way Set reads it (flag and variable form).
func (f Field) Format() string {
	v := f.v
	switch f.Kind {
	case "duration":
		return time.Duration(v.Int()).String()
	case "list":
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = v.Index(i).String()
		}
		return strings.Join(parts, ",")
	case "map":
		keys := v.MapKeys()
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k.String()+"="+v.MapIndex(k).String())
		}
		sortStrings(parts)
		return strings.Join(parts, ",")
	case "yaml":
		if v.IsZero() {
			return ""
		}
		var n yaml.Node
		if err := n.Encode(v.Interface()); err != nil {
			return fmt.Sprint(v.Interface())
		}
		flow(&n)
		b, _ := yaml.Marshal(&n)
		return strings.TrimSpace(string(b))
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		b, _ := m.MarshalText()
		return string(b)
	}
	return fmt.Sprint(v.Interface())
}

func flow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		flow(c)
	}
}

// Set parses s (a variable's or flag's text) into the field: lists are
// comma-separated, maps are k=v,k=v, durations like 500ms, 2m or 7d; any other type is a
// YAML (or JSON) value such as [{a: 1}]. The error says what is wanted, not where.
func (f Field) Set(s string) error {
	v := f.v
	switch f.Kind {
	case "duration":
		d, err := pipeline.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	case "list":
		parts := []string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts).Convert(v.Type()))
		return nil
	case "map":
		m := reflect.MakeMap(v.Type())
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, "=")
			if !ok {
				return fmt.Errorf("%q: want key=value pairs separated by commas", p)
			}
			m.SetMapIndex(reflect.ValueOf(strings.TrimSpace(k)).Convert(v.Type().Key()), reflect.ValueOf(strings.TrimSpace(val)).Convert(v.Type().Elem()))
		}
		v.Set(m)
		return nil
	case "yaml":
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(s), &n); err != nil {
			return fmt.Errorf("%q is not a YAML value: %v", s, err)
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		return f.setNode(n.Content[0])
	}
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		if err := u.UnmarshalText([]byte(s)); err != nil {
			return fmt.Errorf("%q: %v", s, err)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer (%d-bit)", s, v.Type().Bits())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a non-negative integer", s)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(n)
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// setNode sets the field from a YAML node of the configuration file.
func (f Field) setNode(n *yaml.Node) error {
	switch {
	case f.Kind == "list" && n.Kind == yaml.SequenceNode:
		parts := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: want a list of strings", c.Line)
			}
			parts = append(parts, c.Value)
		}
		f.v.Set(reflect.ValueOf(parts).Convert(f.v.Type()))
		return nil
	case f.Kind == "map" && n.Kind == yaml.MappingNode:
		m := reflect.MakeMap(f.v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if val.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: %s: want a string value", val.Line, k.Value)
			}
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(f.v.Type().Key()), reflect.ValueOf(val.Value).Convert(f.v.Type().Elem()))
		}
		f.v.Set(m)
		return nil
	case f.Kind == "yaml":
		// Re-encode and decode strictly so that a misspelt key inside is an error too.
		b, err := yaml.Marshal(n)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		fresh := reflect.New(f.v.Type())
		if err := dec.Decode(fresh.Interface()); err != nil {
			return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		f.v.Set(fresh.Elem())
		return nil
	case n.Kind == yaml.ScalarNode:
		if n.Tag == "!!null" && f.Kind != "string" {
			f.v.Set(reflect.Zero(f.v.Type()))
			return nil
		}
		return f.Set(n.Value)
	}
	return fmt.Errorf("want a %s, not a YAML %s", f.Kind, nodeKind(n))
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "value"
}
