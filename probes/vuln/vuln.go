// Package vuln is the weakness probe: crafted handshakes that show known
// weaknesses (Heartbleed, CCS injection, TLS_FALLBACK_SCSV) and what a
// server's first flight says about its TLS features (secure renegotiation,
// compression, extended master secret, encrypt-then-MAC, tickets, OCSP
// stapling, ALPN, client certificate requests, session tickets).
//
// The checks write their messages with probes/hello and read the answers
// record by record, bounded in bytes and time, and never finish a key
// exchange, except the handshakes by Go's own client of resumption (two,
// the first of which carries the client-initiated renegotiation attempt
// when it negotiated TLS 1.2 with an AEAD suite; else that check has one
// of its own), TLS 1.3 resumption (one) and the CBC padding oracle check
// (four, each followed by one malformed record). The checks that send
// what a fragile appliance or an IDS may take badly (an over-long
// heartbeat, an early ChangeCipherSpec, malformed records, a
// renegotiation) can be turned off with
// Config.NoIntrusive. Weaknesses that follow from the enumerated
// suites and versions (POODLE, SWEET32, DROWN, ...) need no connection and
// are the policy's.
package vuln

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// Config configures the weakness probe. Its zero value works.
type Config struct {
	// Timeout bounds each connection's exchange (default 5s).
	Timeout time.Duration
	// AnswerWait is how long a check waits for an answer that a patched
	// server never sends (a heartbeat response): default 3s, at most
	// Timeout. It also bounds the wait for a TLS 1.3 session ticket, which
	// is otherwise a few round trips of the connection (ticketWait).
	AnswerWait time.Duration
	// NoIntrusive skips the Heartbleed, CCS injection, ROBOT, CBC padding
	// oracle and client-initiated renegotiation checks; a scan whose context is
	// marked by tlswarden.WithoutIntrusiveChecks skips them too.
	NoIntrusive bool
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.AnswerWait <= 0 {
		c.AnswerWait = 3 * time.Second
	}
	c.AnswerWait = min(c.AnswerWait, c.Timeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Check names, as Skipped reports them.
const (
	CheckHeartbleed   = "heartbleed"
	CheckCCSInjection = "ccs_injection"
)

// Probe returns the weakness probe. It opens at most 50 connections: the
// feature hello (which carries the Heartbleed check when the server
// answers the heartbeat extension, else CCS injection), CCS injection's 1
// when Heartbleed holds the feature connection, TLS_FALLBACK_SCSV, ROBOT's 5 (10 when its first answers differ; 1 when
// the server has no RSA key exchange), the padding oracle check's 4 (8
// when its first answers differ; 1 when the server has no AES-CBC suite
// Go's client offers), resumption's 4 (its first
// handshake carries client-initiated renegotiation when it can, its
// second hello is Ticketbleed's), client-initiated renegotiation's 1 when
// it cannot, the TLS 1.2 signature schemes' 12 at most, the TLS 1.3 ones'
// 10 at most (1 without TLS 1.3), and TLS 1.3 resumption's 2 (none
// without TLS 1.3).
func Probe(cfg Config) tlswarden.Probe {
	cfg = cfg.withDefaults()
	return tlswarden.Probe{
		Name:    "vuln",
		Timeout: 50 * cfg.Timeout,
		Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
			r := &run{cfg: cfg, ep: ep, dial: dial, start: time.Now()}
			r.cfg.NoIntrusive = cfg.NoIntrusive || tlswarden.IntrusiveChecksOff(ctx) // the target's own switch
			res, err := r.all(ctx)
			return tlswarden.Observation{Vuln: res}, err
		},
	}
}

// run is one probe run on one endpoint.
type run struct {
	cfg   Config
	ep    tlswarden.Endpoint
	dial  tlswarden.DialFunc
	conns atomic.Int64
	start time.Time // when the run began, for the checks' debug logs
	// serial runs the checks one after the other, as they ran before
	// they ran at once: the tests compare the two.
	serial bool
	// separate gives every check its own connections, as before
	// client-initiated renegotiation rode on resumption's first handshake
	// and Ticketbleed's hello was resumption's second: the tests compare
	// the two.
	separate bool
	// featureFlight is the feature hello's answer, read to
	// ServerHelloDone (nil when it failed): the TLS 1.2 signature scheme
	// check takes its first answer from it.
	featureFlight *hello.Handshake
}

// all runs the checks. Only a feature hello that could not reach the
// server fails the probe: the other checks record their own errors.
//
// The feature hello comes first: its flight says whether the server can
// be reached and which checks apply (the version, a client certificate
// request). Then every check runs at once, each its own chain of
// connections, under the endpoint's connection cap (the DialFunc's): over
// a real network a check costs round trips, not CPU, and one after the
// other they took 70 round trips for an nginx (BenchmarkVulnLatency).
// Only what needs another check's answer waits for it: Ticketbleed for
// resumption's ticket (its hello is resumption's second), client-initiated
// renegotiation for resumption's first handshake, on which it goes on
// beside resumption's chain, CCS injection for the feature hello's flight
// (on its connection, beside the others, unless Heartbleed holds it), TLS 1.3
// resumption for the signature scheme check's first TLS 1.3 hello, and
// Heartbleed's wait for silence holds the feature connection beside the
// others. No check holds a connection while it dials another, so a cap
// (even of one connection) cannot deadlock them; each check writes its
// own field of the result.
func (r *run) all(ctx context.Context) (*tlswarden.VulnResult, error) {
	res := &tlswarden.VulnResult{}
	defer func() { res.Connections = int(r.conns.Load()) }()
	var f *tlswarden.TLSFeatures
	var heartbleed func() *tlswarden.HeartbleedResult
	var ccs func() *tlswarden.CCSResult
	r.timed("features", func() { f, heartbleed, ccs = r.features(ctx) })
	res.Features = f
	var wg sync.WaitGroup
	defer wg.Wait()
	switch {
	case r.cfg.NoIntrusive:
		res.Skipped = []string{CheckHeartbleed, CheckCCSInjection, CheckROBOT, CheckPaddingOracle, CheckRenegotiation}
	case heartbleed != nil:
		r.spawn(&wg, "heartbleed", func() { res.Heartbleed = heartbleed() })
	case ccs != nil:
		r.spawn(&wg, "ccs_injection", func() { res.CCSInjection = ccs() })
	}
	if f.Status != tlswarden.StatusOK {
		if f.Version == 0 && !answered(f) {
			return res, errors.New(f.Error)
		}
		r.tls13Checks(ctx, &wg, res) // a TLS 1.3-only server refuses the feature hello
		return res, nil
	}
	// The longest chains first, so that they are the first to get
	// connections under the cap: the TLS 1.2 signature schemes (up to 12
	// hellos one after the other), ROBOT (5 or 10 key exchanges), the
	// padding oracle check (4 or 8 full handshakes),
	// resumption with Ticketbleed and renegotiation (2 handshakes and 2
	// hellos), TLS 1.3's.
	if f.Version == tlswarden.TLS12 {
		r.spawn(&wg, "signature_schemes", func() { res.SignatureSchemes = r.signatureSchemes(ctx) })
	}
	if !r.cfg.NoIntrusive {
		r.spawn(&wg, "robot", func() { res.ROBOT = r.robot(ctx, f.Version) })
		r.spawn(&wg, "padding_oracle", func() { res.PaddingOracle = r.paddingOracle(ctx) })
	}
	renegotiate := !r.cfg.NoIntrusive && f.Version == tlswarden.TLS12
	if !r.cfg.NoIntrusive {
		res.ClientRenegotiation = &tlswarden.RenegotiationResult{Status: tlswarden.StatusOK}
	}
	r.spawn(&wg, "resumption", func() {
		r.resumption(ctx, &wg, f.ClientCertificate != nil, renegotiate && !r.separate, res)
	})
	r.tls13Checks(ctx, &wg, res)
	if !r.cfg.NoIntrusive {
		if renegotiate && r.separate {
			r.spawn(&wg, "client_renegotiation", func() { res.ClientRenegotiation = r.clientRenegotiation(ctx) })
		}
		if ccs == nil {
			r.spawn(&wg, "ccs_injection", func() { res.CCSInjection = r.ccsInjection(ctx, f.Version) })
		}
	}
	r.spawn(&wg, "fallback_scsv", func() { res.FallbackSCSV = r.fallback(ctx, f.Version) })
	return res, nil
}

// tls13Checks starts the TLS 1.3 signature scheme enumeration and TLS 1.3
// resumption, which starts as soon as the enumeration's first hello says
// whether the server negotiates TLS 1.3.
func (r *run) tls13Checks(ctx context.Context, wg *sync.WaitGroup, res *tlswarden.VulnResult) {
	tested := make(chan bool, 1)
	r.spawn(wg, "signature_schemes_tls13", func() {
		res.SignatureSchemesTLS13 = r.signatureSchemes13(ctx, func(t bool) { tested <- t })
	})
	r.spawn(wg, "tls13_resumption", func() { res.TLS13Resumption = r.maybeResumption13(ctx, <-tested) })
}

// spawn runs one check beside the others (in turn, in the order spawned,
// when serial is set).
func (r *run) spawn(wg *sync.WaitGroup, check string, f func()) {
	if r.serial {
		r.timed(check, f)
		return
	}
	wg.Go(func() { r.timed(check, f) })
}

// timed runs one check and logs how long it took and when it started.
func (r *run) timed(check string, f func()) {
	start := time.Now()
	f()
	r.cfg.Logger.Debug("weakness check done", "endpoint", r.ep.Addr, "check", check,
		"started_ms", start.Sub(r.start).Milliseconds(), "took_ms", time.Since(start).Milliseconds())
}

// maybeResumption13 tests TLS 1.3 resumption when the signature scheme
// check saw the server negotiate TLS 1.3.
func (r *run) maybeResumption13(ctx context.Context, tls13 bool) *tlswarden.TLS13ResumptionResult {
	if !tls13 {
		return &tlswarden.TLS13ResumptionResult{Status: tlswarden.StatusOK}
	}
	return r.resumption13(ctx)
}

// answered reports a feature hello the server answered, if only with an
// alert: a TLS 1.3-only server refuses it, and that is a fact, not a
// failed probe.
func answered(f *tlswarden.TLSFeatures) bool { return f.Status == tlswarden.StatusHandshakeError }

// session opens one connection, bounded by Timeout from the moment it is
// open and by ctx, and hands it to f.
func (r *run) session(ctx context.Context, f func(conn net.Conn) error) error {
	conn, done, err := r.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	return r.ended(ctx, f(conn))
}

// open opens one connection, bounded by Timeout from the moment it is
// open and by ctx; done closes it.
func (r *run) open(ctx context.Context) (conn net.Conn, done func(), err error) {
	r.conns.Add(1)
	conn, err = r.dial(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	deadline := time.Now().Add(r.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	return conn, func() { stop(); conn.Close() }, nil
}

// ended is the error of an exchange that ended with err: the context's
// too when it was canceled.
func (r *run) ended(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}

// waitAnswer shortens the read deadline to AnswerWait, for an answer a
// patched server never sends.
func (r *run) waitAnswer(conn net.Conn) error {
	if err := conn.SetReadDeadline(time.Now().Add(r.cfg.AnswerWait)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	return nil
}

// statusOf is the status of a check that ended with err.
func statusOf(err error) (tlswarden.Status, string) {
	if err == nil {
		return tlswarden.StatusOK, ""
	}
	return tlswarden.StatusOf(err), err.Error()
}
