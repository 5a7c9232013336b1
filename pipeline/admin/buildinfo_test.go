package admin

import (
	"runtime"
	"strings"
	"testing"
)

// Every registry the commands serve on /metrics carries unitcost_build_info.
func TestBuildInfoOnEveryRegistry(t *testing.T) {
	t.Parallel()
	mfs, err := NewRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "unitcost_build_info" {
			continue
		}
		m := mf.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if m.GetGauge().GetValue() != 1 || labels["goversion"] != runtime.Version() || labels["version"] == "" {
			t.Errorf("build info %v = %v", labels, m.GetGauge().GetValue())
		}
		if b := Build(); !strings.Contains(b.String(), runtime.Version()) {
			t.Errorf("version text %q", b.String())
		}
		return
	}
	t.Fatal("no unitcost_build_info")
}
