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
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/normalize"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/rollup"
	"github.com/unitcost/unitcost/pipeline/stitch"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/tlsconf"
)

// Ingest configures `unitcost ingest`.
type Ingest struct {
	GRPCAddr          string            `yaml:"grpc_addr" desc:"OTLP/gRPC listen address; \"\" disables (default 127.0.0.1:4317)"`
	HTTPAddr          string            `yaml:"http_addr" desc:"OTLP/HTTP listen address; \"\" disables (default 127.0.0.1:4318)"`
	MaxRequestBytes   int64             `yaml:"max_request_bytes" desc:"largest OTLP request accepted, decompressed, in bytes; larger ones get 413 (HTTP) or RESOURCE_EXHAUSTED (gRPC) (default 16777216)"`
	MaxInflightBytes  int64             `yaml:"max_inflight_bytes" desc:"memory of the requests served at once (bodies and decoded form), in bytes, at least twice max_request_bytes plus 88 bytes per max_request_values (what the largest valid request holds); a gRPC export holds twice max_request_bytes while its message is read; a request that does not fit within inflight_wait gets 503 / UNAVAILABLE with a retry hint (default 268435456)"`
	InflightWait      time.Duration     `yaml:"inflight_wait" desc:"how long a request waits for room in max_inflight_bytes before it gets 503 / UNAVAILABLE with a retry hint; with produce_timeout, keep it well under the SDKs' 10s export timeout (default 1s)"`
	MaxAttributeDepth int               `yaml:"max_attribute_depth" desc:"deepest nesting of attribute values (arrays, key-value lists) in a request; deeper requests get 400 / INVALID_ARGUMENT (default 32)"`
	MaxRequestValues  int               `yaml:"max_request_values" desc:"most spans, events, links, attributes and attribute values in one request; more get 400 / INVALID_ARGUMENT (default 1000000)"`
	ProduceTimeout    time.Duration     `yaml:"produce_timeout" desc:"how long a request waits for Kafka's acknowledgement before it is answered 503 / UNAVAILABLE with a retry hint; keep it well under the SDKs' 10s export timeout (default 5s)"`
	MaxBufferedBytes  int64             `yaml:"max_buffered_bytes" desc:"bytes of records waiting for Kafka's acknowledgement; when full, requests get 503 at once (default 268435456)"`
	RetryAfter        time.Duration     `yaml:"retry_after" desc:"retry hint sent with 503 (Retry-After) and UNAVAILABLE (RetryInfo) answers (default 2s)"`
	ShutdownTimeout   time.Duration     `yaml:"shutdown_timeout" desc:"on SIGTERM, how long to wait for Kafka to acknowledge records still buffered (each was answered 503, never acknowledged) (default 10s)"`
	Tokens            map[string]string `yaml:"tokens" desc:"bearer token -> tenant, e.g. tok1=acme,tok2=globex; empty disables authentication; empty tokens or tenants are refused"`
	DefaultTenant     string            `yaml:"default_tenant" desc:"tenant of unauthenticated spans that name none (default none)"`
	TLS               tlsconf.Server    `yaml:"tls" desc:"TLS of the OTLP listeners"`
}

// Admin configures the health and metrics endpoint every long-running command serves
// (admin.Config; its address's default depends on the command, see RoleDefaults).
type Admin = admin.Config

// API configures `unitcost api`, the HTTP JSON API under /api/v1.
type API struct {
	Addr   string            `yaml:"addr" desc:"API listen address (default 127.0.0.1:8080)"`
	Tokens map[string]string `yaml:"tokens" desc:"bearer token -> tenant, e.g. tok1=acme,tok2=*; a token mapped to * sees every tenant; empty: no authentication (loopback only); empty tokens or tenants are refused"`
	TLS    tlsconf.Server    `yaml:"tls" desc:"TLS of the API listener"`
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
		Ingest: Ingest{GRPCAddr: "127.0.0.1:4317", HTTPAddr: "127.0.0.1:4318", MaxRequestBytes: 16 << 20, MaxInflightBytes: 256 << 20,
			MaxAttributeDepth: 32, MaxRequestValues: 1_000_000, ProduceTimeout: 5 * time.Second, MaxBufferedBytes: 256 << 20,
			RetryAfter: 2 * time.Second, ShutdownTimeout: 10 * time.Second, InflightWait: time.Second},
		Process: process.Config{FlushInterval: 250 * time.Millisecond, PollRecords: 10_000,
			Stitch: stitch.Config{}.WithDefaults(), Limits: normalize.DefaultLimits, Outcome: normalize.DefaultOutcomes(),
			MaxSpanDuration: process.DefaultMaxSpanDuration, WriteJobs: process.DefaultWriteJobs},
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
	errs = append(errs, c.Ingest.validate(), c.Admin.TLS.Validate("admin.tls"), c.API.TLS.Validate("api.tls"),
		validateTokens("api.tokens", c.API.Tokens))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q is not debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// largestNeed is the most of ingest.max_inflight_bytes one valid request holds at a time
// (pipeline/otlp): a body of max_request_bytes in a buffer one byte larger, the strings
// pdata copies out of it, and otlp.ValueCost per value. A budget below it would refuse
// such a request even on an idle receiver.
func (in Ingest) largestNeed() int64 {
	return 2*in.MaxRequestBytes + 1 + int64(otlp.ValueCost)*int64(max(in.MaxRequestValues, 0))
}

func (in Ingest) validate() error {
	var errs []error
	if in.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("ingest.max_request_bytes: must be positive"))
	}
	if need := in.largestNeed(); in.MaxInflightBytes < need {
		errs = append(errs, fmt.Errorf("ingest.max_inflight_bytes: %d is below %d, what the largest valid request holds (twice ingest.max_request_bytes %d plus one byte, plus %d B for each of ingest.max_request_values %d); such a request could never be served (a gRPC message being read holds twice its size; a decoded one its body, a copy of its strings and ~%d B per value)",
			in.MaxInflightBytes, need, in.MaxRequestBytes, otlp.ValueCost, in.MaxRequestValues, otlp.ValueCost))
	}
	if in.MaxAttributeDepth < 1 {
		errs = append(errs, errors.New("ingest.max_attribute_depth: must be at least 1"))
	}
	if in.MaxRequestValues < 1 {
		errs = append(errs, errors.New("ingest.max_request_values: must be at least 1"))
	}
	if in.ProduceTimeout <= 0 {
		errs = append(errs, errors.New("ingest.produce_timeout: must be positive (and well under the SDKs' 10s export timeout)"))
	}
	if in.MaxBufferedBytes < in.MaxRequestBytes {
		errs = append(errs, errors.New("ingest.max_buffered_bytes: must be at least ingest.max_request_bytes"))
	}
	if in.RetryAfter < time.Second {
		errs = append(errs, errors.New("ingest.retry_after: must be at least 1s (Retry-After counts whole seconds)"))
	}
	if in.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("ingest.shutdown_timeout: must not be negative"))
	}
	if in.InflightWait < 0 || in.InflightWait+in.ProduceTimeout >= 10*time.Second {
		errs = append(errs, fmt.Errorf("ingest.inflight_wait: %s plus ingest.produce_timeout %s must be under the SDKs' 10s export timeout (and not negative)", in.InflightWait, in.ProduceTimeout))
	}
	errs = append(errs, validateTokens("ingest.tokens", in.Tokens), in.TLS.Validate("ingest.tls"))
	return errors.Join(errs...)
}

// validateTokens refuses empty tokens and empty tenants: an unset ${VAR} would otherwise
// create a token "" or a token whose tenant is "", which sees or writes every tenant.
func validateTokens(setting string, tokens map[string]string) error {
	var errs []error
	for tok, tenant := range tokens {
		if strings.TrimSpace(tok) == "" {
			errs = append(errs, fmt.Errorf("%s: a token is empty (for tenant %q); is its ${VAR} unset?", setting, tenant))
		}
		if strings.TrimSpace(tenant) == "" {
			errs = append(errs, fmt.Errorf("%s: the token ending %q maps to an empty tenant; is its ${VAR} unset?", setting, tail(tok)))
		}
	}
	return errors.Join(errs...)
}

// tail shows the last characters of a secret, enough to find it in the file.
func tail(tok string) string {
	if len(tok) <= 8 {
		return "..."
	}
	return "..." + tok[len(tok)-3:]
}

// YAML renders the configuration (secrets masked) for `unitcost config show`.
func (c Config) YAML() string {
	if c.ClickHouse.Password != "" {
		c.ClickHouse.Password = "***"
	}
	if c.Admin.MetricsToken != "" {
		c.Admin.MetricsToken = "***"
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
