package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// sample returns a value for a setting that differs from its default.
func sample(f Field) reflect.Value {
	t := f.v.Type()
	v := reflect.New(t).Elem()
	switch f.Kind {
	case "duration":
		v.SetInt(f.v.Int() + int64(1500*time.Millisecond))
	case "bool":
		v.SetBool(!f.v.Bool())
	case "int":
		if v.CanInt() {
			v.SetInt(f.v.Int() + 3)
		} else {
			v.SetUint(f.v.Uint() + 3)
		}
	case "number":
		v.SetFloat(f.v.Float() + 1.5)
	case "list":
		v.Set(reflect.ValueOf([]string{"a.example:1", "b.example:2"}).Convert(t))
	case "map":
		m := reflect.MakeMap(t)
		m.SetMapIndex(reflect.ValueOf("k1").Convert(t.Key()), reflect.ValueOf("v1").Convert(t.Elem()))
		m.SetMapIndex(reflect.ValueOf("k2").Convert(t.Key()), reflect.ValueOf("v2").Convert(t.Elem()))
		v.Set(m)
	case "string":
		if v.Kind() == reflect.String {
			v.SetString("sample-" + strings.ReplaceAll(f.Path, ".", "-"))
		} else {
			v.Set(f.v) // a TextUnmarshaler: its default round-trips
		}
	default:
		fill(v)
	}
	return v
}

// fill gives every part of a composite value a non-zero value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(2)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(2)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(2.5)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k)
		fill(e)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Tag.Get("yaml") != "-" {
				fill(v.Field(i))
			}
		}
	}
}

// TestEverySettingReachable enumerates every setting of Config by reflection and proves
// that its YAML key, its UNITCOST_* variable and its flag each set it, and that it has a
// snake_case key and a description. A setting added without tags fails here.
func TestEverySettingReachable(t *testing.T) {
	t.Parallel()
	base := Defaults()
	fields := Fields(&base)
	if len(fields) < 40 {
		t.Fatalf("only %d settings found", len(fields))
	}
	snake := func(s string) bool {
		for _, r := range s {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
				return false
			}
		}
		return true
	}
	envs := map[string]string{}
	for _, f := range fields {
		if other, dup := envs[f.Env]; dup {
			t.Errorf("%s and %s share the variable %s", f.Path, other, f.Env)
		}
		envs[f.Env] = f.Path
	}
	dir := t.TempDir()
	for i, f := range fields {
		t.Run(f.Path, func(t *testing.T) {
			if !snake(f.Path) {
				t.Errorf("key %q is not snake_case (give the field a yaml tag)", f.Path)
			}
			if strings.TrimSpace(f.Desc) == "" {
				t.Errorf("%s has no desc tag", f.Path)
			}
			want := sample(f)
			scratch := Defaults()
			sf := Fields(&scratch)[i]
			sf.v.Set(want)
			text := sf.Format()

			// YAML: nested mappings down to the key.
			var doc any = want.Interface()
			parts := strings.Split(f.Path, ".")
			for j := len(parts) - 1; j >= 0; j-- {
				doc = map[string]any{parts[j]: doc}
			}
			b, err := yaml.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, strings.ReplaceAll(f.Path, ".", "_")+".yaml")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				how string
				src Sources
			}{
				{"yaml key " + f.Path, Sources{File: path}},
				{"variable " + f.Env, Sources{Environ: []string{f.Env + "=" + text}}},
				{"flag --" + f.Path, Sources{Flags: map[string]string{f.Path: text}}},
			} {
				r, errs := load(c.src)
				if len(errs) > 0 {
					t.Errorf("%s (%q): %v", c.how, text, errs)
					continue
				}
				got := Fields(&r.Config)[i]
				if got.Path != f.Path {
					t.Fatalf("field order changed: %s vs %s", got.Path, f.Path)
				}
				if !reflect.DeepEqual(got.Value(), want.Interface()) {
					t.Errorf("%s: got %#v, want %#v (from %q)", c.how, got.Value(), want.Interface(), text)
				}
				if len(r.Warnings) > 0 {
					t.Errorf("%s: warnings %v", c.how, r.Warnings)
				}
			}
		})
	}
}

func TestLimitsKeys(t *testing.T) {
	t.Parallel()
	r, errs := load(Sources{Environ: []string{"UNITCOST_PROCESS_LIMITS_MAX_TOKENS=5"}, Flags: map[string]string{"process.limits.max_string_bytes": "9"}})
	if len(errs) > 0 || r.Config.Process.Limits.MaxTokens != 5 || r.Config.Process.Limits.MaxStringBytes != 9 {
		t.Fatalf("%v %+v", errs, r.Config.Process.Limits)
	}
}

// A desc that states "(default X)" states the default Defaults() really has, so
// `config show` never prints a zero where the effective default differs (the class of
// quiet_period: 0s while 1s applied). Words (none, per command, the built-in book) are not
// checked.
func TestDescribedDefaultsAreTheDefaults(t *testing.T) {
	t.Parallel()
	c := Defaults()
	checked := 0
	for _, f := range Fields(&c) {
		i := strings.Index(f.Desc, "(default ")
		if i < 0 {
			continue
		}
		v := f.Desc[i+len("(default "):]
		v = v[:strings.IndexAny(v+")", ",;)")]
		v = strings.TrimSpace(v)
		scratch := Defaults()
		sf := Fields(&scratch)
		var probe Field
		for _, g := range sf {
			if g.Path == f.Path {
				probe = g
			}
		}
		if f.Kind == "string" || f.Kind == "yaml" || probe.Set(v) != nil {
			if f.Kind == "string" && !strings.Contains(v, " ") && v != "none" && f.Format() != v && !strings.HasPrefix(v, "per") {
				t.Errorf("%s: desc says default %q, Defaults() has %q", f.Path, v, f.Format())
			}
			checked++
			continue
		}
		checked++
		if !reflect.DeepEqual(probe.Value(), f.Value()) {
			t.Errorf("%s: desc says default %q, Defaults() has %q", f.Path, v, f.Format())
		}
	}
	if checked < 20 {
		t.Errorf("only %d described defaults checked", checked)
	}
}
