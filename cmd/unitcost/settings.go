package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/unitcost/unitcost/pipeline/config"
)

// settings binds --config and one flag per configuration setting a command reads
// (--kafka.brokers, --process.limits.max_tokens, ...), each derived from the setting's
// yaml and desc tags, and loads the layered configuration after parsing.
type settings struct {
	role string
	// adjust changes the role's defaults for one command (demo's database).
	adjust    func(*config.Config)
	path      string
	overrides map[string]string
	// ignore lists variables the command itself reads (e.g. a rules file's ${VAR}s), so
	// the loader does not call them misspelt settings.
	ignore []string
	// origins says where each setting not at its default came from (after load).
	origins map[string]string
}

// settingAnnotation marks a flag as a configuration setting (listed apart in --help).
const settingAnnotation = "unitcost_setting"

// bindSettings registers the settings under the given sections ("kafka",
// "process.limits", "log_level"; "*" for all) as flags of cmd. role picks the defaults
// (config.RoleDefaults), which the help shows.
func bindSettings(cmd *cobra.Command, role string, sections ...string) *settings {
	return bindSettingsAdjusted(cmd, role, nil, sections...)
}

// bindSettingsAdjusted is bindSettings with defaults of the command's own.
func bindSettingsAdjusted(cmd *cobra.Command, role string, adjust func(*config.Config), sections ...string) *settings {
	s := &settings{role: role, adjust: adjust, overrides: map[string]string{}}
	fs := cmd.Flags()
	fs.StringVar(&s.path, "config", "", "YAML configuration file (${VAR} and ${VAR:-default} are expanded from the environment) [$UNITCOST_CONFIG]")
	defaults := s.defaults()
	for _, f := range config.Fields(&defaults) {
		if !inSections(f.Path, sections) {
			continue
		}
		v := &settingValue{s: s, path: f.Path, kind: f.Kind, def: f.Format()}
		fs.Var(v, f.Path, usageOf(f))
		fl := fs.Lookup(f.Path)
		if f.Kind == "bool" {
			fl.NoOptDefVal = "true"
		}
		fl.Annotations = map[string][]string{settingAnnotation: {f.Env}}
	}
	return s
}

func inSections(path string, sections []string) bool {
	for _, sec := range sections {
		if sec == "*" || path == sec || strings.HasPrefix(path, sec+".") {
			return true
		}
	}
	return false
}

// usageOf is the desc tag without its "(default ...)" (the flag shows the effective
// default of the command), plus the variable.
func usageOf(f config.Field) string {
	d := f.Desc
	if i := strings.LastIndex(d, "(default"); i >= 0 && strings.HasSuffix(d, ")") {
		d = strings.TrimSpace(d[:i])
	}
	return d + " [$" + f.Env + "]"
}

type settingValue struct {
	s          *settings
	path, kind string
	def        string
	set        string
	isSet      bool
}

func (v *settingValue) String() string {
	if v.isSet {
		return v.set
	}
	return v.def
}

func (v *settingValue) Type() string { return v.kind }

// Set checks the text now (so a bad value is reported by flag name at once) and keeps
// it for the flag layer of the configuration.
func (v *settingValue) Set(text string) error {
	c := config.Defaults()
	for _, f := range config.Fields(&c) {
		if f.Path == v.path {
			if err := f.Set(text); err != nil {
				return err
			}
		}
	}
	v.set, v.isSet = text, true
	v.s.overrides[v.path] = text
	return nil
}

func (s *settings) defaults() config.Config {
	c := config.RoleDefaults(s.role)
	if s.adjust != nil {
		s.adjust(&c)
	}
	return c
}

// load builds the configuration from defaults, --config (or $UNITCOST_CONFIG),
// UNITCOST_* variables and the flags, and prints warnings about variables that set
// nothing.
func (s *settings) load() (config.Config, error) {
	path := s.path
	if path == "" {
		path = os.Getenv("UNITCOST_CONFIG")
	}
	defaults := s.defaults()
	r, err := config.LoadSources(config.Sources{Defaults: &defaults, File: path, Environ: os.Environ(), Flags: s.overrides,
		Ignore: append([]string{"UNITCOST_CONFIG"}, s.ignore...)})
	for _, w := range r.Warnings {
		fmt.Fprintln(os.Stderr, "unitcost: warning:", w)
	}
	s.origins = r.Origins
	if err != nil {
		return r.Config, fmt.Errorf("invalid configuration:\n%w", indent(err))
	}
	return r.Config, nil
}

func indent(err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

func logger(level string) *slog.Logger {
	var l slog.Level
	l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// signalContext is cancelled by SIGINT or SIGTERM: graceful shutdown (flush, commit, exit).
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// session is what every subcommand starts from: the loaded configuration, a logger at its
// level, and a context cancelled by SIGINT/SIGTERM.
type session struct {
	cfg  config.Config
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc
}

// start loads the configuration and returns the session; the caller defers sess.stop().
func (s *settings) start() (*session, error) {
	cfg, err := s.load()
	if err != nil {
		return nil, err
	}
	ctx, stop := signalContext()
	log := logger(cfg.LogLevel)
	s.adminFallback(&cfg, log)
	return &session{cfg: cfg, log: log, ctx: ctx, stop: stop}, nil
}

// adminFallback: when admin.addr is the command's default (nobody set it) and another
// process holds it - a second `unitcost process` on the same machine - the admin endpoint
// moves to a free port on the same host, logged, instead of failing the command.
func (s *settings) adminFallback(cfg *config.Config, log *slog.Logger) {
	switch s.role {
	case "ingest", "process", "api", "alert", "dev":
	default: // commands without an admin endpoint
		return
	}
	if cfg.Admin.Addr == "" || s.origins["admin.addr"] != "" || cfg.Admin.Addr != config.AdminAddr(s.role) {
		return
	}
	addr, moved := freeIfTaken(cfg.Admin.Addr)
	if !moved {
		return
	}
	log.Warn("the default admin address is taken (another unitcost on this machine?); serving /healthz, /readyz and /metrics on a free port instead (set admin.addr to choose)",
		"default", cfg.Admin.Addr, "admin", addr)
	cfg.Admin.Addr = addr
}

// freeIfTaken returns a free port on addr's host when addr is in use by another process.
func freeIfTaken(addr string) (string, bool) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr, false
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return addr, false
	}
	host, _, _ := net.SplitHostPort(addr)
	free, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return addr, false
	}
	defer free.Close()
	return free.Addr().String(), true
}

// complete offers values for a flag in shell completion.
func complete(c *cobra.Command, flag string, values ...string) {
	c.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// isSetting says whether a flag is a configuration setting.
func isSetting(f *pflag.Flag) bool { _, ok := f.Annotations[settingAnnotation]; return ok }
