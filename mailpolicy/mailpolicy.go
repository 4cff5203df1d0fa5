// Package mailpolicy looks up what a mail domain publishes about TLS for
// the mail sent to it: MTA-STS (RFC 8461), the _mta-sts TXT record and
// the policy served over HTTPS, and TLS reporting (RFC 8460). It records
// facts in a tlswarden.MailResult; judging them is the policy's job.
//
// The policy is fetched through the dialer it is given, which the scanner
// makes check every address against its scope, and is bounded in bytes
// and time.
package mailpolicy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Bounds of the policy fetch. RFC 8461 §3.3 lets senders stop at 64 KiB.
const (
	MaxPolicyBytes = 64 << 10
	DefaultTimeout = 15 * time.Second
)

// Resolver looks up TXT records and addresses; *resolve.Resolver is one.
type Resolver interface {
	TXT(ctx context.Context, name string) ([]string, tlswarden.Outcome, error)
	Resolve(ctx context.Context, host string) (*tlswarden.Resolution, error)
	TLSA(ctx context.Context, name string) (*tlswarden.TLSAResult, error)
}

// Config configures a Checker.
type Config struct {
	Resolver Resolver
	// Dial connects to an address; the scanner's Dial checks the scope.
	Dial func(ctx context.Context, addr netip.AddrPort) (net.Conn, error)
	// RootCAs verify the policy host's certificate; nil: the system's.
	RootCAs *x509.CertPool
	// Port is the policy host's HTTPS port; zero means 443. Tests change it.
	Port int
	// Timeout bounds the whole policy fetch; zero means DefaultTimeout.
	Timeout time.Duration
	// Validating declares the resolver a DNSSEC-validating one on a path
	// the user trusts: only then is the AD bit of its TLSA answers taken
	// as authentication (TLSAResult.Authenticated).
	Validating bool
}

// Checker fills in a mail domain's MTA-STS and TLS-RPT facts.
type Checker struct{ cfg Config }

// New returns a Checker for cfg.
func New(cfg Config) *Checker {
	if cfg.Port == 0 {
		cfg.Port = 443
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Checker{cfg: cfg}
}

// Check looks up m.Domain's MTA-STS record and policy and its TLS-RPT
// record, matches m.MX against the policy, and looks up each MX host's
// TLSA records. What fails is recorded in
// m, never returned.
func (c *Checker) Check(ctx context.Context, m *tlswarden.MailResult) {
	m.MTASTS = c.mtaSTS(ctx, m)
	m.TLSRPT = c.tlsRPT(ctx, m.Domain)
	for i := range m.MX {
		m.MX[i].TLSA = c.tlsa(ctx, m.MX[i].Host)
	}
}

// tlsa looks up the DANE records of an MX host's SMTP port (RFC 7672).
func (c *Checker) tlsa(ctx context.Context, host string) *tlswarden.TLSAResult {
	res, _ := c.cfg.Resolver.TLSA(ctx, "_25._tcp."+host) // a failed query is in res
	res.Authenticated = res.AD && c.cfg.Validating && res.Outcome == tlswarden.OutcomeOK
	return res
}

// record returns the one TXT record at name starting with prefix, or why
// there is none usable.
func (c *Checker) record(ctx context.Context, name, prefix string) (string, tlswarden.Outcome, error) {
	txts, outcome, err := c.cfg.Resolver.TXT(ctx, name)
	if err != nil {
		return "", outcome, err
	}
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(t, prefix) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return "", outcome, nil
	case 1:
		return found[0], outcome, nil
	}
	return found[0], outcome, fmt.Errorf("%d records start with %q: senders treat that as none", len(found), prefix)
}

func (c *Checker) mtaSTS(ctx context.Context, m *tlswarden.MailResult) *tlswarden.MTASTSResult {
	res := &tlswarden.MTASTSResult{}
	rec, outcome, err := c.record(ctx, "_mta-sts."+m.Domain, "v=STSv1")
	res.RecordOutcome, res.Record = outcome, rec
	if err == nil && rec != "" {
		res.ID, err = stsRecord(rec)
	}
	if err != nil {
		res.RecordError = err.Error()
	}
	if rec == "" || err != nil {
		return res
	}
	host := "mta-sts." + m.Domain
	res.PolicyURL = "https://" + host + "/.well-known/mta-sts.txt"
	res.Policy, err = c.policy(ctx, host)
	if err != nil {
		res.Policy, res.PolicyError = nil, err.Error()
		return res
	}
	res.MXUnmatched = unmatched(res.Policy, m)
	return res
}

// unmatched lists the MX hosts no pattern of p matches.
func unmatched(p *tlswarden.MTASTSPolicy, m *tlswarden.MailResult) []string {
	var out []string
	for _, h := range m.MX {
		ok := false
		for _, pat := range p.MX {
			ok = ok || mxMatches(pat, h.Host)
		}
		if !ok {
			out = append(out, h.Host)
		}
	}
	return out
}

func (c *Checker) tlsRPT(ctx context.Context, domain string) *tlswarden.TLSRPTResult {
	res := &tlswarden.TLSRPTResult{}
	rec, outcome, err := c.record(ctx, "_smtp._tls."+domain, "v=TLSRPTv1")
	res.RecordOutcome, res.Record = outcome, rec
	if err == nil && rec != "" {
		res.RUA, err = tlsrptRecord(rec)
	}
	if err != nil {
		res.RecordError = err.Error()
	}
	return res
}

// policy fetches and parses the policy at host: HTTPS with a certificate
// valid for host, status 200, no redirect (RFC 8461 §3.3), at most
// MaxPolicyBytes, within the timeout.
func (c *Checker) policy(ctx context.Context, host string) (*tlswarden.MTASTSPolicy, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx, host) },
		TLSClientConfig:   &tls.Config{ServerName: host, RootCAs: c.cfg.RootCAs, MinVersion: tls.VersionTLS12},
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("the policy host redirected: RFC 8461 forbids following it")
	}}
	url := "https://" + net.JoinHostPort(host, strconv.Itoa(c.cfg.Port)) + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("policy request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch policy: %w", err)
	}
	defer resp.Body.Close()
	return readPolicy(resp)
}

func readPolicy(resp *http.Response) (*tlswarden.MTASTSPolicy, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch policy: HTTP status %s, want 200", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	if len(body) > MaxPolicyBytes {
		return nil, fmt.Errorf("policy longer than %d bytes", MaxPolicyBytes)
	}
	p, err := parsePolicy(string(body))
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return p, nil
}

// dial connects to the policy host's addresses in turn through the
// configured dialer, which checks each against the scope.
func (c *Checker) dial(ctx context.Context, host string) (net.Conn, error) {
	res, err := c.cfg.Resolver.Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, a := range res.Addresses {
		conn, err := c.cfg.Dial(ctx, netip.AddrPortFrom(a.Addr.Unmap(), uint16(c.cfg.Port)))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("connect to %s: %w", host, errors.Join(errs...))
}
