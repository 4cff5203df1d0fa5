// Package scanner runs probes against every endpoint of a set of targets with
// bounded concurrency: it resolves each target's name, turns every address
// into an endpoint, hands each probe a dialer that caps simultaneous
// connections per address and counts them, and turns what went wrong into a
// Status. It knows nothing of what the probes measure.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/activetime"
	"github.com/tlswarden/tlswarden/internal/pace"
)

// Resolver turns a hostname into its addresses. *resolve.Resolver is one.
type Resolver interface {
	Resolve(ctx context.Context, host string) (*tlswarden.Resolution, error)
}

// Scope decides whether an address may be dialed; *scope.Policy is one.
// Check returns nil to allow the connection, or an error, ideally one whose
// Status method says out_of_scope, to refuse it.
type Scope interface {
	Check(addr netip.Addr) error
}

// Config configures a Scanner. Its zero value works, apart from needing a
// Resolver for targets given by name.
type Config struct {
	Resolver Resolver
	Probes   []tlswarden.Probe
	// Concurrency caps the targets scanned at once. Zero leaves it to the
	// connection budget, which admits a target while it has connections to
	// spare (see MaxInFlight).
	Concurrency int
	// MaxInFlight caps the connections in flight across everything the
	// Scanner scans. Within it an adaptive budget grows while connections
	// are answered and halves on timeouts and resets, as TCP's congestion
	// window does. Zero derives the cap from the open-file limit and the
	// memory (see DefaultMaxInFlight).
	MaxInFlight int
	// MaxConnsPerEndpoint caps simultaneous connections to one endpoint,
	// an address and port (default 4): single-threaded servers with short
	// listen queues drop SYNs beyond a few, and every drop costs a
	// one-second retransmit.
	MaxConnsPerEndpoint int
	// MaxConnsPerAddr caps simultaneous connections to one address over all
	// its ports (default 16): many names and ports often share one address
	// (a load balancer, a CDN edge, a host serving several services), and
	// together they should not see more than this.
	MaxConnsPerAddr int
	// MaxConnsPerSecond caps the TCP connections the Scanner opens per
	// second, across everything it scans (0: no cap). Connections are
	// spaced evenly, 1/MaxConnsPerSecond apart, so that no burst reaches a
	// server or a firewall at once.
	MaxConnsPerSecond float64
	// MaxAddresses caps the addresses (endpoints) one name expands to
	// (default 64): a registry anyone may write to must not turn one
	// name whose DNS answers with thousands of records into as many
	// scans. The addresses past the cap are counted in the resolution.
	MaxAddresses int
	// Scope, when set, is asked about every address right before it is
	// dialed: the resolved address itself, never a name that could resolve
	// elsewhere by then. An endpoint whose address it refuses is reported
	// with the refusal's status (out_of_scope for *scope.Policy) and gets no
	// connection. Nil allows every address: for the one-shot scan run by a
	// person who chose the targets.
	Scope Scope
	// Preambles returns the exchange that comes before TLS on targets of
	// a kind (preamble.For), nil for TLS on connect. Nil Preambles: no
	// kind has one, and STARTTLS targets are reported as errors.
	Preambles func(tlswarden.Kind) tlswarden.Preamble
	// KindConns caps simultaneous connections to one endpoint of a kind
	// below MaxConnsPerEndpoint; nil means DefaultKindConns (2 for SMTP).
	KindConns map[tlswarden.Kind]int
	// KindSpacing is the least time between two connections to one
	// endpoint of a kind; nil means DefaultKindSpacing.
	KindSpacing map[tlswarden.Kind]time.Duration
	// MailPolicy, when set, looks up what a mail domain publishes about
	// TLS (MTA-STS, TLS-RPT: mailpolicy.Checker's Check) while its MX
	// hosts are scanned, and records it in the report's mail facts. It
	// must connect through Dial, so that the scope covers it.
	MailPolicy func(ctx context.Context, m *tlswarden.MailResult)
	// ConnectTimeout bounds each TCP connect (default 5s).
	ConnectTimeout time.Duration
	// EndpointTimeout bounds all probes of one endpoint (default 2m).
	EndpointTimeout time.Duration
	Logger          *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) validate() error {
	var errs []error
	if c.Concurrency < 0 {
		errs = append(errs, errors.New("concurrency must not be negative"))
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, errors.New("max connections in flight must not be negative"))
	}
	if c.MaxConnsPerEndpoint < 0 {
		errs = append(errs, errors.New("max connections per endpoint must not be negative"))
	}
	if c.MaxConnsPerAddr < 0 {
		errs = append(errs, errors.New("max connections per address must not be negative"))
	}
	if c.MaxAddresses < 0 {
		errs = append(errs, errors.New("max addresses per name must not be negative"))
	}
	if c.MaxConnsPerSecond < 0 {
		errs = append(errs, errors.New("max connections per second must not be negative"))
	}
	if c.ConnectTimeout < 0 || c.EndpointTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	for _, p := range c.Probes {
		if p.Name == "" || (p.Run == nil) == (p.Derive == nil) {
			errs = append(errs, errors.New("every probe needs a name and one of Run and Derive"))
		}
	}
	return errors.Join(errs...)
}

// Scanner scans targets. It is safe for concurrent use; connections to one
// endpoint and to one address are capped across everything it scans at
// once.
type Scanner struct {
	cfg    Config
	log    *slog.Logger
	dialer net.Dialer

	// mu guards the connection caps of the endpoints and addresses in
	// use (see hold) and the endpoints known to take one connection at a
	// time.
	mu         sync.Mutex
	perIP      map[netip.Addr]*addrSlots
	perPort    map[netip.AddrPort]*endpointSlots
	oneAtATime map[netip.AddrPort]struct{}
	pace       *pace.Pacer // nil: no rate cap
	budget     *budget

	conns atomic.Int64
}

// New returns a Scanner, or an error naming each invalid setting.
func New(cfg Config) (*Scanner, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("scanner config: %w", err)
	}
	if cfg.MaxConnsPerEndpoint == 0 {
		cfg.MaxConnsPerEndpoint = 4
	}
	if cfg.MaxConnsPerAddr == 0 {
		cfg.MaxConnsPerAddr = 16
	}
	if cfg.MaxAddresses == 0 {
		cfg.MaxAddresses = DefaultMaxAddresses
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.EndpointTimeout == 0 {
		cfg.EndpointTimeout = 2 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KindConns == nil {
		cfg.KindConns = DefaultKindConns
	}
	if cfg.KindSpacing == nil {
		cfg.KindSpacing = DefaultKindSpacing
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight()
	}
	if cfg.Concurrency == 0 {
		// Every target needs a connection to make progress.
		cfg.Concurrency = cfg.MaxInFlight
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scanner{
		cfg:        cfg,
		log:        log,
		perIP:      make(map[netip.Addr]*addrSlots),
		perPort:    make(map[netip.AddrPort]*endpointSlots),
		oneAtATime: make(map[netip.AddrPort]struct{}),
		pace:       pace.New(cfg.MaxConnsPerSecond),
		budget:     newBudget(cfg.MaxInFlight, cfg.Concurrency, cfg.MaxConnsPerEndpoint),
	}
	// No TCP keep-alive: a probe's connection lives for seconds at most,
	// and turning it on costs four setsockopt calls per connection.
	s.dialer = net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: -1, ControlContext: s.controlScope}
	return s, nil
}

// Connections returns the number of TCP connections opened so far.
func (s *Scanner) Connections() int64 { return s.conns.Load() }

// ScanAll scans targets, as many at a time as the connection budget
// admits (at most Concurrency), and calls emit with each
// report as it completes (from one goroutine at a time, in completion
// order). It returns when every target is done or ctx is canceled; targets
// not started by then are reported as canceled.
func (s *Scanner) ScanAll(ctx context.Context, targets []tlswarden.Target, emit func(*tlswarden.Report)) {
	var mu sync.Mutex
	g := new(errgroup.Group)
	g.SetLimit(s.cfg.Concurrency)
	for _, t := range targets {
		g.Go(func() error {
			r := s.Scan(ctx, t)
			mu.Lock()
			defer mu.Unlock()
			emit(r)
			return nil
		})
	}
	_ = g.Wait() // goroutines never return errors: a failed scan is a report
}

// Scan resolves one target and runs every probe on each of its endpoints,
// once the connection budget admits it (so a job that calls it waits its
// turn there). It always returns a report; what failed is recorded in it.
func (s *Scanner) Scan(ctx context.Context, t tlswarden.Target) *tlswarden.Report {
	tk, err := s.budget.admit(ctx)
	if err != nil {
		now := s.cfg.Now().UTC()
		return &tlswarden.Report{Schema: tlswarden.ReportSchema, Target: t, Started: now, Finished: now, Status: tlswarden.StatusCanceled, Error: err.Error()}
	}
	defer s.budget.finish(tk)
	ctx = withTicket(ctx, tk)
	r := &tlswarden.Report{Schema: tlswarden.ReportSchema, Target: t, Started: s.cfg.Now().UTC(), Status: tlswarden.StatusOK}
	defer func() { r.Finished = s.cfg.Now().UTC() }()
	kind, eps, err := s.targetEndpoints(ctx, t, r)
	if err != nil {
		r.Status, r.Error = StatusOf(err), err.Error()
		s.log.Info("target not scanned", "target", t.String(), "status", r.Status, "err", err)
		return r
	}
	r.Endpoints = make([]tlswarden.EndpointReport, len(eps))
	var wg sync.WaitGroup
	if r.Mail != nil && !r.Mail.NullMX && s.cfg.MailPolicy != nil {
		wg.Go(func() { s.cfg.MailPolicy(ctx, r.Mail) })
	}
	for i, ep := range eps {
		wg.Go(func() { r.Endpoints[i] = s.scanEndpoint(ctx, ep, kind) })
	}
	wg.Wait()
	return r
}

// targetEndpoints returns the kind the target's endpoints speak and the
// endpoints: a mail domain's are its mail servers, speaking SMTP.
func (s *Scanner) targetEndpoints(ctx context.Context, t tlswarden.Target, r *tlswarden.Report) (tlswarden.Kind, []tlswarden.Endpoint, error) {
	if t.Kind == tlswarden.KindMail {
		eps, err := s.mailEndpoints(ctx, t, r)
		return tlswarden.KindSMTP, eps, err
	}
	eps, err := s.endpoints(ctx, t, r)
	return t.Kind, eps, err
}

// endpoints turns a target into its endpoints: one per resolved address, or
// the literal address itself.
func (s *Scanner) endpoints(ctx context.Context, t tlswarden.Target, r *tlswarden.Report) ([]tlswarden.Endpoint, error) {
	if t.Port < 1 || t.Port > 65535 {
		return nil, fmt.Errorf("target %s: port out of range", t)
	}
	if a, err := netip.ParseAddr(t.Host); err == nil {
		return []tlswarden.Endpoint{{Addr: netip.AddrPortFrom(a.Unmap(), uint16(t.Port))}}, nil
	}
	if s.cfg.Resolver == nil {
		return nil, fmt.Errorf("target %s: no resolver configured for a hostname", t)
	}
	res, err := s.cfg.Resolver.Resolve(ctx, t.Host)
	r.Resolution = res
	if err != nil {
		return nil, &dnsError{err: err}
	}
	var eps []tlswarden.Endpoint
	seen := make(map[netip.Addr]bool)
	for _, a := range res.Addresses {
		addr := a.Addr.Unmap()
		if seen[addr] {
			continue
		}
		seen[addr] = true
		eps = append(eps, tlswarden.Endpoint{Host: t.Host, Addr: netip.AddrPortFrom(addr, uint16(t.Port))})
	}
	if len(eps) == 0 {
		return nil, &dnsError{err: fmt.Errorf("resolve %s: no addresses", t.Host)}
	}
	if len(eps) > s.cfg.MaxAddresses {
		res.AddressesOmitted = len(eps) - s.cfg.MaxAddresses
		s.log.Warn("name has more addresses than the cap; the rest are not scanned", "target", t.String(),
			"addresses", len(eps), "max_addresses", s.cfg.MaxAddresses)
		eps = eps[:s.cfg.MaxAddresses]
	}
	return eps, nil
}

// DefaultMaxAddresses is the default of Config.MaxAddresses.
const DefaultMaxAddresses = 64

// dnsError marks a resolution failure so that StatusOf reports dns_error.
type dnsError struct{ err error }

func (e *dnsError) Error() string { return e.err.Error() }
func (e *dnsError) Unwrap() error { return e.err }

// scanEndpoint runs the probes on one endpoint, all at once: they share
// the endpoint's connection cap, and a probe's network waits overlap the
// others' work, so an endpoint takes about as long as its slowest probe. A
// failed probe is recorded; the others still run. The report lists the
// probes, and takes the first failure's status, in the configured order.
// Probes that do not concern the target's kind are left out; those the
// user skipped are listed as skipped without running. Derive probes run
// after the others, one at a time, each with the facts gathered before it.
func (s *Scanner) scanEndpoint(ctx context.Context, ep tlswarden.Endpoint, kind tlswarden.Kind) tlswarden.EndpointReport {
	start := time.Now()
	er := tlswarden.EndpointReport{Endpoint: ep, Status: tlswarden.StatusOK}
	if err := s.checkScope(ep.Addr.Addr()); err != nil {
		er.Status, er.Error = StatusOf(err), err.Error()
		s.log.Info("endpoint out of scope", "endpoint", ep.String(), "status", er.Status, "err", err)
		return er
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.EndpointTimeout) // wall time: the hard bound
	defer cancel()
	ctx = activetime.WithMeter(ctx, new(activetime.Meter))
	var conns atomic.Int64
	slots := s.hold(ep.Addr) // what the endpoint's dials learn lasts the scan, between connections too
	defer s.drop(slots)
	epDial, stopAhead := s.endpointDialFunc(slots, &conns, s.connectsAhead(kind))
	kd := s.kindDialer(epDial, ep, kind)
	dial := kd.dial
	list := s.probesFor(kind)
	if !s.serviceStep(ctx, kd, &er) {
		list = nil
	}
	obs := make([]tlswarden.Observation, len(list))
	statuses := make([]tlswarden.ProbeStatus, len(list))
	var wg sync.WaitGroup
	for i, p := range list {
		switch {
		case p.Skipped != "":
			statuses[i] = tlswarden.ProbeStatus{Name: p.Name, Status: tlswarden.StatusSkipped, Error: p.Skipped}
		case p.Run != nil:
			wg.Go(func() { obs[i], statuses[i] = s.runProbe(ctx, p, ep, dial, nil) })
		}
	}
	wg.Wait()
	for i := range list {
		er.Merge(obs[i]) // every Run probe's facts before any Derive probe runs
	}
	for i, p := range list {
		if p.Run == nil && p.Skipped == "" {
			obs[i], statuses[i] = s.runProbe(ctx, p, ep, dial, &er)
			er.Merge(obs[i])
		}
	}
	for _, ps := range statuses {
		er.Probes = append(er.Probes, ps)
		if failed(ps.Status) && er.Status == tlswarden.StatusOK {
			er.Status, er.Error = ps.Status, ps.Error
		}
	}
	if rl := kd.limited.Load(); rl != nil {
		er.Status, er.Error = tlswarden.StatusRateLimited, rl.Error()
	}
	stopAhead()
	er.Connections = int(conns.Load())
	er.OneConnectionAtATime = slots.serial.Load()
	er.DurationMS = time.Since(start).Milliseconds()
	s.log.Debug("endpoint scanned", "endpoint", ep.String(), "status", er.Status, "connections", er.Connections, "duration_ms", er.DurationMS)
	return er
}

// probesFor returns the configured probes that concern kind, in order.
func (s *Scanner) probesFor(kind tlswarden.Kind) []tlswarden.Probe {
	var out []tlswarden.Probe
	for _, p := range s.cfg.Probes {
		if p.Concerns(kind) {
			out = append(out, p)
		}
	}
	return out
}

// failed reports whether a probe's status is a failure of the endpoint: a
// probe the user skipped is not.
func failed(st tlswarden.Status) bool {
	return st != tlswarden.StatusOK && st != tlswarden.StatusSkipped
}

// runProbe runs one probe under its own timeout, if it has one, and
// returns what it observed and how it ended. facts are the endpoint's
// facts so far, for a Derive probe. The timeout counts active time only:
// not the time the endpoint's dials wait in the process's own queue (its
// budget, its pace), which under load can outlast the timeout while
// the server has not been asked anything yet. The endpoint's timeout
// stays a bound in wall time.
func (s *Scanner) runProbe(ctx context.Context, p tlswarden.Probe, ep tlswarden.Endpoint, dial tlswarden.DialFunc, facts *tlswarden.EndpointReport) (tlswarden.Observation, tlswarden.ProbeStatus) {
	start := time.Now()
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = activetime.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	obs, err := safeRun(ctx, p, ep, dial, facts)
	ps := tlswarden.ProbeStatus{Name: p.Name, Status: tlswarden.StatusOK, DurationMS: time.Since(start).Milliseconds()}
	if err != nil {
		ps.Status, ps.Error = StatusOf(err), err.Error()
		s.log.Debug("probe failed", "endpoint", ep.String(), "probe", p.Name, "status", ps.Status, "err", err)
	}
	return obs, ps
}

// safeRun turns a probe's panic into an error, so one bad server or probe
// bug cannot take the whole run down.
func safeRun(ctx context.Context, p tlswarden.Probe, ep tlswarden.Endpoint, dial tlswarden.DialFunc, facts *tlswarden.EndpointReport) (obs tlswarden.Observation, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("probe %s panicked: %v", p.Name, v)
		}
	}()
	if p.Run == nil {
		return p.Derive(ctx, ep, dial, facts)
	}
	return p.Run(ctx, ep, dial)
}
