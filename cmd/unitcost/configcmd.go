package main

import (
	"fmt"
	"os"
)

func runConfig(args []string) error {
	if len(args) == 0 || (args[0] != "validate" && args[0] != "show") {
		fmt.Fprintln(os.Stderr, "Usage: unitcost config validate|show [--config FILE] [settings]\n\n  validate  load the layered configuration and report every invalid field\n  show      print the effective configuration as YAML (secrets masked)")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("want validate or show")
	}
	_, s := newFlags("config "+args[0], "Load defaults, the YAML file, UNITCOST_* variables and flags, in that order.", "")
	if err := s.parse(args[1:]); err != nil {
		return err
	}
	cfg, err := s.load()
	if err != nil {
		return err
	}
	if args[0] == "show" {
		fmt.Print(cfg.YAML())
		return nil
	}
	fmt.Println("configuration is valid")
	return nil
}
