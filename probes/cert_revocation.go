package probes

import (
	"bytes"
	"context"
	"crypto/sha256"
	stdx509 "crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/activetime"
)

// RevocationConfig turns on online revocation checks: the certificate
// probe asks the OCSP responder each served leaf names (RFC 6960, over
// HTTP) whether the leaf is revoked. The responder's URL comes from the
// certificate, that is from the server scanned, so every connection goes
// through Dial, which applies the scanner's scope: a certificate cannot
// make tlswarden reach an address it may not scan.
type RevocationConfig struct {
	// Dial connects to a responder's address (the scanner's Dial).
	// Required.
	Dial func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
	// Resolve returns the addresses of a responder's host name; nil
	// queries only responders named by an IP address.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// Timeout bounds one query (default 5s).
	Timeout time.Duration
}

const (
	defaultOCSPTimeout = 5 * time.Second
	maxOCSPResponse    = 64 << 10
	// maxOCSPCacheAge bounds how long an answer is reused, whatever its
	// nextUpdate says.
	maxOCSPCacheAge = time.Hour
	maxOCSPCache    = 4096
)

// ocspCache remembers responders' answers by leaf and URL until their
// nextUpdate (at most maxOCSPCacheAge): one certificate served by many
// endpoints, or scanned again within the hour, is asked about once.
type ocspCache struct {
	mu sync.Mutex
	m  map[string]ocspCached
}

type ocspCached struct {
	check   tlswarden.RevocationCheck
	expires time.Time
}

func (c *ocspCache) get(key string, now time.Time) (tlswarden.RevocationCheck, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		return tlswarden.RevocationCheck{}, false
	}
	return e.check, true
}

func (c *ocspCache) put(key string, rc tlswarden.RevocationCheck, now time.Time) {
	expires := now.Add(maxOCSPCacheAge)
	if !rc.NextUpdate.IsZero() && rc.NextUpdate.Before(expires) {
		expires = rc.NextUpdate
	}
	if rc.Status == "" || !expires.After(now) {
		return // failures are asked again next time
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxOCSPCache {
		c.m = map[string]ocspCached{}
	}
	c.m[key] = ocspCached{rc, expires}
}

// checkRevocations asks the OCSP responder of every chain's leaf; ders
// maps a leaf's SHA-256 to its chain as served.
func (p *certProbe) checkRevocations(ctx context.Context, res *tlswarden.CertResult, ders map[string][][]byte, roots *rootStore) {
	for _, cr := range res.Chains() {
		leaf := cr.Leaf()
		if leaf == nil || leaf.ParseError != "" || len(ders[leaf.SHA256]) == 0 {
			continue
		}
		rc := p.revocation(ctx, ders[leaf.SHA256], roots)
		cr.Revocation = &rc
	}
}

// servedDERs maps each served leaf's SHA-256 to its chain as served.
func servedDERs(hs handshakeResult, chains []servedChain) map[string][][]byte {
	m := map[string][][]byte{}
	for _, s := range chains {
		m[s.leafSHA256()] = s.flight.Certificates
	}
	if len(hs.chain) > 0 {
		sum := sha256.Sum256(hs.chain[0])
		m[hex.EncodeToString(sum[:])] = hs.chain
	}
	return m
}

// revocation returns the responder's answer for the leaf of chain.
func (p *certProbe) revocation(ctx context.Context, chain [][]byte, roots *rootStore) tlswarden.RevocationCheck {
	leaf, err := stdx509.ParseCertificate(chain[0])
	if err != nil {
		return tlswarden.RevocationCheck{Error: "leaf: " + err.Error()}
	}
	if len(leaf.OCSPServer) == 0 {
		return tlswarden.RevocationCheck{} // no responder named: nothing to ask
	}
	rc := tlswarden.RevocationCheck{URL: leaf.OCSPServer[0]}
	issuer := findIssuer(leaf, chain[1:], roots)
	if issuer == nil {
		rc.Error = "the leaf's issuer is neither served nor a trusted root: no OCSP request can be made"
		return rc
	}
	sum := sha256.Sum256(chain[0])
	key := string(sum[:]) + rc.URL
	if cached, ok := p.ocsp.get(key, p.cfg.Now()); ok {
		cached.Cached = true
		return cached
	}
	p.queryOCSP(ctx, &rc, leaf, issuer)
	p.ocsp.put(key, rc, p.cfg.Now())
	return rc
}

// findIssuer returns the served certificate or trusted root that signed
// the leaf.
func findIssuer(leaf *stdx509.Certificate, served [][]byte, roots *rootStore) *stdx509.Certificate {
	candidates := served
	if roots != nil {
		for _, i := range roots.bySubject[string(leaf.RawIssuer)] {
			candidates = append(candidates[:len(candidates):len(candidates)], roots.der[i])
		}
	}
	for _, der := range candidates {
		c, err := stdx509.ParseCertificate(der)
		if err == nil && leaf.CheckSignatureFrom(c) == nil {
			return c
		}
	}
	return nil
}

// queryOCSP posts an OCSP request for leaf to rc.URL and records the
// answer in rc.
func (p *certProbe) queryOCSP(ctx context.Context, rc *tlswarden.RevocationCheck, leaf, issuer *stdx509.Certificate) {
	der, err := p.postOCSP(ctx, rc.URL, leaf, issuer)
	if err != nil {
		rc.Error = err.Error()
		return
	}
	resp, err := ocsp.ParseResponseForCert(der, leaf, issuer)
	if err != nil {
		rc.Error = fmt.Sprintf("OCSP response from %s: %v", rc.URL, err)
		return
	}
	rc.SignatureVerified = true // ParseResponseForCert checked it against issuer
	rc.Status = ocspStatus(resp.Status)
	rc.ThisUpdate, rc.NextUpdate, rc.RevokedAt = resp.ThisUpdate.UTC(), resp.NextUpdate.UTC(), resp.RevokedAt.UTC()
}

// postOCSP sends the request (RFC 6960 A.1, POST) and returns the
// response's bytes, at most maxOCSPResponse of them.
func (p *certProbe) postOCSP(ctx context.Context, rawURL string, leaf, issuer *stdx509.Certificate) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OCSP responder %q: not an http or https URL", rawURL)
	}
	// SHA-1 CertIDs (the default), which every responder understands
	// (RFC 5019 2.1.1).
	req, err := ocsp.CreateRequest(leaf, issuer, nil)
	if err != nil {
		return nil, fmt.Errorf("OCSP request: %w", err)
	}
	ctx, cancel := activetime.WithTimeout(ctx, p.revocationTimeout())
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("OCSP request to %s: %w", rawURL, err)
	}
	hr.Header.Set("Content-Type", "application/ocsp-request")
	resp, err := p.ocspClient().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("OCSP responder %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("OCSP responder %s: HTTP status %d", rawURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOCSPResponse+1))
	if err != nil {
		return nil, fmt.Errorf("OCSP responder %s: %w", rawURL, err)
	}
	if len(body) > maxOCSPResponse {
		return nil, fmt.Errorf("OCSP responder %s: response over %d bytes", rawURL, maxOCSPResponse)
	}
	return body, nil
}

func (p *certProbe) revocationTimeout() time.Duration {
	if t := p.cfg.Revocation.Timeout; t > 0 {
		return t
	}
	return defaultOCSPTimeout
}

// ocspClient is an HTTP client that reaches responders only through the
// configured Dial (no proxy from the environment, no redirects).
func (p *certProbe) ocspClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: p.dialResponder, DisableKeepAlives: true,
			MaxResponseHeaderBytes: 16 << 10},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialResponder connects to host:port through Resolve and Dial.
func (p *certProbe) dialResponder(ctx context.Context, _, hostport string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portStr, err)
	}
	addrs, err := p.responderAddrs(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, a := range addrs {
		c, err := p.cfg.Revocation.Dial(ctx, netip.AddrPortFrom(a.Unmap(), uint16(port)))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (p *certProbe) responderAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if p.cfg.Revocation.Resolve == nil {
		return nil, fmt.Errorf("responder %s: no resolver for host names", host)
	}
	addrs, err := p.cfg.Revocation.Resolve(ctx, host)
	if err == nil && len(addrs) == 0 {
		err = fmt.Errorf("responder %s: no address", host)
	}
	return addrs, err
}
