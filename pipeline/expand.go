package pipeline

import "regexp"

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}`)

// ExpandVars replaces ${VAR} with lookup(VAR) and ${VAR:-fallback} with the fallback when
// VAR is unset or empty (${VAR-fallback}: only when unset). It returns the variables that
// were referenced but unset without a fallback, so the caller can name them. A bare $ is
// left alone (secrets may contain one).
func ExpandVars(s string, lookup func(string) (string, bool)) (string, []string) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(m string) string {
		sm := varRef.FindStringSubmatch(m)
		name, op, fallback := sm[1], sm[2], sm[3]
		v, set := lookup(name)
		switch {
		case op == ":-" && v == "":
			return fallback
		case op == "-" && !set:
			return fallback
		case !set:
			missing = append(missing, name)
		}
		return v
	})
	return out, missing
}

// VarRefs lists the variables s references as ${VAR}.
func VarRefs(s string) []string {
	var out []string
	for _, sm := range varRef.FindAllStringSubmatch(s, -1) {
		out = append(out, sm[1])
	}
	return out
}
