package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/unitcost/unitcost/pipeline"
	"github.com/unitcost/unitcost/pipeline/config"
	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/stack"
)

func pricesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "prices",
		Short: "explain a model's price (show) or import LiteLLM's price file (import)",
		Args:  cobra.ArbitraryArgs,
		RunE:  subcommandRequired,
	}
	c.AddCommand(pricesShowCmd(), pricesImportCmd())
	return c
}

func pricesShowCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "show MODEL",
		Short: "explain how a model is priced",
		Long: "Explain how MODEL is priced: the book version in effect, the entry it matches, every\n" +
			"rate, context and service tiers, and a tenant's own prices and discount.",
		Example: "  unitcost prices show gpt-4o\n  unitcost prices show claude-sonnet-4 --provider anthropic --tenant acme --at 2026-11-01",
		Args:    exactArgs(1, "one MODEL, e.g. unitcost prices show gpt-4o"),
	}
	provider := c.Flags().String("provider", "", "provider as spans report it (gen_ai.provider.name)")
	tenant := c.Flags().String("tenant", "", "price as this tenant pays it")
	at := c.Flags().String("at", "", "day to price at, YYYY-MM-DD (default: today)")
	s := bindSettings(c, "prices", "process.price_book", "log_level")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		day := time.Now().UTC()
		if *at != "" {
			var err error
			if day, err = pipeline.ParseTime(*at); err != nil {
				return usageError{fmt.Errorf("--at %w", err)}
			}
		}
		cfg, err := s.load()
		if err != nil {
			return err
		}
		books, err := stack.LoadBook(cfg.Process.PriceBook)
		if err != nil {
			return err
		}
		out, err := books.Explain(*provider, args[0], *tenant, day)
		if err != nil {
			return err
		}
		fmt.Fprint(cmd.OutOrStdout(), out)
		return nil
	}
	return c
}

func pricesImportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "convert LiteLLM's price file into a price book version (YAML on stdout)",
		Long: "Convert LiteLLM's model_prices_and_context_window.json into a unitcost price book version\n" +
			"(YAML on stdout). Per-token costs become exact per-million-token decimals.",
		Example: "  unitcost prices import model_prices_and_context_window.json --effective-from 2026-12-01 > prices.yaml",
		Args:    exactArgs(1, "one FILE, e.g. unitcost prices import model_prices_and_context_window.json"),
	}
	version := c.Flags().String("version", "litellm-"+time.Now().UTC().Format("2006-01-02"), "version name of the book")
	effective := c.Flags().String("effective-from", "", "first day (YYYY-MM-DD) the version prices")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		raw, err := os.ReadFile(args[0])
		if err != nil {
			return fmt.Errorf("read %s: %w", args[0], err)
		}
		y, notes, err := pricing.ImportLiteLLM(raw, *version, *effective)
		if err != nil {
			return err
		}
		for _, n := range notes {
			fmt.Fprintln(os.Stderr, "prices import:", n)
		}
		_, err = cmd.OutOrStdout().Write(y)
		return err
	}
	return c
}

// validatePriceBook loads the configured price book as `prices show` does.
func validatePriceBook(cfg config.Config) error {
	if _, err := stack.LoadBook(cfg.Process.PriceBook); err != nil {
		return fmt.Errorf("process.price_book: %w", err)
	}
	return nil
}
