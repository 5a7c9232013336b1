package store

import (
	"fmt"
	"regexp"
	"strings"
)

// Filter narrows the source queries to the workflows of one tenant and of the given
// dimension values; "" matches any. The dimensions are the workflow's (its root's, else
// the earliest of its spans' that has them: see normalize.Resolve).
type Filter struct {
	Tenant      string
	Service     string
	Environment string
	Session     string
	User        string
	// Label is key=value: the workflow's label key has that value.
	Label string
}

// labelKey is what a label key may be when it is spliced into SQL (as a quoted literal).
var labelKey = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// Validate reports a malformed label filter.
func (f Filter) Validate() error {
	if f.Label == "" {
		return nil
	}
	k, _, ok := strings.Cut(f.Label, "=")
	if !ok || !labelKey.MatchString(k) {
		return fmt.Errorf("label filter %q: want key=value, the key of letters, digits, _ . - (at most 64)", f.Label)
	}
	return nil
}

// tenantArgs are the two arguments of a query's `(? = ” OR tenant = ?)`.
func (f Filter) tenantArgs() []any { return []any{f.Tenant, f.Tenant} }

// sql renders the `{filter}` placeholder a shipped query puts after its workflow
// tenant condition, and the arguments it adds there.
func (f Filter) sql() (string, []any) {
	var b strings.Builder
	var args []any
	for _, c := range [...]struct{ col, v string }{{"service", f.Service}, {"environment", f.Environment}, {"session", f.Session}, {"end_user", f.User}} {
		if c.v != "" {
			b.WriteString(" AND " + c.col + " = ?")
			args = append(args, c.v)
		}
	}
	if k, v, ok := strings.Cut(f.Label, "="); ok {
		b.WriteString(" AND label_values[indexOf(label_keys, ?)] = ?")
		args = append(args, k, v)
	}
	return b.String(), args
}

// bind substitutes {filter} in q and returns the arguments for each `tenant` pair of a
// workflow condition followed by the filter's own.
func (f Filter) bind(q string) (string, []any) {
	s, args := f.sql()
	return strings.ReplaceAll(q, "{filter}", s), append(f.tenantArgs(), args...)
}

// args joins argument lists.
func args(parts ...[]any) []any {
	var out []any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
