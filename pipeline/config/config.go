// Package config is unitcost's one typed configuration: defaults in code, then a YAML
// file (with ${ENV} expansion), then UNITCOST_* environment variables, then flags. Every
// setting's YAML key, variable and flag derive from its struct tags (fields.go); loading
// reports every bad key, value and variable at once, named as the user wrote it
// (load.go). The package never reads the process environment or arguments itself:
// callers pass them in.
package config

import (
	"errors"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/rollup"
	"github.com/unitcost/unitcost/pipeline/stitch"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Ingest configures `unitcost ingest`.
type Ingest struct {
	GRPCAddr        string            `yaml:"grpc_addr" desc:"OTLP/gRPC listen address (default 127.0.0.1:4317)"`
	HTTPAddr        string            `yaml:"http_addr" desc:"OTLP/HTTP listen address (default 127.0.0.1:4318)"`
	MaxRequestBytes int64             `yaml:"max_request_bytes" desc:"largest OTLP request accepted, decompressed, in bytes (default 16777216)"`
	Tokens          map[string]string `yaml:"tokens" desc:"bearer token -> tenant, e.g. tok1=acme,tok2=globex; empty disables authentication"`
	DefaultTenant   string            `yaml:"default_tenant" desc:"tenant of unauthenticated spans that name none (default none)"`
}

// Admin configures the health and metrics endpoint every long-running command serves.
type Admin struct {
	// Addr's default depends on the command (RoleDefaults), so that ingest, process, api
	// and alert run side by side on one machine.
	Addr string `yaml:"addr" desc:"address of /healthz, /readyz and /metrics; \"\" disables (default per command: ingest 127.0.0.1:9464, process :9465, api :9466, alert :9467, dev :9468)"`
}

// API configures `unitcost api`, the HTTP JSON API under /api/v1.
type API struct {
	Addr   string            `yaml:"addr" desc:"API listen address (default 127.0.0.1:8080)"`
	Tokens map[string]string `yaml:"tokens" desc:"bearer token -> tenant, e.g. tok1=acme,tok2=*; a token mapped to * sees every tenant; empty: no authentication (loopback only)"`
}

// Config is everything unitcost reads. Every leaf field has a yaml tag (its key, also
// its flag --a.b.c and its variable UNITCOST_A_B_C) and a desc tag (its help text,
// naming its default); TestEverySettingReachable enforces both.
type Config struct {
	Kafka      kafka.Config   `yaml:"kafka" desc:"Kafka brokers, topics and client security"`
	ClickHouse store.Config   `yaml:"clickhouse" desc:"ClickHouse connection and schema"`
	Ingest     Ingest         `yaml:"ingest" desc:"OTLP receiver"`
	Process    process.Config `yaml:"process" desc:"stitching, pricing and writing"`
	Rollup     rollup.Config  `yaml:"rollup" desc:"hourly rollups"`
	Admin      Admin          `yaml:"admin" desc:"health and metrics endpoint"`
	API        API            `yaml:"api" desc:"HTTP JSON API"`
	LogLevel   string         `yaml:"log_level" desc:"debug, info, warn or error (default info)"`
}

// AdminAddr is the default admin address of each long-running command, distinct so
// that the README's `unitcost ingest &` then `unitcost process &` runs on one machine.
// Other commands get ingest's.
func AdminAddr(role string) string {
	switch role {
	case "process":
		return "127.0.0.1:9465"
	case "api":
		return "127.0.0.1:9466"
	case "alert":
		return "127.0.0.1:9467"
	case "dev":
		return "127.0.0.1:9468"
	}
	return "127.0.0.1:9464"
}

// Defaults returns the configuration with every default filled in, as the ingest
// command sees it (see RoleDefaults).
func Defaults() Config {
	return Config{
		Kafka: kafka.Defaults(),
		ClickHouse: store.Config{Addr: []string{"127.0.0.1:19000"}, Database: "unitcost", Username: "default", DialTimeout: 5 * time.Second,
			ReplicaPath: "/clickhouse/tables/{shard}/{db}/{table}"},
		Ingest: Ingest{GRPCAddr: "127.0.0.1:4317", HTTPAddr: "127.0.0.1:4318", MaxRequestBytes: 16 << 20},
		Process: process.Config{FlushInterval: 250 * time.Millisecond, PollRecords: 10_000,
			Stitch: stitch.Config{}.WithDefaults(), Limits: normalize.DefaultLimits, MaxSpanDuration: process.DefaultMaxSpanDuration},
		Rollup:   rollup.Defaults(),
		Admin:    Admin{Addr: AdminAddr("ingest")},
		API:      API{Addr: "127.0.0.1:8080"},
		LogLevel: "info",
	}
}

// RoleDefaults returns Defaults with the admin address of the named command.
func RoleDefaults(role string) Config {
	c := Defaults()
	c.Admin.Addr = AdminAddr(role)
	return c
}

// Validate reports every bad field at once.
func (c Config) Validate() error {
	var errs []error
	errs = append(errs, c.Kafka.Validate(), c.ClickHouse.Validate(), c.Process.Validate(), c.Rollup.Validate())
	if c.Ingest.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("ingest.max_request_bytes: must be positive"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q is not debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// YAML renders the configuration (secrets masked) for `unitcost config show`.
func (c Config) YAML() string {
	if c.ClickHouse.Password != "" {
		c.ClickHouse.Password = "***"
	}
	if c.Kafka.SASL.Password != "" {
		c.Kafka.SASL.Password = "***"
	}
	mask := func(tokens map[string]string) map[string]string {
		if len(tokens) == 0 {
			return tokens
		}
		masked := map[string]string{}
		for _, tenant := range tokens {
			masked["***"+tenant] = tenant
		}
		return masked
	}
	c.Ingest.Tokens, c.API.Tokens = mask(c.Ingest.Tokens), mask(c.API.Tokens)
	b, _ := yaml.Marshal(c)
	return string(b)
}
