// Package config is unitcost's one typed configuration: defaults in code, then a YAML
// file (with ${ENV} expansion), then UNITCOST_* environment variables, then flags.
// Validate reports every bad field at once. The package never reads the process
// environment or arguments itself: callers pass them in.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/rollup"
	"github.com/unitcost/unitcost/pipeline/store"
)

// Ingest configures `unitcost ingest`.
type Ingest struct {
	// GRPCAddr is the OTLP/gRPC listen address. Default "127.0.0.1:4317".
	GRPCAddr string `yaml:"grpc_addr"`
	// HTTPAddr is the OTLP/HTTP listen address. Default "127.0.0.1:4318".
	HTTPAddr string `yaml:"http_addr"`
	// MaxRequestBytes caps one request (decompressed). Default 16 MiB.
	MaxRequestBytes int64 `yaml:"max_request_bytes"`
	// Tokens maps bearer tokens to tenants; empty disables authentication.
	// Environment form: UNITCOST_INGEST_TOKENS="tok1=tenantA,tok2=tenantB".
	Tokens map[string]string `yaml:"tokens"`
	// DefaultTenant applies to unauthenticated requests whose spans name no tenant.
	DefaultTenant string `yaml:"default_tenant"`
}

// Admin configures the health and metrics endpoint every long-running command serves.
type Admin struct {
	// Addr serves /healthz, /readyz and /metrics. Default "127.0.0.1:9464"; "" disables.
	Addr string `yaml:"addr"`
}

// API configures `unitcost api`, the HTTP JSON API under /api/v1.
type API struct {
	// Addr is the listen address. Default "127.0.0.1:8080".
	Addr string `yaml:"addr"`
	// Tokens maps bearer tokens to tenants; a token mapped to "*" sees every tenant.
	// Empty: no authentication, every tenant visible (loopback development only).
	// Environment form: UNITCOST_API_TOKENS="tok1=acme,tok2=*".
	Tokens map[string]string `yaml:"tokens"`
}

// Config is everything unitcost reads.
type Config struct {
	Kafka      kafka.Config   `yaml:"kafka"`
	ClickHouse store.Config   `yaml:"clickhouse"`
	Ingest     Ingest         `yaml:"ingest"`
	Process    process.Config `yaml:"process"`
	Rollup     rollup.Config  `yaml:"rollup"`
	Admin      Admin          `yaml:"admin"`
	API        API            `yaml:"api"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
}

// Defaults returns the configuration with every default filled in.
func Defaults() Config {
	return Config{
		Kafka: kafka.Defaults(),
		ClickHouse: store.Config{Addr: []string{"127.0.0.1:19000"}, Database: "unitcost", Username: "default", DialTimeout: 5 * time.Second,
			ReplicaPath: "/clickhouse/tables/{shard}/{db}/{table}"},
		Ingest:   Ingest{GRPCAddr: "127.0.0.1:4317", HTTPAddr: "127.0.0.1:4318", MaxRequestBytes: 16 << 20},
		Process:  process.Config{FlushInterval: 250 * time.Millisecond, PollRecords: 10_000},
		Rollup:   rollup.Defaults(),
		Admin:    Admin{Addr: "127.0.0.1:9464"},
		API:      API{Addr: "127.0.0.1:8080"},
		LogLevel: "info",
	}
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

// Load builds the configuration: defaults, then the YAML file at path (if not ""), then
// UNITCOST_* variables from environ, then overrides (flag path -> value, e.g.
// "kafka.brokers" -> "a:9092,b:9092"). It validates the result.
func Load(path string, environ []string, overrides map[string]string) (Config, error) {
	c := Defaults()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		b = []byte(os.Expand(string(b), func(k string) string { return lookup(environ, k) }))
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, errEOF) {
			return c, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	var errs []error
	for _, f := range Fields(&c) {
		if v, ok := envValue(environ, f.Env); ok {
			if err := f.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f.Env, err))
			}
		}
	}
	byPath := map[string]Field{}
	for _, f := range Fields(&c) {
		byPath[f.Path] = f
	}
	for k, v := range overrides {
		f, ok := byPath[k]
		if !ok {
			errs = append(errs, fmt.Errorf("--%s: no such setting (see `unitcost config show`)", k))
			continue
		}
		if err := f.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", k, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func lookup(environ []string, k string) string {
	v, _ := envValue(environ, k)
	return v
}

func envValue(environ []string, k string) (string, bool) {
	for i := len(environ) - 1; i >= 0; i-- {
		e := environ[i]
		if len(e) > len(k) && e[len(k)] == '=' && e[:len(k)] == k {
			return e[len(k)+1:], true
		}
	}
	return "", false
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
