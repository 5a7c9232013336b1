package config

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline"
)

// Sources are the layers Load reads, lowest first after Defaults.
type Sources struct {
	// Defaults is the base layer (RoleDefaults of the command); nil means Defaults().
	Defaults *Config
	// File is a YAML configuration file ("" for none). ${VAR} and ${VAR:-fallback} are
	// expanded from Environ; an unset ${VAR} without a fallback is an error naming it.
	File string
	// Environ is the process environment (os.Environ()): UNITCOST_* variables set
	// settings.
	Environ []string
	// Flags maps a setting path ("kafka.brokers") to a flag's text.
	Flags map[string]string
	// Ignore lists variables that are not settings yet are known to the caller (for
	// example ones a rules file references), so no warning is given about them.
	Ignore []string
}

// Result is a loaded configuration and what the user should hear about it.
type Result struct {
	Config Config
	// Warnings name UNITCOST_* variables that set nothing (misspelt settings), with a
	// suggestion where one is close.
	Warnings []string
	// Origins says where each setting that is not at its default came from: "file:line",
	// "$UNITCOST_..." or "--flag".
	Origins map[string]string
}

// Load builds the configuration: defaults, then the YAML file at path (if not ""), then
// UNITCOST_* variables from environ, then overrides (setting path -> flag text). It
// validates the result. Warnings are dropped; use LoadSources to see them.
func Load(path string, environ []string, overrides map[string]string) (Config, error) {
	r, err := LoadSources(Sources{File: path, Environ: environ, Flags: overrides})
	return r.Config, err
}

// LoadSources builds and validates the configuration. Every problem - an unknown key, a
// value of the wrong type, an unset ${VAR}, a bad variable or flag, an invalid setting -
// is reported at once, each named as the user wrote it (file:line key, variable, --flag).
func LoadSources(src Sources) (Result, error) {
	r, errs := load(src)
	// A value that failed to parse kept its earlier layer's value, so validating still
	// finds the other invalid settings.
	return r, errors.Join(append(errs, r.Config.Validate())...)
}

// load layers the sources without validating.
func load(src Sources) (Result, []error) {
	c := Defaults()
	if src.Defaults != nil {
		c = *src.Defaults
	}
	fields := Fields(&c)
	byPath := make(map[string]Field, len(fields))
	byEnv := make(map[string]Field, len(fields))
	for _, f := range fields {
		byPath[f.Path], byEnv[f.Env] = f, f
	}
	env := envMap(src.Environ)
	var errs []error
	res := Result{Origins: map[string]string{}}
	referenced := map[string]bool{}
	for _, k := range src.Ignore {
		referenced[k] = true
	}
	if src.File != "" {
		errs = append(errs, loadFile(src.File, env, byPath, referenced, res.Origins)...)
	}
	var names []string
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !strings.HasPrefix(k, "UNITCOST_") {
			continue
		}
		f, ok := byEnv[k]
		if !ok {
			if !referenced[k] && !notSetting(k) {
				w := k + " is set but is not a setting; it is ignored"
				if s := suggest(k, envNames(fields)); s != "" {
					w += " (did you mean " + s + "?)"
				}
				res.Warnings = append(res.Warnings, w)
			}
			continue
		}
		if err := f.Set(env[k]); err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", k, f.Path, err))
		}
		res.Origins[f.Path] = "$" + k
	}
	var flags []string
	for k := range src.Flags {
		flags = append(flags, k)
	}
	sort.Strings(flags)
	for _, k := range flags {
		f, ok := byPath[k]
		if !ok {
			msg := fmt.Sprintf("--%s: no such setting", k)
			if s := suggest(k, paths(fields)); s != "" {
				msg += " (did you mean --" + s + "?)"
			}
			errs = append(errs, errors.New(msg))
			continue
		}
		if err := f.Set(src.Flags[k]); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", k, err))
		}
		res.Origins[k] = "--" + k
	}
	res.Config = c
	return res, errs
}

// notSetting reports variables the project's scripts and tests use that are not
// settings (deploy/local/*.sh, internal/testenv, benchmarks, the example rules).
func notSetting(k string) bool {
	for _, p := range []string{"UNITCOST_HOME", "UNITCOST_CH_", "UNITCOST_ZK_", "UNITCOST_KAFKA_PORT", "UNITCOST_TEST_",
		"UNITCOST_BENCH_", "UNITCOST_ALERT_", "UNITCOST_ALERTMANAGER_", "UNITCOST_SLACK_", "UNITCOST_IMAGE", "UNITCOST_JAVA", "UNITCOST_VENV"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// Expand replaces ${VAR} and ${VAR:-fallback} from env (see pipeline.ExpandVars) and
// returns the variables referenced but unset.
func Expand(s string, env map[string]string) (string, []string) {
	return pipeline.ExpandVars(s, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

// EnvMap turns os.Environ()-style pairs into a map; a later pair wins.
func EnvMap(environ []string) map[string]string { return envMap(environ) }

func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, e := range environ {
		if k, v, ok := strings.Cut(e, "="); ok {
			m[k] = v
		}
	}
	return m
}

func loadFile(path string, env map[string]string, byPath map[string]Field, referenced map[string]bool, origins map[string]string) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("read config: %w", err)}
	}
	var errs []error
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		for _, v := range pipeline.VarRefs(l) {
			referenced[v] = true
		}
		expanded, missing := Expand(l, env)
		for _, m := range missing {
			errs = append(errs, fmt.Errorf("%s:%d: ${%s} is not set (set it, or write ${%s:-default})", path, i+1, m, m))
		}
		lines[i] = expanded
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(strings.Join(lines, "\n")), &doc); err != nil {
		return append(errs, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: ")))
	}
	if len(doc.Content) == 0 {
		return errs
	}
	return append(errs, walkNode(path, doc.Content[0], "", byPath, origins)...)
}

// walkNode sets every leaf of a mapping node, collecting every error.
func walkNode(file string, n *yaml.Node, prefix string, byPath map[string]Field, origins map[string]string) []error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		what := "the file"
		if prefix != "" {
			what = prefix
		}
		return []error{fmt.Errorf("%s:%d: %s: want a mapping of settings, not a YAML %s", file, n.Line, what, nodeKind(n))}
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := k.Value
		if prefix != "" {
			path = prefix + "." + k.Value
		}
		if f, ok := byPath[path]; ok {
			if err := f.setNode(v); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", file, v.Line, path, err))
			}
			origins[path] = fmt.Sprintf("%s:%d", file, v.Line)
			continue
		}
		if isPrefix(path, byPath) {
			errs = append(errs, walkNode(file, v, path, byPath, origins)...)
			continue
		}
		msg := fmt.Sprintf("%s:%d: %s: no such setting", file, k.Line, path)
		if s := suggest(path, keys(byPath)); s != "" {
			msg += " (did you mean " + s + "?)"
		}
		errs = append(errs, errors.New(msg))
	}
	return errs
}

func isPrefix(p string, byPath map[string]Field) bool {
	for k := range byPath {
		if strings.HasPrefix(k, p+".") {
			return true
		}
	}
	return false
}

func keys(m map[string]Field) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func paths(fs []Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Path
	}
	return out
}

func envNames(fs []Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Env
	}
	return out
}
