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
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/unitcost/unitcost/pipeline/admin"
	"github.com/unitcost/unitcost/pipeline/kafka"
	"github.com/unitcost/unitcost/pipeline/process"
	"github.com/unitcost/unitcost/pipeline/rollup"
	"github.com/unitcost/unitcost/pipeline/store"
	"github.com/unitcost/unitcost/pipeline/tlsconf"
)

// Ingest configures `unitcost ingest`.
type Ingest struct {
	// GRPCAddr is the OTLP/gRPC listen address. Default "127.0.0.1:4317".
	GRPCAddr string `yaml:"grpc_addr" desc:"OTLP/gRPC listen address; \"\" disables (default 127.0.0.1:4317)"`
	// HTTPAddr is the OTLP/HTTP listen address. Default "127.0.0.1:4318".
	HTTPAddr string `yaml:"http_addr" desc:"OTLP/HTTP listen address; \"\" disables (default 127.0.0.1:4318)"`
	// MaxRequestBytes caps one request (decompressed). Default 16 MiB.
	MaxRequestBytes int64 `yaml:"max_request_bytes" desc:"largest request body after decompression; larger ones get 413 (HTTP) or RESOURCE_EXHAUSTED (gRPC) (default 16777216)"`
	// MaxInflightBytes caps the memory of the requests served at once (bodies plus their
	// decoded form); a request that does not fit gets 503 / UNAVAILABLE with a retry hint.
	MaxInflightBytes int64 `yaml:"max_inflight_bytes" desc:"memory of requests being served at once (bodies and decoded form); beyond it requests get 503 / UNAVAILABLE with a retry hint (default 268435456)"`
	// MaxAttributeDepth bounds the nesting of attribute values (arrays, key-value lists).
	MaxAttributeDepth int `yaml:"max_attribute_depth" desc:"deepest nesting of attribute values (arrays, key-value lists) a request may hold; deeper requests get 400 / INVALID_ARGUMENT (default 32)"`
	// MaxRequestValues caps spans, events, links, attributes and values per request.
	MaxRequestValues int `yaml:"max_request_values" desc:"most spans, events, links, attributes and attribute values in one request; more get 400 / INVALID_ARGUMENT (default 1000000)"`
	// ProduceTimeout bounds the wait for Kafka's acknowledgement before answering 503.
	ProduceTimeout time.Duration `yaml:"produce_timeout" desc:"how long a request waits for Kafka's acknowledgement before it is answered 503 / UNAVAILABLE with a retry hint; keep it well under the SDKs' 10s export timeout (default 5s)"`
	// MaxBufferedBytes caps the records waiting for Kafka in the producer.
	MaxBufferedBytes int64 `yaml:"max_buffered_bytes" desc:"bytes of records waiting for Kafka's acknowledgement; when full, requests get 503 at once (default 268435456)"`
	// RetryAfter is the retry hint of 503 / UNAVAILABLE answers.
	RetryAfter time.Duration `yaml:"retry_after" desc:"retry hint sent with 503 (Retry-After) and UNAVAILABLE (RetryInfo) answers (default 2s)"`
	// ShutdownTimeout bounds the final wait for Kafka on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" desc:"on SIGTERM, how long to wait for Kafka to acknowledge records still buffered (each was answered 503, never acknowledged) (default 10s)"`
	// Tokens maps bearer tokens to tenants; empty disables authentication.
	// Environment form: UNITCOST_INGEST_TOKENS="tok1=tenantA,tok2=tenantB".
	Tokens map[string]string `yaml:"tokens" desc:"bearer token -> tenant; empty disables authentication; empty tokens or tenants are refused"`
	// DefaultTenant applies to unauthenticated requests whose spans name no tenant.
	DefaultTenant string `yaml:"default_tenant" desc:"tenant of unauthenticated requests whose spans name none (default: spans choose, else \"default\")"`
	// TLS serves both OTLP listeners over TLS.
	TLS tlsconf.Server `yaml:"tls" desc:"TLS of the OTLP listeners"`
}

// Admin configures the health and metrics endpoint every long-running command serves.
type Admin = admin.Config

// API configures `unitcost api`, the HTTP JSON API under /api/v1.
type API struct {
	// Addr is the listen address. Default "127.0.0.1:8080".
	Addr string `yaml:"addr"`
	// Tokens maps bearer tokens to tenants; a token mapped to "*" sees every tenant.
	// Empty: no authentication, every tenant visible (loopback development only).
	// Environment form: UNITCOST_API_TOKENS="tok1=acme,tok2=*".
	Tokens map[string]string `yaml:"tokens"`
	// TLS serves the API over TLS.
	TLS tlsconf.Server `yaml:"tls" desc:"TLS of the API listener"`
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
		Ingest: Ingest{GRPCAddr: "127.0.0.1:4317", HTTPAddr: "127.0.0.1:4318", MaxRequestBytes: 16 << 20, MaxInflightBytes: 256 << 20,
			MaxAttributeDepth: 32, MaxRequestValues: 1_000_000, ProduceTimeout: 5 * time.Second, MaxBufferedBytes: 256 << 20,
			RetryAfter: 2 * time.Second, ShutdownTimeout: 10 * time.Second},
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
	errs = append(errs, c.Ingest.validate(), c.Admin.TLS.Validate("admin.tls"), c.API.TLS.Validate("api.tls"),
		validateTokens("api.tokens", c.API.Tokens))
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q is not debug, info, warn or error", c.LogLevel))
	}
	return errors.Join(errs...)
}

func (in Ingest) validate() error {
	var errs []error
	if in.MaxRequestBytes <= 0 {
		errs = append(errs, errors.New("ingest.max_request_bytes: must be positive"))
	}
	if in.MaxInflightBytes < in.MaxRequestBytes {
		errs = append(errs, fmt.Errorf("ingest.max_inflight_bytes: %d is below ingest.max_request_bytes %d; no request of the largest size could be served", in.MaxInflightBytes, in.MaxRequestBytes))
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
