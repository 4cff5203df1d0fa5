package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/mailpolicy"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/probes/clients"
	"github.com/tlswarden/tlswarden/probes/vuln"
	"github.com/tlswarden/tlswarden/resolve"
	"github.com/tlswarden/tlswarden/scanner"
)

// scanningFlags are the scanning flags that scan, serve and worker share,
// with one meaning.
type scanningFlags struct {
	caFile       string
	caFileOnly   bool
	revocation   bool
	resolver     string
	resolverQPS  float64
	validating   bool // the resolver validates DNSSEC: trust its AD bit
	timeout      time.Duration
	endpointTime time.Duration
	maxConns     int
	maxEndpoint  int
	maxAddrs     int
	rate         float64
	httpPort     int
	noHTTP       bool
	noGroups     bool
	noVulns      bool
	noIntrusive  bool
	noClients    bool
	// requiredClients are the profile's required clients, simulated
	// first (so their own hellos come first within the budget) and
	// whether or not they are default clients.
	requiredClients []string
	// kindConns and kindSpacing are the politeness per kind, over the
	// scanner's defaults (SMTP: 2 connections, 200ms apart).
	kindConns   *kindValues[int]
	kindSpacing *kindValues[time.Duration]
}

func (f *scanningFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.caFile, "ca-file", "", "also trust the CA certificates in PEM `FILE`, an organisation's own roots, beside the system's public roots (for the endpoints' chains and MTA-STS policy hosts); chains anchored only there are reported as privately anchored and not judged by the CA/Browser Forum's rules")
	fs.BoolVar(&f.revocation, "check-revocation", false, "ask the OCSP responder each certificate names whether it is revoked (its address must be within scope; answers are cached until their nextUpdate, at most an hour)")
	fs.BoolVar(&f.caFileOnly, "ca-file-only", false, "trust only the roots of --ca-file, not the system's (like curl --cacert)")
	fs.StringVar(&f.resolver, "resolver", "", "DNS server `HOST:PORT` (default: from /etc/resolv.conf)")
	fs.Float64Var(&f.resolverQPS, "resolver-qps", resolve.DefaultQueriesPerSecond, "send the resolver at most `N` queries a second (cached answers are free; 0: no limit)")
	fs.BoolVar(&f.validating, "dnssec-validating-resolver", false, "declare that the resolver validates DNSSEC and is reached over a path you trust (such as a local validating resolver): only then is its AD bit taken as proof that TLSA records (DANE) are authentic")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Second, "deadline for each connection and handshake")
	fs.DurationVar(&f.endpointTime, "endpoint-timeout", 2*time.Minute, "deadline for all tests of one endpoint")
	fs.IntVar(&f.maxEndpoint, "max-conns-per-endpoint", 4, "simultaneous connections to one endpoint (address and port)")
	fs.IntVar(&f.maxConns, "max-conns-per-address", 16, "simultaneous connections to one address, over all its ports")
	fs.IntVar(&f.maxAddrs, "max-addresses-per-name", scanner.DefaultMaxAddresses, "scan at most `N` of the addresses one name resolves to (the rest are reported, not scanned)")
	fs.Float64Var(&f.rate, "rate", 0, "open at most `N` connections per second in all (0: no limit)")
	fs.IntVar(&f.httpPort, "http-port", 80, "`PORT` of the plain-HTTP redirect check")
	fs.BoolVar(&f.noHTTP, "no-http", false, "skip the HTTP security-header and plain-HTTP checks")
	fs.BoolVar(&f.noGroups, "no-groups", false, "skip the key-exchange group enumeration (the group each suite was answered with is still reported)")
	fs.BoolVar(&f.noVulns, "no-vulns", false, "skip the weakness probe (Heartbleed, CCS injection, ROBOT, TLS_FALLBACK_SCSV, TLS features)")
	f.kindConns, f.kindSpacing = newKindConns(), newKindSpacing()
	fs.Var(f.kindConns, "kind-conns", "simultaneous connections to one endpoint of a kind, as `KIND=N` pairs (comma-separated, repeatable), such as smtp=1,imap=2; 0 leaves the kind to --max-conns-per-endpoint (default "+describeDefaults(scanner.DefaultKindConns, strconv.Itoa)+")")
	fs.Var(f.kindSpacing, "kind-spacing", "least time between two connections to one endpoint of a kind, as `KIND=DURATION` pairs (comma-separated, repeatable), such as smtp=1s; at most 1m (default "+describeDefaults(scanner.DefaultKindSpacing, time.Duration.String)+")")
	fs.BoolVar(&f.noIntrusive, "no-intrusive", false, "skip the weakness checks that fragile appliances or an IDS may take badly (Heartbleed, CCS injection, ROBOT, CBC padding oracle, client-initiated renegotiation)")
	fs.BoolVar(&f.noClients, "no-clients", false, "skip the client simulation (which real clients connect, computed from the facts, with up to 16 clients' own hellos where the facts do not decide)")
}

// politeness returns the connection caps and spacing per kind that the
// flags ask for, over the scanner's defaults.
func (f *scanningFlags) politeness() (map[tlswarden.Kind]int, map[tlswarden.Kind]time.Duration) {
	if f.kindConns == nil { // flags never registered: a test's literal
		return nil, nil
	}
	return f.kindConns.over(scanner.DefaultKindConns), f.kindSpacing.over(scanner.DefaultKindSpacing)
}

// probeOptions returns the flags' probe settings, trusting roots as well as
// --ca-file.
func (f *scanningFlags) probeOptions(roots []*x509.Certificate, userAgent string) probeOptions {
	return probeOptions{timeout: f.timeout, caFile: f.caFile, caFileOnly: f.caFileOnly, revocation: f.revocation, roots: roots, noHTTP: f.noHTTP, noGroups: f.noGroups,
		noVulns: f.noVulns, noIntrusive: f.noIntrusive, noClients: f.noClients, requiredClients: f.requiredClients,
		httpPort: f.httpPort, userAgent: userAgent}
}

// probeOptions are the probe settings that scan, serve and worker share.
type probeOptions struct {
	timeout    time.Duration
	caFile     string
	caFileOnly bool
	roots      []*x509.Certificate // organisation roots beside --ca-file's (the demo's private CA)
	noHTTP     bool
	noGroups   bool
	// noVulns skips the weakness probe; noIntrusive only its intrusive
	// checks.
	noVulns     bool
	noIntrusive bool
	// noClients skips the client simulation; requiredClients are
	// simulated first, beside the default clients.
	noClients       bool
	requiredClients []string
	httpPort        int
	userAgent       string // empty: the HTTP probe's default
	// revocation turns on online OCSP checks; resolveHost finds a
	// responder's addresses.
	revocation  bool
	resolveHost func(ctx context.Context, host string) ([]netip.Addr, error)
}

// newProbes returns the probes every scan runs, in order. dialPlain opens
// the HTTP probe's plain-HTTP connection; callers pass the scanner's Dial,
// so that it shares the address's connection cap and scope check. The HTTP
// probe concerns https targets only; with --no-http it is listed as
// skipped, so that no verdict passes for HTTP rules nobody checked.
func newProbes(o probeOptions, dialPlain func(context.Context, netip.AddrPort) (net.Conn, error), log *slog.Logger) []tlswarden.Probe {
	httpProbe := probes.HTTP(probes.HTTPConfig{
		Timeout:   2 * o.timeout,
		PlainPort: o.httpPort,
		UserAgent: o.userAgent,
		DialPlain: dialPlain,
		Logger:    log,
	})
	if o.noHTTP {
		httpProbe.Skipped = skippedNoHTTP
	}
	vulnProbe := vuln.Probe(vuln.Config{Timeout: o.timeout, NoIntrusive: o.noIntrusive, Logger: log})
	if o.noVulns {
		vulnProbe.Skipped = "skipped at the user's request (--no-vulns)"
	}
	clientsProbe := clients.Probe(clients.Config{Clients: simulatedClients(o.requiredClients), Timeout: o.timeout, Logger: log})
	if o.noClients {
		clientsProbe.Skipped = "skipped at the user's request (--no-clients)"
	}
	shared := probes.NewShared() // the TLS probe tells the certificate probe which chain hellos would be refused
	return []tlswarden.Probe{
		probes.TLS(probes.TLSConfig{Timeout: o.timeout, NoGroups: o.noGroups, Shared: shared, Logger: log}),
		probes.Cert(probes.CertConfig{OrgRoots: o.roots, CAFile: o.caFile, CAFileOnly: o.caFileOnly, Timeout: 3 * o.timeout, Logger: log,
			Revocation: o.revocationConfig(dialPlain), Shared: shared}),
		vulnProbe,
		httpProbe,
		clientsProbe,
	}
}

// simulatedClients lists the profile's required clients first, then the
// default ones.
func simulatedClients(required []string) []string {
	out := slices.Clone(required)
	for _, id := range clients.DefaultClients() {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// checkRequiredClients fails when a profile requires a client the client
// list does not have (a typo would otherwise never be simulated, and the
// rule stay not evaluated).
func checkRequiredClients(p *policy.Profile) error {
	list := clients.Load()
	var unknown []string
	for _, id := range p.Params.RequiredClients {
		if list.Client(id) == nil {
			unknown = append(unknown, strconv.Quote(id))
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("profile %s: required_clients: %s not in the client list (\"tlswarden clients\" lists them)", p.Name, strings.Join(unknown, ", "))
	}
	return nil
}

// revocationConfig returns the online revocation checks' settings, nil
// when they are off. dial is the scanner's Dial: a responder's address
// must be within the scanner's scope like any other.
func (o probeOptions) revocationConfig(dial func(context.Context, netip.AddrPort) (net.Conn, error)) *probes.RevocationConfig {
	if !o.revocation {
		return nil
	}
	return &probes.RevocationConfig{Dial: dial, Resolve: o.resolveHost, Timeout: o.timeout}
}

// resolveWith adapts a resolver to the revocation checks' lookup of a
// responder's host name.
func resolveWith(r *resolve.Resolver) func(context.Context, string) ([]netip.Addr, error) {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		res, err := r.Resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		var out []netip.Addr
		for _, a := range res.Addresses {
			out = append(out, a.Addr)
		}
		return out, nil
	}
}

// skippedNoHTTP is the reason recorded for the HTTP probe under --no-http.
const skippedNoHTTP = "skipped at the user's request (--no-http)"

// newResolver returns the resolver of /etc/resolv.conf, or of server when
// one is given, sending it at most qps queries a second (0: no cap).
func newResolver(server string, qps float64, log *slog.Logger) (*resolve.Resolver, error) {
	if qps < 0 {
		return nil, fmt.Errorf("--resolver-qps %v: must not be negative", qps)
	}
	if qps == 0 {
		qps = -1 // the resolver's "no cap"
	}
	cfg := resolve.Config{Logger: log, QueriesPerSecond: qps}
	if server != "" {
		cfg.Servers = []string{server}
	}
	r, err := resolve.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("resolver: %w", err)
	}
	return r, nil
}

// checkCAFile fails when --ca-file names a file that cannot be read or
// holds no PEM certificate, so that a typo stops the command at once
// instead of failing the certificate probe of every endpoint.
func checkCAFile(path string, only bool) error {
	if path == "" {
		if only {
			return errors.New("--ca-file-only needs --ca-file")
		}
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--ca-file: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(b) {
		return fmt.Errorf("--ca-file: no PEM certificate in %s", path)
	}
	return nil
}

// mailPolicy looks up mail domains' MTA-STS and TLS-RPT through the
// resolver, fetching policies through dial (the scanner's, under its
// scope) and trusting the roots o names (policyRoots).
func mailPolicy(res *resolve.Resolver, dial func(context.Context, netip.AddrPort) (net.Conn, error), o probeOptions, validating bool) (func(context.Context, *tlswarden.MailResult), error) {
	roots, err := policyRoots(o)
	if err != nil {
		return nil, err
	}
	c := mailpolicy.New(mailpolicy.Config{Resolver: res, Dial: dial, RootCAs: roots, Timeout: 3 * o.timeout, Validating: validating})
	return c.Check, nil
}

// policyRoots is what an MTA-STS policy host's certificate is verified
// against: the system's roots, as sending servers do, and an
// organisation's (--ca-file, the demo's CA) beside them, or those alone
// with --ca-file-only, as the certificate probe trusts them; nil (the
// system's) when no organisation root is given.
func policyRoots(o probeOptions) (*x509.CertPool, error) {
	if o.caFile == "" && len(o.roots) == 0 {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !o.caFileOnly {
		if sys, err := x509.SystemCertPool(); err == nil {
			pool = sys // a copy: adding to it changes no one else's
		} // no system roots: the organisation's alone, as the certificate probe would fail to find any either
	}
	for _, c := range o.roots {
		pool.AddCert(c)
	}
	if o.caFile != "" {
		b, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--ca-file: no PEM certificate in %s", o.caFile)
		}
	}
	return pool, nil
}
