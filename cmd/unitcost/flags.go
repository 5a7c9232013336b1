package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/unitcost/unitcost/pipeline/config"
)

// settings registers --config and one flag per configuration field (--kafka.brokers,
// --clickhouse.addr, ...) on fs, and loads the layered configuration after parsing.
type settings struct {
	fs        *flag.FlagSet
	path      string
	overrides map[string]string
}

type overrideFlag struct {
	m    map[string]string
	path string
}

func (o overrideFlag) String() string     { return "" }
func (o overrideFlag) Set(v string) error { o.m[o.path] = v; return nil }

func newFlags(name, synopsis, detail string) (*flag.FlagSet, *settings) {
	fs := flag.NewFlagSet("unitcost "+name, flag.ContinueOnError)
	s := &settings{fs: fs, overrides: map[string]string{}}
	fs.StringVar(&s.path, "config", "", "YAML configuration file (${VAR} is expanded from the environment)")
	c := config.Defaults()
	for _, f := range config.Fields(&c) {
		fs.Var(overrideFlag{m: s.overrides, path: f.Path}, f.Path, "setting ("+f.Kind+"); env "+f.Env)
	}
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: unitcost %s [flags]\n\n%s\n", name, synopsis)
		if detail != "" {
			fmt.Fprintf(out, "\n%s\n", detail)
		}
		fmt.Fprintf(out, "\nFlags:\n")
		var settingsNames []string
		fs.VisitAll(func(f *flag.Flag) {
			if _, ok := f.Value.(overrideFlag); ok {
				settingsNames = append(settingsNames, f.Name)
				return
			}
			fmt.Fprintf(out, "  --%s\n    \t%s", f.Name, f.Usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(out, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(out)
		})
		sort.Strings(settingsNames)
		fmt.Fprintf(out, "\nSettings (each also a UNITCOST_* variable, e.g. --kafka.brokers = UNITCOST_KAFKA_BROKERS;\nlists are comma-separated; `unitcost config show` prints defaults):\n")
		for _, n := range settingsNames {
			fmt.Fprintf(out, "  --%s\n", n)
		}
	}
	return fs, s
}

// parse parses args; --help prints usage and exits 0.
func (s *settings) parse(args []string) error {
	s.fs.SetOutput(os.Stderr)
	if err := s.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		return err
	}
	if s.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags go before nothing else; see --help)", s.fs.Args())
	}
	return nil
}

func (s *settings) load() (config.Config, error) {
	c, err := config.Load(s.path, os.Environ(), s.overrides)
	if err != nil {
		return c, fmt.Errorf("invalid configuration:\n%w", indent(err))
	}
	return c, nil
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

// start parses args, loads the configuration and returns the session; the caller defers
// sess.stop().
func (s *settings) start(args []string) (*session, error) {
	if err := s.parse(args); err != nil {
		return nil, err
	}
	cfg, err := s.load()
	if err != nil {
		return nil, err
	}
	ctx, stop := signalContext()
	return &session{cfg: cfg, log: logger(cfg.LogLevel), ctx: ctx, stop: stop}, nil
}
