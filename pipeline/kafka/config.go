// Package kafka is unitcost's franz-go wiring: client options (TLS, SASL), the ingest
// producer that writes OTLP traces keyed by trace id, topic creation, dead letters, and
// the consumer-group stage that feeds the stitcher and commits only what is written.
//
// There is no interface around the Kafka client: tests run the same code against kfake
// and a real Apache Kafka broker.
package kafka

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/unitcost/unitcost/pipeline/tlsconf"
)

// SASL configures broker authentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; "" disables SASL.
	Mechanism string `yaml:"mechanism" desc:"SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default none)"`
	Username  string `yaml:"username" desc:"SASL user name"`
	Password  string `yaml:"password" desc:"SASL password (masked by config show)"`
}

// Config is how unitcost reaches Kafka and which topics it uses.
type Config struct {
	// Brokers are seed brokers. Default ["127.0.0.1:19092"] (deploy/local/kafka.sh).
	Brokers []string `yaml:"brokers" desc:"Kafka bootstrap brokers, host:port (default 127.0.0.1:19092)"`
	// SpansTopic receives OTLP traces keyed by trace id. Default "unitcost.spans".
	SpansTopic string `yaml:"spans_topic" desc:"topic ingest produces spans to and process consumes (default unitcost.spans)"`
	// CollectorTopics are topics the OpenTelemetry Collector's kafka exporter writes
	// (otlp_proto or otlp_json, keyed or not); process re-keys them by trace id into
	// SpansTopic. Default ["otlp_spans"].
	CollectorTopics []string `yaml:"collector_topics" desc:"topics an OpenTelemetry Collector's kafka exporter writes, also consumed by process (default otlp_spans)"`
	// DeadLetterTopic receives undecodable records and rejected spans with the reason.
	// Default "unitcost.deadletter".
	DeadLetterTopic string `yaml:"dead_letter_topic" desc:"topic for records that cannot be decoded, with the reason (default unitcost.deadletter)"`
	// Group is the consumer group of `unitcost process`. Default "unitcost-process".
	Group string `yaml:"group" desc:"consumer group of the process instances (default unitcost-process)"`
	// Partitions is used when unitcost creates its topics. Default 8.
	Partitions int32 `yaml:"partitions" desc:"partitions of the spans topic when unitcost creates it (default 8)"`
	// ReplicationFactor is used when unitcost creates its topics. Default 1.
	ReplicationFactor int16 `yaml:"replication_factor" desc:"replication factor of topics unitcost creates (default 1)"`
	// ClientID names this client in broker logs. Default "unitcost".
	ClientID string `yaml:"client_id" desc:"Kafka client id (default unitcost)"`
	// MaxRecordBytes caps one produced record; larger traces are split. Default 900 KiB
	// (below the broker's default message.max.bytes of 1 MiB).
	MaxRecordBytes int `yaml:"max_record_bytes" desc:"largest record ingest produces; bigger traces are split (default 921600)"`
	// SessionTimeout is how long the group waits for a silent member (a crashed
	// process) before giving its partitions to others. Default 45s; the broker bounds it
	// (group.min.session.timeout.ms, 6s by default).
	SessionTimeout time.Duration  `yaml:"session_timeout" desc:"consumer group session timeout (default 45s)"`
	TLS            tlsconf.Config `yaml:"tls" desc:"TLS to the brokers"`
	SASL           SASL           `yaml:"sasl" desc:"SASL authentication to the brokers"`
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{
		Brokers:           []string{"127.0.0.1:19092"},
		SpansTopic:        "unitcost.spans",
		CollectorTopics:   []string{"otlp_spans"},
		DeadLetterTopic:   "unitcost.deadletter",
		Group:             "unitcost-process",
		Partitions:        8,
		ReplicationFactor: 1,
		ClientID:          "unitcost",
		MaxRecordBytes:    900 << 10,
		SessionTimeout:    45 * time.Second,
	}
}

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers: at least one host:port required"))
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			errs = append(errs, fmt.Errorf("kafka.brokers: %q needs a port", b))
		}
	}
	if c.SpansTopic == "" {
		errs = append(errs, errors.New("kafka.spans_topic: required"))
	}
	if c.DeadLetterTopic == "" {
		errs = append(errs, errors.New("kafka.dead_letter_topic: required"))
	}
	for _, t := range c.CollectorTopics {
		if t == c.SpansTopic {
			errs = append(errs, fmt.Errorf("kafka.collector_topics: %q is the spans topic; the Collector must write to a topic of its own", t))
		}
	}
	if c.Group == "" {
		errs = append(errs, errors.New("kafka.group: required"))
	}
	if c.Partitions < 1 {
		errs = append(errs, errors.New("kafka.partitions: must be at least 1"))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, errors.New("kafka.replication_factor: must be at least 1"))
	}
	if c.SessionTimeout < 0 {
		errs = append(errs, errors.New("kafka.session_timeout: must not be negative"))
	}
	if c.MaxRecordBytes < 1024 {
		errs = append(errs, errors.New("kafka.max_record_bytes: must be at least 1024"))
	}
	switch c.SASL.Mechanism {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		errs = append(errs, fmt.Errorf("kafka.sasl.mechanism: %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism))
	}
	if c.SASL.Mechanism != "" && c.SASL.Username == "" {
		errs = append(errs, errors.New("kafka.sasl.username: required with a SASL mechanism"))
	}
	if err := c.TLS.Validate("kafka.tls"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ClientOpts returns the franz-go options for brokers, TLS and SASL.
func (c Config) ClientOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(c.ClientID),
		kgo.ProducerBatchMaxBytes(int32(c.MaxRecordBytes) + 64<<10),
		kgo.RetryTimeout(30 * time.Second),
	}
	tc, err := c.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("kafka tls: %w", err)
	}
	if tc != nil {
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch c.SASL.Mechanism {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha512Mechanism()))
	}
	return opts, nil
}
