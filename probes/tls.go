package probes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlswarden/tlswarden"
)

// TLSConfig configures the TLS probe. Its zero value works.
type TLSConfig struct {
	// Versions lists the protocol versions to test (default
	// tlswarden.AllVersions).
	Versions []tlswarden.Version
	// Timeout bounds each connection's exchange, from the moment it is
	// connected to the last byte read (default 5s). Waiting for a connection
	// slot and connecting are bounded by the context and the DialFunc (the
	// scanner applies its connect timeout).
	Timeout time.Duration
	// MaxHelloSuites is the most cipher suites offered in one ClientHello.
	// Zero offers all of them at once and falls back to bundles of 64 when a
	// server closes the connection on the large hello but answers a small
	// one.
	MaxHelloSuites int
	// NoGroups skips the key-exchange group enumeration: the result's
	// Groups stay empty, and only the group each suite was answered with
	// is reported (per suite, and the first TLS 1.3 group as
	// PreferredGroup).
	NoGroups bool
	// Shared, when set, tells the certificate probe given the same one
	// which key exchanges this probe found at TLS 1.2 and older (see
	// Shared).
	Shared *Shared
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger

	// noRiding sends the TLS 1.3 preference test's offers in hellos of
	// their own, never in the group enumeration's (tests compare the two).
	noRiding bool
	// alwaysChains enumerates in parallel chains even on a server that
	// answers one connection at a time (tests compare the two).
	alwaysChains bool
}

// Defaults of TLSConfig.
const (
	defaultTLSTimeout = 5 * time.Second
	fallbackBundle    = 64
)

func (c *TLSConfig) validate() error {
	var errs []error
	for _, v := range c.Versions {
		if !slices.Contains(tlswarden.AllVersions, v) {
			errs = append(errs, fmt.Errorf("version %s cannot be tested", v))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, errors.New("timeout must not be negative"))
	}
	if c.MaxHelloSuites < 0 {
		errs = append(errs, errors.New("max hello suites must not be negative"))
	}
	return errors.Join(errs...)
}

func (c TLSConfig) withDefaults() TLSConfig {
	if len(c.Versions) == 0 {
		c.Versions = tlswarden.AllVersions
	}
	c.Versions = slices.Clone(c.Versions)
	slices.Sort(c.Versions)
	c.Versions = slices.Compact(c.Versions)
	if c.Timeout == 0 {
		c.Timeout = defaultTLSTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// TLS returns the probe named "tls". It enumerates the protocol versions an
// endpoint accepts, the cipher suites of each with the server's preference,
// and the key-exchange groups, with ClientHellos written byte by byte and
// answers read only up to the ServerHello (and ServerKeyExchange): no key
// exchange is done, so every registered suite is tested whether or not any
// Go library implements it. See docs/scanning.md for the method and its
// connection budget.
//
// A version that could not be tested is reported with its status and error;
// Run returns an error only when no version could be tested at all, with
// what was learned still in the Observation.
func TLS(cfg TLSConfig) tlswarden.Probe {
	cfgErr := cfg.validate()
	cfg = cfg.withDefaults()
	return tlswarden.Probe{
		Name: "tls",
		Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
			if cfgErr != nil {
				return tlswarden.Observation{}, fmt.Errorf("tls probe: %w", cfgErr)
			}
			r := &tlsRun{cfg: cfg, ep: ep, dial: dial, log: cfg.Logger.With("endpoint", ep.String(), "probe", "tls")}
			r.shared = cfg.Shared.open(ep, sideTLS)
			defer cfg.Shared.release(ep, r.shared, sideTLS)
			defer r.shared.publish(nil, false) // when the legacy versions did not
			defer r.shared.decideTLS13(nil)    // when the TLS 1.3 scan did not
			if !slices.Contains(cfg.Versions, tlswarden.TLS13) {
				r.shared.decideTLS13(nil) // at once: no TLS 1.3 scan will
			}
			return r.run(ctx)
		},
	}
}

// tlsRun is one run of the TLS probe against one endpoint.
type tlsRun struct {
	cfg  TLSConfig
	ep   tlswarden.Endpoint
	dial tlswarden.DialFunc
	log  *slog.Logger

	conns atomic.Int64
	// noRetry is set once a hello retried alone timed out too.
	noRetry atomic.Bool
	// bundle is the number of suites per hello once the fallback to bundles
	// has been taken (zero: all at once).
	bundle atomic.Int64
	// early holds the group enumerations started before the suites were
	// all found (tlsgroups.go).
	early earlyGroups
	// rider holds an offer of the TLS 1.3 preference test waiting to go
	// out in a group hello (tlsride.go).
	rider rider
	// shared is the endpoint's entry in TLSConfig.Shared, or nil.
	shared *sharedEntry
	// queue times the answers, to tell a server that answers one
	// connection at a time (tlsqueue.go).
	queue queueWatch
}

// run tests every version concurrently (the DialFunc bounds the
// connections), then the groups, which depend on the versions found.
func (r *tlsRun) run(ctx context.Context) (tlswarden.Observation, error) {
	if ms := r.cfg.MaxHelloSuites; ms > 0 {
		r.bundle.Store(int64(ms))
	}
	scans := make([]*versionScan, len(r.cfg.Versions))
	legacy := r.legacyDone()
	var wg sync.WaitGroup
	for i := len(r.cfg.Versions) - 1; i >= 0; i-- {
		v := r.cfg.Versions[i]
		vctx, asked := withAsked(ctx)
		wg.Go(func() {
			defer asked.signal()
			scans[i] = r.scanVersion(vctx, v)
			if v == tlswarden.TLS13 {
				r.shared.decideTLS13(scans[i])
			}
			legacy(scans[i])
		})
		<-asked.ch // newest first: see withAsked
	}
	wg.Wait()
	settleClosed(scans)
	res := &tlswarden.TLSResult{}
	if r.cfg.NoGroups {
		r.firstGroupOnly(res, scans)
	} else {
		r.scanGroups(ctx, res, scans) // settles the TLS 1.3 preference too
	}
	for _, s := range scans {
		res.Versions = append(res.Versions, s.result())
	}
	res.Connections = int(r.conns.Load())
	obs := tlswarden.Observation{TLS: res}
	if err := nothingTested(scans); err != nil {
		return obs, fmt.Errorf("tls probe %s: %w", r.ep.Addr, err)
	}
	r.log.Debug("tls probe done", "connections", res.Connections, "groups", len(res.Groups))
	return obs, nil
}

// The versions' scans run at once, but their first hellos ask for a
// connection newest first, each version's once the one before it has
// asked: the endpoint's first free slots go by arrival, not by priority
// (tlswarden.DialPriority, see helloPriority), and a newer version has
// the most to enumerate. Left to the goroutines' start, SSLv2's and
// SSLv3's single hellos could take the first slots while TLS 1.2's first
// hello, on which its whole enumeration waits, waited for a round trip.

// askedKey marks a version scan's context with the signal its first
// connection request gives.
type askedKey struct{}

// askedSignal is closed once, when a version scan first asks for a
// connection or ends.
type askedSignal struct {
	ch   chan struct{}
	once sync.Once
}

func (a *askedSignal) signal() { a.once.Do(func() { close(a.ch) }) }

// withAsked returns ctx carrying a new signal, and the signal.
func withAsked(ctx context.Context) (context.Context, *askedSignal) {
	a := &askedSignal{ch: make(chan struct{})}
	return context.WithValue(ctx, askedKey{}, a), a
}

// signalAsked signals ctx's version scan, if any, that it asks for a
// connection.
func signalAsked(ctx context.Context) {
	if a, ok := ctx.Value(askedKey{}).(*askedSignal); ok {
		a.signal()
	}
}

// legacyDone returns the function each version's scan is handed to when
// done; the last of SSLv3 to TLS 1.2 to finish publishes their findings
// to the certificate probe (Shared) while the other versions go on.
func (r *tlsRun) legacyDone() func(*versionScan) {
	if r.shared == nil {
		return func(*versionScan) {}
	}
	var (
		mu   sync.Mutex
		done []*versionScan
	)
	left := 0
	for _, v := range r.cfg.Versions {
		if slices.Contains(legacyVersions, v) {
			left++
		}
	}
	return func(s *versionScan) {
		if !slices.Contains(legacyVersions, s.version) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if done = append(done, s); len(done) == left {
			r.publishLegacy(done)
		}
	}
}

// scanVersion tests one version.
func (r *tlsRun) scanVersion(ctx context.Context, v tlswarden.Version) *versionScan {
	var s *versionScan
	switch v {
	case tlswarden.SSLv2:
		s = r.scanSSLv2(ctx)
	case tlswarden.TLS13:
		s = r.scanSuites(ctx, v, tls13SuiteOrder(), r.tls13Hello(nil))
	default:
		s = r.scanSuites(ctx, v, legacySuiteOrder(), r.legacyHello(v, legacyGroupOrder(true)))
	}
	r.notePreferenceCut(ctx, s)
	r.log.Debug("tls version tested", "version", v.String(), "supported", s.supported, "suites", len(s.suites),
		"preference", string(s.pref), "err", s.err)
	return s
}

// notePreferenceCut records, as the version's error, a preference test
// that the end of ctx (the endpoint's deadline) left without a verdict:
// the suites are all found, but their order is unknown.
func (r *tlsRun) notePreferenceCut(ctx context.Context, s *versionScan) {
	if s.supported && s.err == nil && len(s.suites) > 1 && s.pref == tlswarden.PreferIndeterminate && ctx.Err() != nil {
		s.err = fmt.Errorf("%s server preference not tested: %w", s.version, ctx.Err())
	}
}

// versionScan is what testing one version found.
type versionScan struct {
	version   tlswarden.Version
	supported bool
	suites    []tlswarden.Suite
	pref      tlswarden.Preference
	// answered marks a version for which the server sent a ServerHello or
	// an alert: it speaks TLS (or SSLv2) there.
	answered bool
	// closed marks a version whose every hello was closed without a reply.
	closed bool
	// err says why the version could not be tested, or was tested only in
	// part (supported may then be true, with the suites found so far).
	err error
	// firstGroup is the group of the first TLS 1.3 HelloRetryRequest, when
	// every group was offered.
	firstGroup uint16
	// prefDeferred marks a TLS 1.3 scan whose preference test rides on the
	// group enumeration's hellos (see groupsTLS13).
	prefDeferred bool
}

func (s *versionScan) result() tlswarden.VersionResult {
	vr := tlswarden.VersionResult{Version: s.version, Supported: s.supported, Suites: s.suites,
		Preference: s.pref, Status: tlswarden.StatusOf(s.err)}
	if s.err != nil {
		vr.Error = s.err.Error()
	}
	return vr
}

// settleClosed decides what a closed connection meant. A server that
// answers some versions and closes the connection on another's hello does
// not support that one (many servers refuse SSLv2 and SSLv3 that way); a
// server that closes on every version could not be tested at all.
func settleClosed(scans []*versionScan) {
	if !slices.ContainsFunc(scans, func(s *versionScan) bool { return s.answered }) {
		return
	}
	for _, s := range scans {
		if s.closed {
			s.err = nil
		}
	}
}

// nothingTested returns an error, the newest version's, when no version got
// an answer the probe could understand.
func nothingTested(scans []*versionScan) error {
	var last error
	for _, s := range scans {
		if s.answered {
			return nil
		}
		if s.err != nil {
			last = s.err
		}
	}
	if last == nil {
		last = errors.New("no version could be tested")
	}
	return last
}
