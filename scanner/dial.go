package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/activetime"
)

// limits returns the semaphores bounding connections to one endpoint and
// to its address.
func (s *Scanner) limits(ap netip.AddrPort) (endpoint *endpointSlots, addr *semaphore.Weighted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	endpoint, ok := s.perPort[ap]
	if !ok {
		endpoint = newEndpointSlots(s.cfg.MaxConnsPerEndpoint)
		s.perPort[ap] = endpoint
	}
	addr, ok = s.perIP[ap.Addr()]
	if !ok {
		addr = semaphore.NewWeighted(int64(s.cfg.MaxConnsPerAddr))
		s.perIP[ap.Addr()] = addr
	}
	return endpoint, addr
}

// dialFunc returns the DialFunc handed to probes for one endpoint: it checks
// the address against the scope, waits for a free slot for the endpoint,
// then for its address, then in the process's budget, then for the global
// pace, connects, and counts the connection. The slots are released when
// the connection is closed. Slots are always taken in that order, so two
// dials cannot each hold what the other waits for. The waits for the
// budget and the pace are the process's own queue, not the endpoint's
// slowness: the endpoint's probes' timeouts (activetime) stop while a dial
// of it waits there.
func (s *Scanner) dialFunc(addr netip.AddrPort, count *atomic.Int64) tlswarden.DialFunc {
	dial, _ := s.endpointDialFunc(addr, count, false)
	return dial
}

// endpointDialFunc is dialFunc, connecting ahead (see preconnecting) when
// ahead is set; stop closes the connection opened ahead, if any, and opens
// no more.
func (s *Scanner) endpointDialFunc(addr netip.AddrPort, count *atomic.Int64, ahead bool) (dial tlswarden.DialFunc, stop func()) {
	endpointSlots, addrSem := s.limits(addr)
	seen := new(answers)
	fresh := func(ctx context.Context) (net.Conn, error) {
		if err := s.checkScope(addr.Addr()); err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		weight, err := endpointSlots.acquire(ctx)
		if err != nil {
			return nil, fmt.Errorf("dial %s: waiting for a connection slot: %w", addr, err)
		}
		if err := addrSem.Acquire(ctx, 1); err != nil {
			endpointSlots.sem.Release(weight)
			return nil, fmt.Errorf("dial %s: waiting for a connection slot of the address: %w", addr, err)
		}
		resume := activetime.Queued(ctx) // the process's queue: not the probe's time
		epoch, err := s.budget.acquire(ctx)
		resume()
		if err != nil {
			addrSem.Release(1)
			endpointSlots.sem.Release(weight)
			return nil, fmt.Errorf("dial %s: waiting for a connection slot of the scanner: %w", addr, err)
		}
		release := func(sc *slotConn) {
			s.budget.release()
			addrSem.Release(1)
			endpointSlots.give(weight, sc)
		}
		f := &flight{b: s.budget, epoch: epoch, seen: seen}
		return s.connect(ctx, addr, count, f, endpointSlots, release)
	}
	if !ahead {
		return fresh, func() {}
	}
	return s.preconnecting(addr, count, endpointSlots, addrSem, seen, fresh)
}

// connect waits for the pace and connects, holding the dial's slots, and
// gives them back when it fails.
func (s *Scanner) connect(ctx context.Context, addr netip.AddrPort, count *atomic.Int64, f *flight, slots *endpointSlots, release func(*slotConn)) (net.Conn, error) {
	resume := activetime.Queued(ctx)
	err := s.pace.Wait(ctx)
	resume()
	if err != nil {
		release(nil)
		return nil, fmt.Errorf("dial %s: waiting for the connection rate: %w", addr, err)
	}
	count.Add(1)
	s.conns.Add(1)
	f.start = time.Now()
	c, err := s.dialer.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		f.observe(0, err)
		release(nil)
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	abortOnClose(c)
	sc := &slotConn{Conn: c, flight: f, slots: slots}
	sc.priority, sc.marked = tlswarden.DialPriorityOf(ctx)
	sc.release = sync.OnceFunc(func() { slots.closed(sc); release(sc) })
	slots.opened(sc)
	return sc, nil
}

// abortOnClose makes closing c reset the connection (SO_LINGER 0) rather
// than run the FIN exchange: a probe closes a connection once it has read
// what it came for, mostly in the middle of a handshake it will not
// finish, and a reset spares the server the orderly shutdown and this host
// a TIME_WAIT entry per connection (a large scan opens hundreds of
// thousands).
func abortOnClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// checkScope asks the configured scope, if any, about addr.
func (s *Scanner) checkScope(addr netip.Addr) error {
	if s.cfg.Scope == nil {
		return nil
	}
	return s.cfg.Scope.Check(addr)
}

// controlScope checks the scope once more on the socket address itself,
// just before connect(2): whatever path a connection takes through the
// dialer, no address the scope refuses is ever connected to.
func (s *Scanner) controlScope(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: not an address the scope can check: %w", network, address, err)
	}
	return s.checkScope(ap.Addr())
}

// slotConn gives its slots back when closed.
type slotConn struct {
	net.Conn
	release func()
	flight  *flight
	slots   *endpointSlots
	crowded atomic.Bool
	// priority is the dial's (tlswarden.DialPriority), when marked.
	priority int
	marked   bool
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// StatusOf classifies an error from resolution or a probe into a Status. A
// failed resolution is a dns_error whatever its cause, unless the scan was
// canceled.
func StatusOf(err error) tlswarden.Status {
	var de *dnsError
	if errors.As(err, &de) && !errors.Is(err, context.Canceled) {
		return tlswarden.StatusDNSError
	}
	return tlswarden.StatusOf(err)
}

// Dial connects to any port of an address under that endpoint's and that
// address's connection caps, for probes that need a second port (plain HTTP beside HTTPS). The
// connection is counted in Connections but not in an endpoint's count.
func (s *Scanner) Dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	var uncounted atomic.Int64
	return s.dialFunc(addr, &uncounted)(ctx)
}
