package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
)

// Server is a listener's TLS configuration: enabled by setting a certificate and key;
// with a client CA, clients must present a certificate it signed (mutual TLS).
type Server struct {
	CertFile     string `yaml:"cert_file" desc:"PEM certificate (chain) the listener serves; with key_file, enables TLS (default: plain TCP)"`
	KeyFile      string `yaml:"key_file" desc:"PEM private key of cert_file"`
	ClientCAFile string `yaml:"client_ca_file" desc:"PEM bundle of CAs; when set, clients must present a certificate signed by one (mutual TLS)"`
}

// Enabled reports whether TLS is configured.
func (s Server) Enabled() bool { return s.CertFile != "" || s.KeyFile != "" }

// Validate reports every inconsistent field, named under prefix.
func (s Server) Validate(prefix string) error {
	var errs []error
	if (s.CertFile == "") != (s.KeyFile == "") {
		errs = append(errs, fmt.Errorf("%s.cert_file and %s.key_file: set both or neither", prefix, prefix))
	}
	if s.ClientCAFile != "" && s.CertFile == "" {
		errs = append(errs, fmt.Errorf("%s.client_ca_file: needs %s.cert_file and %s.key_file (client certificates need TLS)", prefix, prefix, prefix))
	}
	return errors.Join(errs...)
}

// Load builds the server *tls.Config (TLS 1.2 or later), or nil when disabled.
func (s Server) Load() (*tls.Config, error) {
	if !s.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("load server certificate %s: %w", s.CertFile, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	if s.ClientCAFile != "" {
		pem, err := os.ReadFile(s.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("read client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA file %s holds no PEM certificate", s.ClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Listen binds addr and, when TLS is configured, wraps the listener in it.
func (s Server) Listen(addr string) (net.Listener, error) {
	tc, err := s.Load()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tc != nil {
		tc.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}
