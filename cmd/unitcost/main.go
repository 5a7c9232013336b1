// Command unitcost measures what AI work costs per unit of work: OTLP spans in, through
// Kafka, stitched into workflows, priced, and written to ClickHouse.
package main

import (
	"fmt"
	"os"
)

type command struct {
	name, summary string
	run           func(args []string) error
}

func commands() []command {
	return []command{
		{"demo", "run a realistic workload end to end on embedded Kafka and print the unit economics", runDemo},
		{"dev", "run ingest and process in one process on an embedded Kafka (kfake)", runDev},
		{"ingest", "serve OTLP (gRPC :4317, HTTP :4318) and produce spans to Kafka keyed by trace id", runIngest},
		{"process", "consume spans, stitch workflows, price them and write to ClickHouse", runProcess},
		{"migrate", "create or upgrade the ClickHouse schema", runMigrate},
		{"report", "print cost per completed workflow, per validated output and per exception", runReport},
		{"rollup", "refresh the hourly rollups now (process does it every rollup.interval)", runRollup},
		{"alert", "evaluate cost-per-output drift rules and notify webhooks, Slack or Alertmanager", runAlert},
		{"api", "serve the unit economics as JSON under /api/v1, isolated per tenant token", runAPI},
		{"loadgen", "send a realistic synthetic AI workload over OTLP and write its ground truth", runLoadgen},
		{"whatif", "re-price recorded workflows under another routing, count the review each model causes, recommend", runWhatif},
		{"reprice", "price stored line items again under the configured price book, idempotently", runReprice},
		{"prices", "explain a model's price (show) or import LiteLLM's price file (import)", runPrices},
		{"config", "validate or show the effective configuration", runConfig},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "unitcost - the cost of AI work per unit of work\n\nUsage: unitcost <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun `unitcost <command> --help` for a command's flags. Every setting can come from a YAML\nfile (--config), a UNITCOST_* variable or a flag; see `unitcost config show`.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	for _, c := range commands() {
		if c.name == os.Args[1] {
			if err := c.run(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "unitcost %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "unitcost: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}
