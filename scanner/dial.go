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

// hold returns the connection caps of the endpoint ap and of its address,
// made if need be, and counts one more user of them: an endpoint's scan,
// a dial under way, an open connection. Whatever connects to ap at once
// shares them (two names resolving to one address, the same endpoint
// scanned twice at once), and each user gives them back with drop: an
// entry lives while anything uses it, so that a scan of many endpoints
// does not keep one per endpoint for the process's life. Every slot
// taken is held by its taker until given back, so an entry is never
// dropped while a slot of it is taken. (A slot given back and held a
// moment for a waiting dial, see endpointSlots.give, is no connection:
// the entry may go with that dial's hold while it is held.)
func (s *Scanner) hold(ap netip.AddrPort) *endpointSlots {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.perPort[ap]
	if e == nil {
		a := s.perIP[ap.Addr()]
		if a == nil {
			a = &addrSlots{sem: semaphore.NewWeighted(int64(s.cfg.MaxConnsPerAddr))}
			s.perIP[ap.Addr()] = a
			s.budget.newAddress(ap.Addr(), min(s.cfg.MaxConnsPerEndpoint, s.cfg.MaxConnsPerAddr))
		}
		a.endpoints++
		e = newEndpointSlots(ap, s.cfg.MaxConnsPerEndpoint, a)
		if _, ok := s.oneAtATime[ap]; ok {
			e.serial.Store(true)
		}
		s.perPort[ap] = e
	}
	e.users++
	return e
}

// retain counts one more user of e, which the caller holds already.
func (s *Scanner) retain(e *endpointSlots) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.users++
}

// drop ends one user's hold of e. The last user's drop forgets e, and its
// address's caps with the address's last endpoint; an endpoint found to
// take one connection at a time is remembered apart (an earlier scan's
// finding holds for the later ones, as the report says), in a set that
// grows with such endpoints only.
func (s *Scanner) drop(e *endpointSlots) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.users--; e.users > 0 {
		return
	}
	delete(s.perPort, e.ap)
	if e.serial.Load() {
		s.oneAtATime[e.ap] = struct{}{}
	}
	if e.addr.endpoints--; e.addr.endpoints == 0 {
		delete(s.perIP, e.ap.Addr())
	}
}

// dialFunc returns the DialFunc handed to probes for one endpoint: it checks
// the address against the scope, waits for a free slot for the endpoint,
// then for its address, then in the process's budget, then for the global
// pace, connects, and counts the connection. The slots are released when
// the connection is closed. Slots are always taken in that order, so two
// dials cannot each hold what the other waits for. The waits for the
// budget and the pace are the process's own queue, not the endpoint's
// slowness: the endpoint's probes' timeouts (activetime) stop while a dial
// of it waits there. Each dial holds the endpoint's caps (hold) until its
// connection is closed, or it fails; seen is what the endpoint's
// connections have shown.
func (s *Scanner) dialFunc(addr netip.AddrPort, count *atomic.Int64, seen *answers) tlswarden.DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		if err := s.checkScope(addr.Addr()); err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		slots := s.hold(addr)
		weight, err := slots.acquire(ctx)
		if err != nil {
			s.drop(slots)
			return nil, fmt.Errorf("dial %s: waiting for a connection slot: %w", addr, err)
		}
		if err := slots.addr.sem.Acquire(ctx, 1); err != nil {
			slots.sem.Release(weight)
			s.drop(slots)
			return nil, fmt.Errorf("dial %s: waiting for a connection slot of the address: %w", addr, err)
		}
		resume := activetime.Queued(ctx) // the process's queue: not the probe's time
		epoch, err := s.budget.acquire(ctx)
		resume()
		release := func(sc *slotConn) {
			slots.addr.sem.Release(1)
			slots.give(weight, sc)
			s.drop(slots)
		}
		if err != nil {
			release(nil)
			return nil, fmt.Errorf("dial %s: waiting for a connection slot of the scanner: %w", addr, err)
		}
		f := &flight{b: s.budget, epoch: epoch, seen: seen}
		return s.connect(ctx, addr, count, f, slots, func(sc *slotConn) { s.budget.release(); release(sc) })
	}
}

// endpointDialFunc is dialFunc for one endpoint's scan, whose caller holds
// slots (the endpoint's) until the scan is done, connecting ahead (see
// preconnecting) when ahead is set; stop closes the connection opened
// ahead, if any, and opens no more. The caller calls stop before it drops
// slots.
func (s *Scanner) endpointDialFunc(slots *endpointSlots, count *atomic.Int64, ahead bool) (dial tlswarden.DialFunc, stop func()) {
	seen := new(answers)
	fresh := s.dialFunc(slots.ap, count, seen)
	if !ahead {
		return fresh, func() {}
	}
	return s.preconnecting(slots, count, seen, fresh)
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
	return s.dialFunc(addr, &uncounted, new(answers))(ctx)
}
