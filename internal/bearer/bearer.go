// Package bearer reads "Authorization: Bearer <token>" headers and looks tokens up in
// constant time, the same way on every listener that takes tokens (OTLP ingest, the
// admin /metrics, the API).
package bearer

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
)

// Token returns the token of an Authorization value. The scheme is case-insensitive
// (RFC 9110); a missing scheme, another scheme or an empty token is not a token.
func Token(authz string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(authz), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Set maps tokens to values (tenants). Lookups hash the presented token and compare it
// with every stored hash, so neither the length nor the position of a match shows in the
// timing.
type Set struct {
	entries []entry
}

type entry struct {
	hash  [32]byte
	value string
}

// NewSet builds a set from token -> value. Empty tokens are skipped (configuration
// validation refuses them; an empty token must never match).
func NewSet(tokens map[string]string) *Set {
	s := &Set{}
	for tok, v := range tokens {
		if tok != "" {
			s.entries = append(s.entries, entry{hash: sha256.Sum256([]byte(tok)), value: v})
		}
	}
	return s
}

// Len is the number of tokens.
func (s *Set) Len() int { return len(s.entries) }

// Lookup returns the value of the Authorization value's bearer token.
func (s *Set) Lookup(authz string) (string, bool) {
	tok, ok := Token(authz)
	if !ok {
		return "", false
	}
	h := sha256.Sum256([]byte(tok))
	match := -1
	for i := range s.entries {
		if subtle.ConstantTimeCompare(h[:], s.entries[i].hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return "", false
	}
	return s.entries[match].value, true
}
