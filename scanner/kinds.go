package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tlswarden/tlswarden"
)

// Politeness per kind: mail servers limit connections per client, tarpit
// (postscreen) and ban (fail2ban), so an SMTP endpoint gets few
// connections at once, spaced out.
var (
	DefaultKindConns = map[tlswarden.Kind]int{
		tlswarden.KindSMTP: 2, tlswarden.KindSubmission: 2, tlswarden.KindSMTPS: 2,
	}
	DefaultKindSpacing = map[tlswarden.Kind]time.Duration{
		tlswarden.KindSMTP: 200 * time.Millisecond, tlswarden.KindSubmission: 200 * time.Millisecond,
		tlswarden.KindSMTPS: 200 * time.Millisecond,
	}
)

// blockedKinds are the kinds whose well-known port outbound filters
// commonly block (25 on cloud networks): a connect that no one answers is
// reported blocked there rather than as the server's timeout.
var blockedKinds = []tlswarden.Kind{tlswarden.KindSMTP}

// kindDialer wraps an endpoint's dialer with its kind's politeness and
// preamble: a cap on simultaneous connections, a least spacing between
// them, and the exchange before TLS on each new connection. Once a server
// that accepted connections starts turning them away, it stops dialing:
// every later dial fails at once with rate_limited.
type kindDialer struct {
	inner   tlswarden.DialFunc
	pre     tlswarden.Preamble // nil: TLS on connect
	host    string
	kind    tlswarden.Kind
	conns   *semaphore.Weighted // nil: no cap of the kind's own
	spacing time.Duration

	mu      sync.Mutex
	next    time.Time // the earliest time of the next connection
	ok      atomic.Int64
	limited atomic.Pointer[rateLimitedError]
}

func (s *Scanner) kindDialer(inner tlswarden.DialFunc, ep tlswarden.Endpoint, kind tlswarden.Kind) *kindDialer {
	d := &kindDialer{inner: inner, host: ep.Host, kind: kind, spacing: s.cfg.KindSpacing[kind]}
	if s.cfg.Preambles != nil {
		d.pre = s.cfg.Preambles(kind)
	}
	if n := s.cfg.KindConns[kind]; n > 0 && n < s.cfg.MaxConnsPerEndpoint {
		d.conns = semaphore.NewWeighted(int64(n))
	}
	return d
}

// connect opens a TCP connection under the kind's cap and spacing.
func (d *kindDialer) connect(ctx context.Context) (net.Conn, error) {
	if err := d.limited.Load(); err != nil {
		return nil, err
	}
	if d.conns != nil {
		if err := d.conns.Acquire(ctx, 1); err != nil {
			return nil, fmt.Errorf("waiting for a %s connection slot: %w", d.kind, err)
		}
	}
	release := func() {
		if d.conns != nil {
			d.conns.Release(1)
		}
	}
	if err := d.wait(ctx); err != nil {
		release()
		return nil, err
	}
	if err := d.limited.Load(); err != nil {
		release() // limited while this dial waited its turn
		return nil, err
	}
	c, err := d.inner(ctx)
	if err != nil {
		release()
		return nil, d.refusal(err)
	}
	if d.conns == nil {
		return c, nil // keep the scanner's own connection, and what it knows
	}
	return &closeConn{Conn: c, after: sync.OnceFunc(release)}, nil
}

// wait keeps connections spacing apart.
func (d *kindDialer) wait(ctx context.Context) error {
	if d.spacing <= 0 {
		return nil
	}
	d.mu.Lock()
	now := time.Now()
	at := d.next
	if at.Before(now) {
		at = now
	}
	d.next = at.Add(d.spacing)
	d.mu.Unlock()
	t := time.NewTimer(at.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting to space %s connections: %w", d.kind, context.Cause(ctx))
	}
}

// dial is the DialFunc the probes get: a connection ready for a
// ClientHello.
func (d *kindDialer) dial(ctx context.Context) (net.Conn, error) {
	c, err := d.connect(ctx)
	if err != nil || d.pre == nil {
		if err == nil {
			d.ok.Add(1)
		}
		return c, err
	}
	if _, err := d.pre(ctx, c, d.host); err != nil {
		c.Close()
		return nil, d.refusal(err)
	}
	d.ok.Add(1)
	return c, nil
}

// service runs the preamble once on a connection of its own, for the
// facts: what the server said before TLS, and whether it offers STARTTLS.
func (d *kindDialer) service(ctx context.Context) (*tlswarden.ServiceResult, error) {
	c, err := d.connect(ctx)
	if err != nil {
		if tlswarden.StatusOf(err) == tlswarden.StatusTimeout && ctx.Err() == nil && slicesContains(blockedKinds, d.kind) {
			err = &blockedError{err: err}
		}
		return nil, err
	}
	defer c.Close()
	res, err := d.pre(ctx, c, d.host)
	if err == nil || errors.Is(err, tlswarden.ErrNoStartTLS) {
		d.ok.Add(1)
	}
	return res, err
}

// refusal turns a failure after earlier successes into the endpoint's
// rate limit when it looks like one: the connection refused, reset or
// turned away by the server, or left unanswered.
func (d *kindDialer) refusal(err error) error {
	if d.ok.Load() == 0 {
		return err
	}
	switch tlswarden.StatusOf(err) {
	case tlswarden.StatusRefused, tlswarden.StatusReset, tlswarden.StatusTimeout:
	default:
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err // our own deadline, not the server's refusal
	}
	rl := &rateLimitedError{err: err}
	d.limited.CompareAndSwap(nil, rl)
	return rl
}

// rateLimitedError is a server that turned connections away after it
// had accepted some.
type rateLimitedError struct{ err error }

func (e *rateLimitedError) Error() string {
	return "the server started turning connections away (stopped early): " + e.err.Error()
}
func (e *rateLimitedError) Unwrap() error            { return e.err }
func (e *rateLimitedError) Status() tlswarden.Status { return tlswarden.StatusRateLimited }

// blockedError is a connect to a commonly filtered port that nothing
// answered.
type blockedError struct{ err error }

func (e *blockedError) Error() string {
	return "no answer to connect: the port is likely blocked on the way out (" + e.err.Error() + ")"
}
func (e *blockedError) Status() tlswarden.Status { return tlswarden.StatusBlocked }

// closeConn runs after once the connection is closed.
type closeConn struct {
	net.Conn
	after func()
}

func (c *closeConn) Close() error {
	err := c.Conn.Close()
	c.after()
	return err
}

// Crowded and OneAtATime pass through to the scanner's connection
// (tlswarden.SharedConn).
func (c *closeConn) Crowded() bool { return tlswarden.Crowded(c.Conn) }
func (c *closeConn) OneAtATime()   { tlswarden.OneAtATime(c.Conn) }

func slicesContains(ks []tlswarden.Kind, k tlswarden.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// serviceStep runs a STARTTLS kind's preamble once for its facts before
// the probes. It returns false when the probes cannot run: STARTTLS is
// not offered (a fact: the endpoint stays ok) or the exchange failed.
func (s *Scanner) serviceStep(ctx context.Context, d *kindDialer, er *tlswarden.EndpointReport) bool {
	if !d.kind.StartTLS() {
		return true
	}
	if d.pre == nil {
		er.Status, er.Error = tlswarden.StatusError, fmt.Sprintf("no preamble configured for kind %s", d.kind)
		return false
	}
	res, err := d.service(ctx)
	er.Service = res
	switch {
	case err == nil:
		return true
	case errors.Is(err, tlswarden.ErrNoStartTLS):
		s.log.Debug("STARTTLS not offered", "endpoint", er.Endpoint.String(), "kind", d.kind)
	default:
		er.Status, er.Error = StatusOf(err), err.Error()
	}
	return false
}
