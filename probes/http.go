package probes

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tlswarden/tlswarden"
)

// HTTPProbeName is the name of the HTTP probe.
const HTTPProbeName = "http"

// HTTPConfig configures the HTTP probe. Its zero value works.
type HTTPConfig struct {
	// Timeout bounds each request, from connecting to the last body byte
	// read (default 10s, as the MDN HTTP Observatory waits). A run makes at
	// most MaxRedirects+1 GETs and one CORS preflight over HTTPS, and
	// MaxRedirects+1 GETs over plain HTTP; the scanner's endpoint deadline
	// bounds them all.
	Timeout time.Duration
	// MaxBodyBytes caps the body bytes read from each response (default
	// 256 KiB); the rest is not read.
	MaxBodyBytes int64
	// MaxHeaderBytes caps the size of a response's header block (default
	// 64 KiB); a larger one fails the request.
	MaxHeaderBytes int64
	// MaxRedirects caps the redirects followed in one chain (default 5;
	// negative follows none).
	MaxRedirects int
	// UserAgent is sent with every request (default
	// "tlswarden/VERSION (+https://github.com/tlswarden/tlswarden)").
	UserAgent string
	// CORSOrigin is the Origin the CORS preflight sends (default
	// DefaultCORSOrigin). It must be an origin: scheme://host[:port].
	CORSOrigin string
	// SkipPlainHTTP turns off the plain-HTTP check.
	SkipPlainHTTP bool
	// PlainPort is the port of the plain-HTTP check (default 80).
	PlainPort int
	// DialPlain connects to the plain-HTTP port of the endpoint's address.
	// The scanner's DialFunc reaches only the endpoint's own port, so this
	// connection bypasses its per-address cap and count unless the caller
	// supplies a dialer that honours them (default: a net.Dialer bounded by
	// the context). The probe counts it in HTTPResult.Connections.
	DialPlain func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

const (
	defaultHTTPTimeout    = 10 * time.Second
	defaultMaxBodyBytes   = 256 << 10
	defaultMaxHeaderBytes = 64 << 10
	defaultMaxRedirects   = 5
	defaultPlainPort      = 80
)

func (c *HTTPConfig) validate() error {
	var errs []error
	if c.Timeout < 0 {
		errs = append(errs, errors.New("http probe timeout must not be negative"))
	}
	if c.MaxBodyBytes < 0 || c.MaxHeaderBytes < 0 {
		errs = append(errs, errors.New("http probe byte caps must not be negative"))
	}
	if c.CORSOrigin != "" && !isOrigin(c.CORSOrigin) {
		errs = append(errs, fmt.Errorf("http probe CORS origin %q must be scheme://host[:port], without path, query or fragment", c.CORSOrigin))
	}
	if c.PlainPort < 0 || c.PlainPort > 65535 {
		errs = append(errs, errors.New("http probe plain port must be between 1 and 65535 (0 means 80)"))
	}
	return errors.Join(errs...)
}

func (c HTTPConfig) withDefaults() HTTPConfig {
	if c.Timeout == 0 {
		c.Timeout = defaultHTTPTimeout
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = defaultMaxBodyBytes
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = defaultMaxHeaderBytes
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = defaultMaxRedirects
	}
	if c.UserAgent == "" {
		c.UserAgent = defaultUserAgent()
	}
	if c.CORSOrigin == "" {
		c.CORSOrigin = DefaultCORSOrigin
	}
	if c.PlainPort == 0 {
		c.PlainPort = defaultPlainPort
	}
	if c.DialPlain == nil {
		c.DialPlain = func(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr.String())
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// defaultUserAgent names tlswarden and its module version, when the binary
// was built from a tagged module.
func defaultUserAgent() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "tlswarden/" + v + " (+https://github.com/tlswarden/tlswarden)"
}

// HTTP returns the probe named "http". Each run makes one GET of
// https://HOST/ pinned to the endpoint's address (Host and SNI are the
// hostname, or the address for IP targets), follows redirects only on the
// same host and port over HTTPS, and records the redirects, the security
// headers of the response it ends on, the cookies set on the way and the
// HTML's meta policies; sends a CORS preflight to the URL it ended on;
// then it asks plain HTTP on port 80 of the same address whether it
// redirects to HTTPS. An invalid configuration makes every run fail with
// that error.
func HTTP(cfg HTTPConfig) tlswarden.Probe {
	err := cfg.validate()
	p := &httpProbe{cfg: cfg.withDefaults()}
	return tlswarden.Probe{
		Name:  HTTPProbeName,
		Kinds: []tlswarden.Kind{tlswarden.KindHTTPS}, // HTTP is spoken inside https only
		Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
			if err != nil {
				return tlswarden.Observation{}, fmt.Errorf("http probe config: %w", err)
			}
			return p.run(ctx, ep, dial)
		},
	}
}

// httpProbe is the HTTP probe, its configuration's defaults applied.
type httpProbe struct{ cfg HTTPConfig }

// httpRun is one run of the probe on one endpoint.
type httpRun struct {
	cfg  HTTPConfig
	ep   tlswarden.Endpoint
	host string // Host header and SNI
	// ctx ends when the run does: it bounds connections the transport dials
	// on its own, detached from the request that asked for them.
	ctx   context.Context
	conns atomic.Int64
	// modernErr is why crypto/tls's handshake failed, once it did; the
	// run's later connections go straight to zcrypto's.
	modernErr atomic.Pointer[string]
}

// run fetches over HTTPS and sends the CORS preflight, then checks plain
// HTTP. Only the HTTPS fetch can fail the probe; every connection is
// closed when run returns.
func (p *httpProbe) run(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &httpRun{cfg: p.cfg, ep: ep, host: endpointHost(ep), ctx: ctx}
	res := &tlswarden.HTTPResult{}
	err := r.fetchHTTPS(ctx, dial, res)
	if why := r.modernErr.Load(); why != nil {
		res.ModernHandshakeError = *why
	}
	if !p.cfg.SkipPlainHTTP {
		res.Plain = r.checkPlain(ctx)
	}
	res.Connections = int(r.conns.Load())
	r.logResult(res)
	return tlswarden.Observation{HTTP: res}, err
}

// logResult logs what one run found at debug level. The plain-HTTP check's
// failures are facts, never returned, so this is where they are told.
func (r *httpRun) logResult(res *tlswarden.HTTPResult) {
	attrs := []any{"endpoint", r.ep.String(), "probe", HTTPProbeName, "status_code", res.StatusCode,
		"redirects", len(res.Redirects), "redirect_stop", res.RedirectStop, "connections", res.Connections}
	if c := res.CORS; c != nil {
		attrs = append(attrs, "cors_status", c.Status, "cors_error", c.Error, "cors_status_code", c.StatusCode)
	}
	if pl := res.Plain; pl != nil {
		attrs = append(attrs, "plain_status", pl.Status, "plain_error", pl.Error, "plain_https_same_host", pl.FirstRedirectHTTPSSameHost)
	}
	r.cfg.Logger.Debug("http probe done", attrs...)
}

// endpointHost is the name the endpoint is asked for: its hostname, or its
// address for IP targets.
func endpointHost(ep tlswarden.Endpoint) string {
	if ep.Host != "" {
		return ep.Host
	}
	return ep.Addr.Addr().Unmap().String()
}

// fetchHTTPS runs the HTTPS redirect chain and records its facts in res.
// When the chain ends without error, the CORS preflight follows on the
// same transport, so that it reuses the kept-alive connection (or dials
// through dial, like the GETs).
func (r *httpRun) fetchHTTPS(ctx context.Context, dial tlswarden.DialFunc, res *tlswarden.HTTPResult) error {
	start := originURL("https", r.host, r.ep.Addr.Port())
	res.URL = start.String()
	tr := r.httpsTransport(dial)
	defer tr.CloseIdleConnections()
	c, err := r.follow(ctx, tr, start, r.httpsHop, func(f *fetched) {
		res.Cookies = append(res.Cookies, parseCookies(f.header.Values("Set-Cookie"))...)
	})
	res.Redirects, res.RedirectStop = c.redirects, c.stop
	if c.last != nil {
		finalFacts(res, c.last)
	}
	if err != nil {
		return fmt.Errorf("https: %w", err)
	}
	res.CORS = r.preflight(ctx, tr, c.last)
	return nil
}

// finalFacts records what the response a chain ended on says.
func finalFacts(res *tlswarden.HTTPResult, f *fetched) {
	res.FinalURL = f.url.String()
	res.StatusCode, res.Proto = f.status, f.proto
	res.BodyBytes, res.BodyTruncated = int64(len(f.body)), f.truncated
	headerFacts(res, f.header)
	if isHTML(f.header.Get("Content-Type")) {
		res.HTML = parseHTML(f.body)
	}
}

// httpsHop allows a redirect only to HTTPS on the endpoint's own host and
// port: the connection is pinned to the endpoint's address, and other
// hosts are other targets.
func (r *httpRun) httpsHop(u *url.URL) string {
	switch {
	case u.Scheme != "https":
		return "not_https"
	case !sameHost(u.Hostname(), r.host):
		return "off_host"
	case urlPort(u) != r.ep.Addr.Port():
		return "other_port"
	}
	return ""
}

// httpsTransport returns a transport whose every connection goes to the
// endpoint's address through dial, whatever the URL says, and never
// through a proxy.
func (r *httpRun) httpsTransport(dial tlswarden.DialFunc) *http.Transport {
	cfg := &tls.Config{
		ServerName: r.host,
		// Judging the certificate is the certificate probe's job. This one
		// wants the headers whatever certificate is served, so that a bad
		// certificate does not hide them too.
		InsecureSkipVerify: true,
		NextProtos:         []string{"h2", "http/1.1"},
		// Fetch headers from legacy servers too; the TLS probe reports
		// their versions and suites.
		MinVersion:   tls.VersionTLS10,
		CipherSuites: allGoSuites(),
	}
	tr := r.transport()
	tr.DialTLSContext = func(_ context.Context, _, _ string) (net.Conn, error) {
		return r.dialTLS(dial, cfg)
	}
	tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("the HTTPS fetch does not speak plain HTTP")
	}
	tr.ForceAttemptHTTP2 = true
	return tr
}

// transport returns the settings both fetches share.
func (r *httpRun) transport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		MaxConnsPerHost:        1,
		MaxIdleConnsPerHost:    1,
		IdleConnTimeout:        r.cfg.Timeout,
		MaxResponseHeaderBytes: r.cfg.MaxHeaderBytes,
		// Ask for the body as is: it is only scanned for meta tags, and a
		// compressed body would let a small read become a large one.
		DisableCompression: true,
	}
}

// allGoSuites lists every TLS 1.0–1.2 cipher suite crypto/tls implements
// (TLS 1.3 suites are not configurable).
func allGoSuites() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if slices.ContainsFunc(s.SupportedVersions, func(v uint16) bool { return v < tls.VersionTLS13 }) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// connect opens and counts one connection, which is closed when the run
// ends if nothing closed it before.
func (r *httpRun) connect(ctx context.Context, dial tlswarden.DialFunc) (net.Conn, error) {
	r.conns.Add(1)
	conn, err := dial(tlswarden.DialPriority(ctx, chainPriority(httpLeft)))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	context.AfterFunc(r.ctx, func() { conn.Close() })
	return conn, nil
}

// httpsHandshakeError marks a failed TLS handshake, so that the scanner
// reports handshake_error (unless a timeout or a reset explains it).
type httpsHandshakeError struct{ err error }

func (e *httpsHandshakeError) Error() string            { return "tls handshake: " + e.err.Error() }
func (e *httpsHandshakeError) Unwrap() error            { return e.err }
func (e *httpsHandshakeError) Status() tlswarden.Status { return tlswarden.StatusHandshakeError }

// originURL returns scheme://host[:port]/, leaving out the scheme's
// default port.
func originURL(scheme, host string, port uint16) *url.URL {
	h := host
	if strings.Contains(host, ":") {
		h = "[" + host + "]"
	}
	if port != defaultPortOf(scheme) {
		h = net.JoinHostPort(host, strconv.Itoa(int(port)))
	}
	return &url.URL{Scheme: scheme, Host: h, Path: "/"}
}

func defaultPortOf(scheme string) uint16 {
	if scheme == "http" {
		return 80
	}
	return 443
}

// urlPort is the port a URL names, or its scheme's default.
func urlPort(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	return defaultPortOf(u.Scheme)
}

// sameHost compares host names case-insensitively and without a trailing
// dot, and IP addresses by value.
func sameHost(a, b string) bool {
	if x, err := netip.ParseAddr(a); err == nil {
		y, err := netip.ParseAddr(b)
		return err == nil && x.Unmap() == y.Unmap()
	}
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}
