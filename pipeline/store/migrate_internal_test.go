package store

import "testing"

func TestMinServerAndVersions(t *testing.T) {
	if v := MinServer("-- a comment\n-- unitcost: min_server 20.3\nALTER TABLE x"); v != "20.3" {
		t.Fatalf("min_server = %q", v)
	}
	if v := MinServer("-- `-- unitcost: min_server V` in prose\nALTER TABLE x"); v != "" {
		t.Fatalf("prose read as a directive: %q", v)
	}
	for _, c := range []struct {
		have, want string
		ok         bool
	}{
		{"18.16.1", "20.3", false}, {"20.3", "20.3", true}, {"20.3.1.2", "20.3", true}, {"26.9.2.1", "20.3", true},
		{"20.10", "20.3", true}, {"20.2.9", "20.3", false}, {"9.1", "20.3", false},
	} {
		if got := versionAtLeast(c.have, c.want); got != c.ok {
			t.Errorf("%s >= %s: %v", c.have, c.want, got)
		}
	}
}
