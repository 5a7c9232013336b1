// Package tlsconf holds TLS settings: the client side shared by the Kafka and ClickHouse
// clients, and the server side of the OTLP, API and admin listeners.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// Config is a client TLS configuration. Disabled by default.
type Config struct {
	Enabled bool `yaml:"enabled" desc:"connect with TLS (default false)"`
	// CAFile is a PEM bundle of CAs to trust instead of the system pool.
	CAFile string `yaml:"ca_file" desc:"PEM bundle of CAs to trust instead of the system pool"`
	// CertFile and KeyFile are a client certificate for mutual TLS.
	CertFile string `yaml:"cert_file" desc:"client certificate (PEM) for mutual TLS"`
	KeyFile  string `yaml:"key_file" desc:"client key (PEM) for mutual TLS"`
	// ServerName overrides the name checked against the server certificate.
	ServerName string `yaml:"server_name" desc:"name checked against the server certificate (default: the host dialled)"`
	// InsecureSkipVerify disables certificate checks (testing only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" desc:"skip certificate checks (testing only; default false)"`
}

// Validate reports every inconsistent field.
func (c Config) Validate(prefix string) error {
	var errs []error
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s.cert_file and %s.key_file: set both or neither", prefix, prefix))
	}
	if !c.Enabled && (c.CAFile != "" || c.CertFile != "") {
		errs = append(errs, fmt.Errorf("%s.enabled: files are set but TLS is disabled", prefix))
	}
	return errors.Join(errs...)
}

// Load builds a *tls.Config, or nil when TLS is disabled.
func (c Config) Load() (*tls.Config, error) {
	if !c.Enabled {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
