package otlp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/unitcost/unitcost/internal/testenv"
	"github.com/unitcost/unitcost/pipeline/otlp"
	"github.com/unitcost/unitcost/pipeline/tlsconf"
)

// Both OTLP listeners serve TLS, and with a client CA they require a client certificate
// it signed (mutual TLS).
func TestReceiverMutualTLS(t *testing.T) {
	t.Parallel()
	certs := testenv.TestCerts(t)
	tc, err := tlsconf.Server{CertFile: certs.ServerCert, KeyFile: certs.ServerKey, ClientCAFile: certs.CAFile}.Load()
	if err != nil {
		t.Fatal(err)
	}
	sk := &sink{}
	r := startReceiver(t, otlp.ReceiverConfig{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", TLS: tc}, sk)
	pb, _ := otlp.Encode(traces(1))
	client := func(cert bool) *http.Client {
		c := &tls.Config{RootCAs: certs.Pool}
		if cert {
			c.Certificates = []tls.Certificate{certs.Client}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: c}, Timeout: 10 * time.Second}
	}
	url := "https://" + r.HTTPAddr() + "/v1/traces"
	resp, err := client(true).Post(url, "application/x-protobuf", bytes.NewReader(pb))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("https with a client certificate: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := client(false).Post(url, "application/x-protobuf", bytes.NewReader(pb)); err == nil {
		t.Fatal("https without a client certificate was served")
	}
	if resp, err := http.Post("http://"+r.HTTPAddr()+"/v1/traces", "application/x-protobuf", bytes.NewReader(pb)); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain http was served")
		}
	}
	for _, withCert := range []bool{true, false} {
		c := &tls.Config{RootCAs: certs.Pool}
		if withCert {
			c.Certificates = []tls.Certificate{certs.Client}
		}
		cc, err := grpc.NewClient(r.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(c)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out []byte
		err = cc.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &pb, &out, grpc.ForceCodecV2(bytesCodec{}))
		cancel()
		cc.Close()
		if withCert && err != nil {
			t.Fatalf("grpc over mutual TLS: %v", err)
		}
		if !withCert && err == nil {
			t.Fatal("grpc without a client certificate was served")
		}
	}
	if sk.spans != 4 {
		t.Fatalf("sink has %d spans, want 4", sk.spans)
	}
}
