package main

import (
	"encoding/json"
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
		Short: "explain a model's price (show), compare a book with a public catalog (diff), import LiteLLM's price file (import)",
		Args:  cobra.ArbitraryArgs,
		RunE:  subcommandRequired,
	}
	c.AddCommand(pricesShowCmd(), pricesDiffCmd(), pricesImportCmd())
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

func pricesDiffCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "diff BOOK CATALOG",
		Short: "list every rate that differs between a price book and a public catalog, tier by tier",
		Long: "Compare a price book (a YAML file, or \"builtin\") with a public catalog: LiteLLM's\n" +
			"model_prices_and_context_window.json or pydantic's genai-prices data (JSON). Every id the\n" +
			"book prices (names, aliases, Bedrock and Azure regional forms) is priced on both sides by\n" +
			"the rules that price spans, and every rate that differs is listed: standard, batch, flex,\n" +
			"priority, each context tier; input, output, cache read, 5-minute and 1-hour writes.\n" +
			"With --explained, differences listed with a reason in that file are counted, not shown,\n" +
			"and the command fails when any is left (deploy/prices/refresh.sh uses this).",
		Example: "  unitcost prices diff builtin .unitcost/prices/litellm.json\n" +
			"  unitcost prices diff prices.yaml genai-prices.json --explained deploy/prices/explained-differences.yaml",
		Args: exactArgs(2, "a BOOK and a CATALOG, e.g. unitcost prices diff builtin model_prices_and_context_window.json"),
	}
	explained := c.Flags().String("explained", "", "explained-differences YAML: hide the differences it explains, fail on the rest")
	asJSON := c.Flags().Bool("json", false, "print the report as JSON")
	subset := c.Flags().String("write-subset", "", "write the catalog entries compared to this file (a pinned snapshot for tests)")
	at := c.Flags().String("at", "", "compare the book version in effect on this day, YYYY-MM-DD (default: today)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		day := time.Now().UTC()
		if *at != "" {
			var err error
			if day, err = pipeline.ParseTime(*at); err != nil {
				return usageError{fmt.Errorf("--at %w", err)}
			}
		}
		bookPath := args[0]
		if bookPath == "builtin" {
			bookPath = ""
		}
		books, err := stack.LoadBook(bookPath)
		if err != nil {
			return err
		}
		raw, err := os.ReadFile(args[1])
		if err != nil {
			return fmt.Errorf("read catalog: %w", err)
		}
		cat, err := pricing.ReadCatalog(raw)
		if err != nil {
			return err
		}
		var ex []pricing.Explanation
		if *explained != "" {
			b, err := os.ReadFile(*explained)
			if err != nil {
				return fmt.Errorf("read --explained: %w", err)
			}
			if ex, err = pricing.ParseExplanations(b); err != nil {
				return err
			}
		}
		rep := pricing.CompareCatalog(books.At(day), cat, ex)
		if *subset != "" {
			b, err := cat.Subset(rep.Keys)
			if err != nil {
				return err
			}
			if err := os.WriteFile(*subset, b, 0o644); err != nil {
				return fmt.Errorf("--write-subset: %w", err)
			}
		}
		if *asJSON {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			fmt.Fprint(cmd.OutOrStdout(), rep.Text())
		}
		if *explained != "" && (len(rep.Differences) > 0 || len(rep.Stale) > 0) {
			return fmt.Errorf("prices diff: %d unexplained difference(s), %d stale explanation(s): review them, then update the book or %s",
				len(rep.Differences), len(rep.Stale), *explained)
		}
		return nil
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
