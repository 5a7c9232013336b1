package main

import (
	"fmt"
	"os"
	"time"

	"github.com/unitcost/unitcost/pipeline/pricing"
	"github.com/unitcost/unitcost/pipeline/stack"
)

func runPrices(args []string) error {
	if len(args) == 0 || (args[0] != "show" && args[0] != "import") {
		fmt.Fprintln(os.Stderr, "Usage:\n  unitcost prices show MODEL [--provider P] [--tenant T] [--at YYYY-MM-DD]   explain a model's price\n  unitcost prices import FILE [--version V] [--effective-from YYYY-MM-DD]     LiteLLM's model_prices_and_context_window.json -> price book YAML on stdout")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("want show or import")
	}
	if args[0] == "import" {
		return pricesImport(args[1:])
	}
	fs, s := newFlags("prices show", "Explain how MODEL is priced: the book version in effect, the entry it matches, every\nrate, context and service tiers, and a tenant's own prices and discount.", "")
	provider := fs.String("provider", "", "provider as spans report it (gen_ai.provider.name)")
	tenant := fs.String("tenant", "", "price as this tenant pays it")
	at := fs.String("at", "", "day to price at (default: today)")
	if len(args) < 2 {
		return fmt.Errorf("prices show: which model? (unitcost prices show gpt-4o)")
	}
	model := args[1]
	ss, err := s.start(args[2:])
	if err != nil {
		return err
	}
	defer ss.stop()
	day := time.Now().UTC()
	if *at != "" {
		if day, err = time.Parse("2006-01-02", *at); err != nil {
			return fmt.Errorf("--at: want YYYY-MM-DD: %w", err)
		}
	}
	books, err := stack.LoadBook(ss.cfg.Process.PriceBook)
	if err != nil {
		return err
	}
	out, err := books.Explain(*provider, model, *tenant, day)
	if err != nil {
		return err
	}
	fmt.Print(out)
	return nil
}

func pricesImport(args []string) error {
	fs, s := newFlags("prices import", "Convert LiteLLM's model_prices_and_context_window.json into a unitcost price book version\n(YAML on stdout). Per-token costs become exact per-million-token decimals.", "")
	version := fs.String("version", "litellm-"+time.Now().UTC().Format("2006-01-02"), "version name of the book")
	effective := fs.String("effective-from", "", "first day (YYYY-MM-DD) the version prices")
	if len(args) < 1 {
		return fmt.Errorf("prices import: which file? (unitcost prices import model_prices_and_context_window.json)")
	}
	file := args[0]
	ss, err := s.start(args[1:])
	if err != nil {
		return err
	}
	defer ss.stop()
	raw, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	y, notes, err := pricing.ImportLiteLLM(raw, *version, *effective)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "prices import:", n)
	}
	_, err = os.Stdout.Write(y)
	return err
}
