// Command unitcost measures what AI work costs per unit of work: OTLP spans in, through
// Kafka, stitched into workflows, priced, and written to ClickHouse.
//
// The command tree is cobra's (help, suggestions, shell completion); each subcommand's
// file holds only its flags and wiring, the work is done by the pipeline packages.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/config"
)

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		cmd, _, _ := root.Find(os.Args[1:])
		name := "unitcost"
		if cmd != nil {
			name = cmd.CommandPath()
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", name)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "unitcost",
		Short: "the cost of AI work per unit of work",
		Long: "unitcost - the cost of AI work per unit of work: OTLP spans in, through Kafka, stitched into\n" +
			"workflows, priced (tokens, compute, retrieval, tools, human review) and written to ClickHouse.\n\n" +
			"Every setting comes from a YAML file (--config), a UNITCOST_* variable or a flag, in that\n" +
			"order of precedence; `unitcost config show` prints the effective values.",
		Version:       admin.Build().Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Completion, help and version need no configuration.
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate(admin.Build().String() + "\n")
	root.SetFlagErrorFunc(flagError)
	root.SetUsageFunc(usage)
	root.AddGroup(&cobra.Group{ID: "run", Title: "Run the pipeline:"}, &cobra.Group{ID: "read", Title: "Read the figures:"},
		&cobra.Group{ID: "tools", Title: "Tools:"})
	for _, c := range []*cobra.Command{demoCmd(), devCmd(), ingestCmd(), processCmd(), alertCmd(), apiCmd()} {
		c.GroupID = "run"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{reportCmd(), whatifCmd()} {
		c.GroupID = "read"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{migrateCmd(), rollupCmd(), repriceCmd(), pricesCmd(), loadgenCmd(), configCmd(), versionCmd()} {
		c.GroupID = "tools"
		root.AddCommand(c)
	}
	root.SetHelpCommandGroupID("tools")
	root.SetCompletionCommandGroupID("tools")
	return root
}

// noArgs rejects positional arguments with a suggestion when one looks like a
// subcommand or a flag missing its dashes.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return usageError{fmt.Errorf("unexpected argument %q (this command takes only flags)", args[0])}
}

// exactArgs wants n positional arguments, described by what.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("want %s (got %d arguments)", what, len(args))}
		}
		return nil
	}
}

// subcommandRequired is the RunE of a command that only groups subcommands.
func subcommandRequired(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usageError{errors.New("which one? " + subNames(cmd))}
	}
	msg := fmt.Sprintf("unknown command %q", args[0])
	var names []string
	for _, c := range cmd.Commands() {
		names = append(names, c.Name())
	}
	if s := config.Suggest(args[0], names); s != "" {
		msg += " (did you mean " + s + "?)"
	}
	return usageError{errors.New(msg + "; " + subNames(cmd))}
}

func subNames(cmd *cobra.Command) string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return "want " + strings.Join(names, " or ")
}

// flagError adds a did-you-mean to an unknown flag and marks flag errors as usage errors.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
		if s := config.Suggest(name, names); s != "" {
			msg += " (did you mean --" + s + "?)"
		} else {
			for _, n := range names {
				if strings.HasSuffix(n, "."+name) {
					msg += " (did you mean --" + n + "?)"
					break
				}
			}
		}
	}
	return usageError{errors.New(msg)}
}

// usage prints a command's help: its own flags, then the settings it reads (each with
// its variable and its default for this command), then subcommands.
func usage(cmd *cobra.Command) error {
	out := cmd.OutOrStderr()
	fmt.Fprintf(out, "Usage:\n  %s\n", cmd.UseLine())
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(out, "  %s <command> [flags]\n", cmd.CommandPath())
	}
	if len(cmd.Aliases) > 0 {
		fmt.Fprintf(out, "\nAliases: %s\n", strings.Join(cmd.Aliases, ", "))
	}
	if cmd.Example != "" {
		fmt.Fprintf(out, "\nExamples:\n%s\n", cmd.Example)
	}
	if cmd.HasAvailableSubCommands() {
		groups := append([]*cobra.Group{{ID: "", Title: "Commands:"}}, cmd.Groups()...)
		for _, g := range groups {
			var lines []string
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() && c.GroupID == g.ID {
					lines = append(lines, fmt.Sprintf("  %-11s %s", c.Name(), c.Short))
				}
			}
			if len(lines) > 0 {
				fmt.Fprintf(out, "\n%s\n%s\n", g.Title, strings.Join(lines, "\n"))
			}
		}
	}
	own, set := pflag.NewFlagSet("own", pflag.ContinueOnError), pflag.NewFlagSet("settings", pflag.ContinueOnError)
	own.SortFlags, set.SortFlags = true, true
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if isSetting(f) {
			set.AddFlag(f)
		} else if !f.Hidden {
			own.AddFlag(f)
		}
	})
	cmd.InheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			own.AddFlag(f)
		}
	})
	if own.HasFlags() {
		fmt.Fprintf(out, "\nFlags:\n%s", own.FlagUsagesWrapped(110))
	}
	if set.HasFlags() {
		fmt.Fprintf(out, "\nSettings this command reads (flag, or the [$VARIABLE], or the YAML key of --config:\n"+
			"--kafka.brokers is kafka: {brokers: ...}; lists are comma-separated, maps k=v,k=v):\n%s", set.FlagUsagesWrapped(110))
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(out, "\nRun '%s <command> --help' for a command's flags and settings.\n", cmd.CommandPath())
	}
	return nil
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version, commit and Go version of this binary",
		Long:  "Print unitcost's module version, the commit it was built from (runtime/debug.ReadBuildInfo, or\n`make build`'s stamp) and the Go version. Every /metrics also serves them as unitcost_build_info.",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), admin.Build().String())
			return nil
		},
	}
}

func configCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "validate or show the effective configuration",
		Long: "Load defaults, the YAML file (--config), UNITCOST_* variables and flags, in that order.\n" +
			"validate reports every invalid setting at once and checks the price book; show prints\n" +
			"every setting with its effective value (secrets masked); keys lists every setting with\n" +
			"its YAML key, variable and flag.",
		Args: cobra.ArbitraryArgs,
		RunE: subcommandRequired,
	}
	validate := &cobra.Command{Use: "validate", Short: "report every invalid setting at once (the price book too)", Args: noArgs}
	vs := bindSettings(validate, "ingest", "*")
	validate.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := vs.load()
		if err != nil {
			return err
		}
		if err := validatePriceBook(cfg); err != nil {
			return err
		}
		fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
		return nil
	}
	show := &cobra.Command{Use: "show", Short: "print the effective configuration as YAML (secrets masked)", Args: noArgs}
	role := show.Flags().String("for", "ingest", "show the defaults as this command sees them (admin.addr differs: ingest, process, api, alert, dev)")
	ss := bindSettings(show, "ingest", "*")
	show.RunE = func(cmd *cobra.Command, args []string) error {
		ss.role = *role
		cfg, err := ss.load()
		if err != nil {
			return err
		}
		fmt.Fprint(cmd.OutOrStdout(), cfg.YAML())
		return nil
	}
	keys := &cobra.Command{Use: "keys", Short: "list every setting: YAML key, UNITCOST_* variable, flag, default and description", Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := config.Defaults()
			fields := config.Fields(&c)
			sort.SliceStable(fields, func(i, j int) bool { return fields[i].Path < fields[j].Path })
			for _, f := range fields {
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s)\n    %s\n    $%s  --%s  default %q\n", f.Path, f.Kind, f.Desc, f.Env, f.Path, f.Format())
			}
			return nil
		}}
	c.AddCommand(validate, show, keys)
	return c
}
