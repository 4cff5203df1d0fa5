// Package resolve turns a hostname into its addresses with DNS, recording
// what DNS said on the way: the CNAME chain, every A and AAAA record with
// its TTL, and how each query type ended (see tlswarden.Resolution).
//
// A Resolver is a stub resolver: it asks the configured recursive servers
// (or those of resolv.conf), in order, with recursion desired and EDNS0, and
// falls back to TCP when an answer is truncated. It follows CNAME chains
// whether the server gives the whole chain in one answer or only the first
// link. Answers are cached for their TTL within the Resolver's lifetime, and
// concurrent lookups of the same name and type share one query.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/pace"
)

// Defaults for the zero fields of a Config.
const (
	DefaultTimeout    = 2 * time.Second
	DefaultAttempts   = 2
	DefaultMaxCNAME   = 8
	DefaultResolvConf = "/etc/resolv.conf"
	// DefaultQueriesPerSecond keeps a scan of a large estate under the
	// per-client limits public recursive resolvers apply (Google Public
	// DNS documents 1,500 queries a second per client address): 100,000
	// names, an A and an AAAA query each, take under seven minutes of it.
	DefaultQueriesPerSecond = 500
)

// Config configures a Resolver. Its zero value asks the servers of
// /etc/resolv.conf with the defaults above.
type Config struct {
	// Servers are the recursive resolvers to ask, in order, each an IP
	// address with an optional port ("192.0.2.53", "192.0.2.53:5353",
	// "[2001:db8::53]:53"). Empty means the nameservers of ResolvConf.
	Servers []string
	// ResolvConf is the file read when Servers is empty; empty means
	// /etc/resolv.conf. Only its nameserver and port are used: names are
	// always looked up as given, without a search list.
	ResolvConf string
	// Timeout bounds one query attempt; zero means 2s.
	Timeout time.Duration
	// Attempts is how many times each server is asked before giving up on
	// it; zero means 2. A server that answers SERVFAIL or REFUSED is not
	// asked again for that name.
	Attempts int
	// MaxCNAME is the longest CNAME chain followed; zero means 8.
	MaxCNAME int
	// QueriesPerSecond caps the queries sent to the servers, across the
	// Resolver, each attempt counted (answers from the cache are not);
	// queries are spaced evenly, 1/QueriesPerSecond apart. Zero means
	// DefaultQueriesPerSecond; negative, no cap.
	QueriesPerSecond float64
	// Logger receives a debug line per failed query attempt; nil discards.
	Logger *slog.Logger
}

// validate says, one sentence per broken rule, what is wrong with c.
func (c Config) validate() error {
	var errs []error
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if c.Attempts < 0 {
		errs = append(errs, errors.New("attempts must not be negative"))
	}
	if c.MaxCNAME < 0 {
		errs = append(errs, errors.New("max CNAME chain length must not be negative"))
	}
	for _, s := range c.Servers {
		if _, err := serverAddr(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Resolver resolves hostnames. It is safe for concurrent use.
type Resolver struct {
	servers  []string
	udp, tcp *dns.Client
	attempts int
	maxCNAME int
	log      *slog.Logger
	now      func() time.Time // the clock of the cache; tests replace it
	cache    *cache
	flights  flights
	pace     *pace.Pacer // nil: no cap
}

// New returns a Resolver for cfg. With no Servers it reads cfg.ResolvConf
// and fails if that file cannot be read or names no nameserver.
func New(cfg Config) (*Resolver, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("resolver config: %w", err)
	}
	servers, err := cfg.servers()
	if err != nil {
		return nil, err
	}
	timeout := cmpOr(cfg.Timeout, DefaultTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{
		servers:  servers,
		udp:      &dns.Client{Net: "udp", Timeout: timeout, UDPSize: ednsSize},
		tcp:      &dns.Client{Net: "tcp", Timeout: timeout},
		attempts: cmpOr(cfg.Attempts, DefaultAttempts),
		maxCNAME: cmpOr(cfg.MaxCNAME, DefaultMaxCNAME),
		log:      log,
		now:      time.Now,
		cache:    newCache(),
		pace:     pace.New(cmpOr(cfg.QueriesPerSecond, DefaultQueriesPerSecond)),
	}, nil
}

// cmpOr returns v, or def when v is zero.
func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// servers returns the configured servers as host:port, or those of the
// resolv.conf file.
func (c Config) servers() ([]string, error) {
	if len(c.Servers) > 0 {
		out := make([]string, len(c.Servers))
		for i, s := range c.Servers {
			ap, _ := serverAddr(s) // checked by validate
			out[i] = ap.String()
		}
		return out, nil
	}
	path := cmpOr(c.ResolvConf, DefaultResolvConf)
	rc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("resolver config: read %s: %w", path, err)
	}
	if len(rc.Servers) == 0 {
		return nil, fmt.Errorf("resolver config: %s names no nameserver", path)
	}
	out := make([]string, len(rc.Servers))
	for i, s := range rc.Servers {
		out[i] = net.JoinHostPort(s, rc.Port)
	}
	return out, nil
}

// serverAddr parses a server given as an IP address with an optional port.
// A name is refused: looking it up would need another resolver.
func serverAddr(s string) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(a, 53), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("server %q must be an IP address with an optional port", s)
	}
	return ap, nil
}

// queryTypes are the types asked for every name, in the order reported.
var queryTypes = []uint16{dns.TypeA, dns.TypeAAAA}

// Resolve returns what DNS says about host, a name in the A-label form of
// tlswarden.NormalizeHostname. It asks for A and AAAA concurrently,
// following CNAME chains. The Resolution is always filled in; the error is
// non-nil, a *Error, only when no address at all was found. An IP literal
// resolves to itself without any query.
func (r *Resolver) Resolve(ctx context.Context, host string) (*tlswarden.Resolution, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return &tlswarden.Resolution{Name: host, Addresses: []tlswarden.Address{{Addr: a.Unmap()}}}, nil
	}
	if _, ok := dns.IsDomainName(host); !ok || host == "" {
		err := &Error{Name: host, Outcome: tlswarden.OutcomeError, Err: errInvalidName}
		return &tlswarden.Resolution{Name: host, Addresses: []tlswarden.Address{}}, err
	}
	results := make([]chased, len(queryTypes))
	var wg sync.WaitGroup
	for i, qtype := range queryTypes {
		wg.Go(func() { results[i] = r.chase(ctx, host, qtype) })
	}
	wg.Wait()
	res := merge(host, results)
	if len(res.Addresses) == 0 {
		return res, failure(host, results)
	}
	return res, nil
}

// merge gathers the per-type results into one Resolution. The chains of A
// and AAAA are normally the same; a link seen only by one is kept too.
func merge(host string, results []chased) *tlswarden.Resolution {
	res := &tlswarden.Resolution{Name: host, Addresses: []tlswarden.Address{}}
	seen := make(map[tlswarden.CNAME]bool)
	for _, c := range results {
		for _, link := range c.chain {
			key := tlswarden.CNAME{Name: link.Name, Target: link.Target}
			if !seen[key] {
				seen[key] = true
				res.Chain = append(res.Chain, link)
			}
		}
		res.Addresses = append(res.Addresses, c.addrs...)
		res.Queries = append(res.Queries, c.result())
	}
	return res
}

// fqdn returns the lower-case, fully qualified form of name used on the wire
// and as cache key.
func fqdn(name string) string { return dns.Fqdn(strings.ToLower(name)) }

// bare returns name without its trailing dot, as names are reported.
func bare(name string) string { return strings.TrimSuffix(name, ".") }
