package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline/config"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// Every command and subcommand answers --help with its usage, and shows only the
// settings it reads.
func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			p := strings.Fields(sub.CommandPath())[1:]
			paths = append(paths, p)
			walk(sub)
		}
	}
	walk(newRoot())
	if len(paths) < 15 {
		t.Fatalf("only %d commands", len(paths))
	}
	for _, p := range paths {
		out, err := run(t, append(p, "--help")...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("%v --help: %v\n%s", p, err, out)
		}
	}
	out, _ := run(t, "migrate", "--help")
	if strings.Contains(out, "kafka.sasl.password") || !strings.Contains(out, "--clickhouse.addr") || !strings.Contains(out, "UNITCOST_CLICKHOUSE_ADDR") {
		t.Errorf("migrate --help shows settings it does not read or lacks its own:\n%s", out)
	}
	out, _ = run(t, "process", "--help")
	for _, want := range []string{"--process.limits.max_tokens", "(default 100000000)", "--admin.addr string", `(default "127.0.0.1:9465")`} {
		if !strings.Contains(out, want) {
			t.Errorf("process --help lacks %q:\n%s", want, out)
		}
	}
}

func TestCommandLineMistakes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--sinse", "5h"}, "unknown flag: --sinse (did you mean --since?)"},
		{[]string{"report", "--since", "yesterday"}, `--since "yesterday": want a length such as 5h, 7d`},
		{[]string{"report", "--since", "-5h"}, `"-5h" is negative`},
		{[]string{"migrate", "--clickhouse.adr", "x"}, "did you mean --clickhouse.addr?"},
		{[]string{"process", "--kafka.partitions", "many"}, `"many" is not an integer`},
		{[]string{"prices", "shwo"}, "did you mean show?"},
		{[]string{"prices", "show"}, "want one MODEL"},
		{[]string{"report", "extra"}, `unexpected argument "extra"`},
	} {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := run(t, "reprot"); err == nil || !strings.Contains(err.Error(), `unknown command "reprot"`) {
		t.Errorf("reprot: %v", err)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	t.Parallel()
	out, err := run(t, "version")
	if err != nil || !strings.Contains(out, "unitcost ") || !strings.Contains(out, "go1.") || !strings.Contains(out, "commit ") {
		t.Errorf("version: %v\n%s", err, out)
	}
	out, err = run(t, "__complete", "report", "--by", "")
	if err != nil || !strings.Contains(out, "model") || !strings.Contains(out, "price_version") {
		t.Errorf("completion of report --by: %v\n%s", err, out)
	}
	out, err = run(t, "__complete", "rep")
	if err != nil || !strings.Contains(out, "report") || !strings.Contains(out, "reprice") {
		t.Errorf("completion of rep: %v\n%s", err, out)
	}
	out, err = run(t, "completion", "bash")
	if err != nil || !strings.Contains(out, "__start_unitcost") {
		t.Errorf("completion bash: %v", err)
	}
}

// A second long-running command of the same role on one machine moves its admin endpoint
// to a free port when nobody chose admin.addr; a chosen one is kept (and fails loudly).
func TestAdminFallback(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	if addr, moved := freeIfTaken(taken); !moved || addr == taken || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("taken %s: got %s %v", taken, addr, moved)
	}
	ln.Close()
	if addr, moved := freeIfTaken(taken); moved || addr != taken {
		t.Errorf("free %s: got %s %v", taken, addr, moved)
	}
	// Only the untouched default of a command with an admin endpoint moves.
	for _, c := range []struct {
		role, origin string
	}{{"process", "--admin.addr"}, {"report", ""}} {
		s := &settings{role: c.role, origins: map[string]string{}}
		if c.origin != "" {
			s.origins["admin.addr"] = c.origin
		}
		cfg := config.RoleDefaults(c.role)
		cfg.Admin.Addr = "256.0.0.1:1" // would fail to listen if probed
		s.adminFallback(&cfg, discardLogger())
		if cfg.Admin.Addr != "256.0.0.1:1" {
			t.Errorf("%+v: moved to %s", c, cfg.Admin.Addr)
		}
	}
}
