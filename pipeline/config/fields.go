package config

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var errEOF = io.EOF

// Field is one leaf setting, addressable by its YAML path ("kafka.brokers"), its
// environment variable (UNITCOST_KAFKA_BROKERS) and its flag (--kafka.brokers).
type Field struct {
	Path string
	Env  string
	Kind string
	v    reflect.Value
}

// Fields lists every leaf setting of c, in declaration order.
func Fields(c *Config) []Field {
	var out []Field
	walk(reflect.ValueOf(c).Elem(), "", &out)
	return out
}

func walk(v reflect.Value, prefix string, out *[]Field) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !sf.IsExported() {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(time.Duration(0)) {
			walk(fv, path, out)
			continue
		}
		*out = append(*out, Field{
			Path: path,
			Env:  "UNITCOST_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_")),
			Kind: kind(fv),
			v:    fv,
		})
	}
}

func kind(v reflect.Value) string {
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		return "duration"
	}
	switch v.Kind() {
	case reflect.Slice:
		return "list"
	case reflect.Map:
		return "map"
	}
	return v.Kind().String()
}

// Set parses s into the field: lists are comma-separated, maps are k=v,k=v.
func (f Field) Set(s string) error {
	v := f.v
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 500ms or 2m", s)
		}
		v.SetInt(int64(d))
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
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
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
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			// a list of structs (e.g. process.outcome.rules): YAML or JSON flow syntax
			ptr := reflect.New(v.Type())
			if err := yaml.Unmarshal([]byte(s), ptr.Interface()); err != nil {
				return fmt.Errorf("%q: want a YAML list, e.g. [{attribute: app.resolved, equals: \"true\", outcome: completed}]: %w", s, err)
			}
			v.Set(ptr.Elem())
			return nil
		}
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	case reflect.Map:
		m := map[string]string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			k, val, ok := strings.Cut(p, "=")
			if !ok {
				return fmt.Errorf("%q: want key=value pairs separated by commas", p)
			}
			m[k] = val
		}
		v.Set(reflect.ValueOf(m))
	default:
		return errors.New("unsupported setting type")
	}
	return nil
}
