package bearer

import "testing"

func TestLookup(t *testing.T) {
	t.Parallel()
	s := NewSet(map[string]string{"tok-a": "acme", "tok-b": "globex", "": "nobody"})
	for authz, want := range map[string]string{
		"Bearer tok-a": "acme", "bearer tok-b": "globex", "BEARER  tok-a ": "acme",
		"Bearer ": "", "Bearer": "", "": "", "Basic tok-a": "", "Bearer tok-": "", "Bearer tok-ab": "", "tok-a": "",
	} {
		got, ok := s.Lookup(authz)
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q %v, want %q", authz, got, ok, want)
		}
	}
	if s.Len() != 2 {
		t.Errorf("empty token kept: %d", s.Len())
	}
}
