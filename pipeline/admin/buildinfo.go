package admin

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// buildCommit is set by `make build` (-ldflags -X) for builds without VCS stamping
// (GOFLAGS=-buildvcs=false, or a build outside the git checkout).
var buildCommit string

// BuildInfo says which unitcost this is.
type BuildInfo struct {
	// Version is the module version ("(devel)" for a build from a checkout).
	Version string
	// Commit is the VCS revision, "" when unknown; Modified says the tree was dirty.
	Commit   string
	Modified bool
	// Time is the commit time (RFC 3339), "" when unknown.
	Time      string
	GoVersion string
	Platform  string
}

// Build reads the binary's build information (runtime/debug.ReadBuildInfo).
func Build() BuildInfo {
	b := BuildInfo{Version: "(devel)", Commit: buildCommit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "vcs.time":
			b.Time = s.Value
		}
	}
	return b
}

// String is the one-line form `unitcost version` prints.
func (b BuildInfo) String() string {
	commit := b.Commit
	if commit == "" {
		commit = "unknown"
	}
	if b.Modified {
		commit += " (modified)"
	}
	s := "unitcost " + b.Version + "\ncommit " + commit
	if b.Time != "" {
		s += " " + b.Time
	}
	return s + "\n" + b.GoVersion + " " + b.Platform
}

// buildInfoCollector exports unitcost_build_info{version,commit,goversion} 1.
func buildInfoCollector() prometheus.Collector {
	b := Build()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "unitcost_build_info",
		Help:        "Which unitcost is running: always 1, labelled with its version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.GoVersion},
	})
	g.Set(1)
	return g
}
