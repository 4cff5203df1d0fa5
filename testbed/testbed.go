// Package testbed starts a set of deliberately misconfigured TLS endpoints
// on loopback, so that a newcomer can see tlswarden find real problems with
// no network and no setup: legacy protocol versions, weak suites, no forward
// secrecy, expired and self-signed certificates, missing security headers.
package testbed

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Endpoint is one testbed server.
type Endpoint struct {
	Name        string
	Description string
	// Kind is what the endpoint speaks: https, or smtp for the mail
	// servers.
	Kind tlswarden.Kind
	Addr netip.AddrPort
}

// Testbed is a running set of endpoints. Close stops them.
type Testbed struct {
	Endpoints []Endpoint
	// CA is the testbed's certificate authority: trust it to see the
	// endpoints whose only fault is elsewhere come out compliant.
	CA *x509.Certificate
	// PlainHTTP is the testbed's own plain-HTTP listener, which redirects
	// to HTTPS. The demo points the plain-HTTP check at its port rather
	// than at port 80, so that whatever else listens on 127.0.0.1:80 (a
	// developer's web server) cannot change what the demo reports.
	PlainHTTP netip.AddrPort
	servers   []io.Closer
}

type spec struct {
	name, desc string
	config     func(c *certs) *tls.Config
	headers    map[string]string
}

// Loopback IP addresses serve everything; the certificates name localhost.
var specs = []spec{
	{"modern", "TLS 1.2 and 1.3, ECDHE with AEAD suites only, security headers set",
		func(c *certs) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.valid}, CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}
		}, secureHeaders},
	{"legacy", "TLS 1.0 to 1.2 with CBC, 3DES, RC4 and RSA key exchange; no security headers",
		func(c *certs) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.rsa}, CipherSuites: []uint16{
				tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA,
				tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA}}
		}, nil},
	{"tls11", "TLS 1.1 and 1.2, CBC suites with forward secrecy",
		func(c *certs) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.valid}, CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
		}, nil},
	{"no-forward-secrecy", "TLS 1.2 with RSA key exchange only",
		func(c *certs) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.rsa}, CipherSuites: []uint16{
				tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384}}
		}, map[string]string{"Strict-Transport-Security": "max-age=300"}},
	{"tls13-only", "TLS 1.3 only", func(c *certs) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{c.valid}}
	}, secureHeaders},
	{"expired", "TLS 1.2 and 1.3 with an expired certificate", func(c *certs) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.expired}}
	}, secureHeaders},
	{"self-signed", "TLS 1.2 and 1.3 with a self-signed certificate", func(c *certs) *tls.Config {
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{c.selfSigned}}
	}, nil},
}

var secureHeaders = map[string]string{
	"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
	"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options":    "nosniff",
	"Referrer-Policy":           "no-referrer",
}

// Start mints the certificates and starts every endpoint on 127.0.0.1.
func Start(ctx context.Context, log *slog.Logger) (*Testbed, error) {
	c, err := mintCerts(time.Now())
	if err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tb := &Testbed{CA: c.ca}
	for _, s := range specs {
		ep, srv, err := serve(ctx, s, c, log)
		if err != nil {
			tb.Close()
			return nil, fmt.Errorf("testbed: start %s: %w", s.name, err)
		}
		tb.Endpoints = append(tb.Endpoints, ep)
		tb.servers = append(tb.servers, srv)
	}
	for _, s := range mailSpecs {
		ep, srv, err := serveMail(ctx, s, c, log)
		if err != nil {
			tb.Close()
			return nil, fmt.Errorf("testbed: start %s: %w", s.name, err)
		}
		tb.Endpoints = append(tb.Endpoints, ep)
		tb.servers = append(tb.servers, srv)
	}
	addr, srv, err := servePlain(ctx, log)
	if err != nil {
		tb.Close()
		return nil, fmt.Errorf("testbed: start the plain-HTTP redirect: %w", err)
	}
	tb.PlainHTTP = addr
	tb.servers = append(tb.servers, srv)
	return tb, nil
}

// servePlain starts the plain-HTTP listener every testbed endpoint shares
// (they share 127.0.0.1): it redirects each request to HTTPS on the same
// host, as a well-run site does.
func servePlain(ctx context.Context, log *slog.Logger) (netip.AddrPort, *http.Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
		}),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("testbed plain-HTTP listener stopped", "err", err)
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort(), srv, nil
}

func serve(ctx context.Context, s spec, c *certs, log *slog.Logger) (Endpoint, *http.Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return Endpoint{}, nil, err
	}
	headers := s.headers
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			for k, v := range headers {
				w.Header().Set(k, v)
			}
			fmt.Fprintf(w, "tlswarden testbed endpoint %q\n", s.name)
		}),
		TLSConfig:         s.config(c),
		ReadHeaderTimeout: 5 * time.Second,
		// HTTP/1.1 only: HTTP/2 refuses to start with the legacy suite
		// lists some endpoints deliberately have.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("testbed endpoint stopped", "endpoint", s.name, "err", err)
		}
	}()
	ep := Endpoint{Name: s.name, Description: s.desc, Kind: tlswarden.KindHTTPS, Addr: ln.Addr().(*net.TCPAddr).AddrPort()}
	return ep, srv, nil
}

// Close stops every endpoint.
func (tb *Testbed) Close() error {
	var errs []error
	for _, s := range tb.servers {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
