// Package lab captures the reports the policy's golden tests evaluate: it
// starts the lab servers (the testbed's misconfigurations, with a CA the
// certificate probe trusts), scans them with the real scanner and probes,
// and writes one JSON report per case beside this file.
//
// It lives under testdata so that "go test ./..." neither builds nor runs
// it, and the policy package's tests never depend on the probes. Refresh
// the fixtures with:
//
//	go test ./policy/testdata/lab -run TestCaptureLab -capture
//	go test ./policy -run TestGolden -update
package lab

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/scanner"
)

var capture = flag.Bool("capture", false, "scan the lab servers and rewrite the *.report.json fixtures")

// labCase is one lab server: its TLS configuration and response headers.
type labCase struct {
	name    string
	config  func(c *labCerts) *tls.Config
	headers map[string]string
}

type labCerts struct {
	ca                                   *tlstest.CA
	ecdsa, rsa, expired, selfSigned, bad tls.Certificate
}

var secureHeaders = map[string]string{
	"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options":    "nosniff",
	"Referrer-Policy":           "no-referrer",
}

var cases = []labCase{
	{"modern", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.ecdsa}, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}
	}, secureHeaders},
	{"legacy", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.rsa}, CipherSuites: []uint16{
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
			tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA}}
	}, nil},
	{"tls11", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.ecdsa}, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
	}, nil},
	{"no-forward-secrecy", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.rsa}, CipherSuites: []uint16{
			tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}}
	}, map[string]string{"Strict-Transport-Security": "max-age=300"}},
	{"tls13-only", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{c.ecdsa}}
	}, secureHeaders},
	{"expired", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.expired}}
	}, secureHeaders},
	{"self-signed", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.selfSigned}}
	}, nil},
	{"wrong-name", func(c *labCerts) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.bad}}
	}, secureHeaders},
}

func mintCerts(t *testing.T) *labCerts {
	ca := tlstest.NewCA(t, "tlswarden lab CA")
	now := time.Now().Truncate(time.Second)
	issue := func(spec tlstest.CertSpec) tls.Certificate {
		return ca.Issue(t, spec).TLSCertificate(&ca.Cert)
	}
	return &labCerts{
		ca:         ca,
		ecdsa:      issue(tlstest.CertSpec{Key: tlstest.ECDSA256}),
		rsa:        issue(tlstest.CertSpec{Key: tlstest.RSA2048}),
		expired:    issue(tlstest.CertSpec{Key: tlstest.ECDSA256, NotBefore: now.AddDate(0, -4, 0), NotAfter: now.AddDate(0, 0, -10)}),
		selfSigned: tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate(),
		bad: issue(tlstest.CertSpec{Key: tlstest.ECDSA256, DNSNames: []string{"elsewhere.example"},
			IPs: []net.IP{net.IPv4(192, 0, 2, 1)}}),
	}
}

// serve starts one lab case as an HTTPS server on 127.0.0.1.
func serve(t *testing.T, lc labCase, c *labCerts) netip.AddrPort {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range lc.headers {
			w.Header().Set(k, v)
		}
		fmt.Fprintf(w, "tlswarden lab case %q\n", lc.name)
	}))
	srv.TLS = lc.config(c)
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).AddrPort()
}

// closedPort returns a loopback port nothing listens on, for the plain-HTTP
// check.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestCaptureLab(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to rewrite the lab reports")
	}
	certs := mintCerts(t)
	sc, err := scanner.New(scanner.Config{Probes: []tlswarden.Probe{
		probes.TLS(probes.TLSConfig{}),
		probes.Cert(probes.CertConfig{Roots: []*x509.Certificate{certs.ca.Cert.Cert}}),
		probes.HTTP(probes.HTTPConfig{PlainPort: closedPort(t)}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, lc := range cases {
		addr := serve(t, lc, certs)
		r := sc.Scan(t.Context(), tlswarden.Target{Host: addr.Addr().String(), Port: int(addr.Port()), Kind: tlswarden.KindHTTPS})
		if !r.Scanned() {
			t.Errorf("%s: not scanned: %s %s", lc.name, r.Status, r.Error)
		}
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lc.name+".report.json", append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
