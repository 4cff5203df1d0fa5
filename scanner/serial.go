package scanner

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/tlswarden/tlswarden"
)

// endpointSlots bounds the connections to one endpoint, and knows which
// are open: a server that serves one connection at a time lets a hello
// wait behind another probe's connection until it times out. A probe then
// retries alone (tlswarden.DialAlone), taking every slot; when the retry
// is answered after a crowded timeout, the probe asks for one connection
// at a time (tlswarden.OneAtATime) and every later dial takes every slot.
// It lives while anything uses it (see Scanner.hold).
type endpointSlots struct {
	ap     netip.AddrPort
	addr   *addrSlots // its address's
	sem    *prioritySem
	size   int64
	serial atomic.Bool
	users  int // guarded by the Scanner's mu

	mu   sync.Mutex
	open map[*slotConn]struct{}
}

func newEndpointSlots(ap netip.AddrPort, size int, addr *addrSlots) *endpointSlots {
	return &endpointSlots{ap: ap, addr: addr, sem: newPrioritySem(int64(size)), size: int64(size), open: map[*slotConn]struct{}{}}
}

// addrSlots bounds the connections to one address over all its ports. It
// lives while an endpointSlots of the address does.
type addrSlots struct {
	sem       *semaphore.Weighted
	endpoints int // endpointSlots using it; guarded by the Scanner's mu
}

// acquire waits for the slots a dial with ctx needs: one, or all of them
// for a dial alone or to an endpoint served one connection at a time. It
// returns the weight taken.
func (e *endpointSlots) acquire(ctx context.Context) (int64, error) {
	w := int64(1)
	if tlswarden.DialsAlone(ctx) || e.serial.Load() {
		w = e.size
	}
	return w, e.sem.Acquire(ctx, w)
}

// opened records c as open, marking it and every other open connection
// crowded when there are several.
func (e *endpointSlots) opened(c *slotConn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.open) > 0 {
		c.crowded.Store(true)
		for o := range e.open {
			o.crowded.Store(true)
		}
	}
	e.open[c] = struct{}{}
}

// Handing a slot on. A chain of hellos gives its slot back when a hello
// is answered and asks for one again a moment later, for the next: in
// that moment a waiting dial of lower priority would take it, and the
// chain that decides when the endpoint is done would wait a whole
// connection for every one of its steps that came at a busy time. So the
// slot of a connection dialed with a priority is held, a moment
// (holdFor), for the next dial of that priority or higher, when only
// dials of lower priority wait.

// maxHold bounds how long a slot is held for its chain's next dial.
const maxHold = 2 * time.Millisecond

// holdFor is how long the slot of c is held: a twentieth of the
// connection's life (most of it the network's round trips), at most
// maxHold, so that on a short path the hold costs next to nothing.
func holdFor(c *slotConn) time.Duration {
	return min(time.Since(c.flight.start)/20, maxHold)
}

// give gives back the w slots of c (nil: of a dial that did not connect).
func (e *endpointSlots) give(w int64, c *slotConn) {
	if c == nil || !c.marked || w != 1 {
		e.sem.Release(w)
		return
	}
	e.sem.ReleaseFor(c.priority, holdFor(c))
}

func (e *endpointSlots) closed(c *slotConn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.open, c)
}

// Crowded implements tlswarden.SharedConn.
func (c *slotConn) Crowded() bool { return c.crowded.Load() }

// OneAtATime implements tlswarden.SharedConn.
func (c *slotConn) OneAtATime() {
	if c.slots != nil {
		c.slots.serial.Store(true)
	}
}

var _ tlswarden.SharedConn = (*slotConn)(nil)

// Connecting ahead. Over a real network a connect costs a round trip
// before the hello can leave, so a probe's chain of hellos, each sent when
// the last is answered, pays two round trips a step. While fewer
// connections than the cap are open to an endpoint, its dialer keeps one
// more connected ahead (a spare), which the next dial takes ready: that
// step then costs the hello's round trip alone. A spare holds a slot of
// the endpoint, of its address and of the budget like any connection, but
// sends nothing until taken. It is opened only when no other dial to the
// endpoint is under way, so it is always the newest connection: a server
// that serves one connection at a time reaches it only after every
// connection carrying a hello, when the next hello is about to come. It
// counts as crowding nobody until taken (it sends nothing). A server may
// drop an idle connection, and that close must not be taken for an
// answer to the hello: a spare is not kept past spareIdle, and one the
// server closed or reset meanwhile is not used. The spare left when the
// endpoint's probes are done is closed unused: about one connection more
// an endpoint. Dials alone, and endpoints served one connection at a time,
// get no spare; kinds with a preamble, their own cap or spacing, and
// paced scans neither.

// spareIdle is how long a spare may wait for its dial once connected.
const spareIdle = time.Second

// connectsAhead reports whether endpoints of kind get a spare.
func (s *Scanner) connectsAhead(kind tlswarden.Kind) bool {
	if s.cfg.MaxConnsPerEndpoint < 2 || s.cfg.MaxConnsPerSecond > 0 || s.cfg.KindSpacing[kind] > 0 {
		return false
	}
	if n := s.cfg.KindConns[kind]; n > 0 && n < s.cfg.MaxConnsPerEndpoint {
		return false
	}
	return s.cfg.Preambles == nil || s.cfg.Preambles(kind) == nil
}

// spare is one connection opened ahead.
type spare struct {
	ready   chan struct{} // closed once the connect is done
	conn    *slotConn     // nil when it failed
	at      time.Time     // when it was connected
	connect time.Duration // how long the connect took
}

// close closes the spare once its connect is done, unused.
func (sp *spare) close() {
	go func() {
		<-sp.ready
		if sp.conn != nil {
			sp.conn.Close()
		}
	}()
}

// ahead is one endpoint scan's dialer that connects ahead. The scan holds
// slots until it has stopped it.
type ahead struct {
	s     *Scanner
	addr  netip.AddrPort
	count *atomic.Int64
	slots *endpointSlots
	seen  *answers

	mu      sync.Mutex
	next    *spare // nil: none
	dialing int    // dials connecting anew
	stopped bool
}

// stop closes the spare, if any, waiting for it, and opens no more.
func (a *ahead) stop() {
	a.mu.Lock()
	sp := a.next
	a.next, a.stopped = nil, true
	a.mu.Unlock()
	if sp == nil {
		return
	}
	<-sp.ready
	if sp.conn != nil {
		sp.conn.Close()
	}
}

// preconnecting returns a DialFunc that hands out the endpoint's spare
// when there is one, dials with fresh otherwise, and opens the next spare.
func (s *Scanner) preconnecting(slots *endpointSlots, count *atomic.Int64, seen *answers, fresh tlswarden.DialFunc) (tlswarden.DialFunc, func()) {
	a := &ahead{s: s, addr: slots.ap, count: count, slots: slots, seen: seen}
	return a.dial(fresh), a.stop
}

// dial returns the DialFunc of a.
func (a *ahead) dial(fresh tlswarden.DialFunc) tlswarden.DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		if c := a.take(ctx); c != nil {
			a.open(ctx)
			return c, nil
		}
		a.mu.Lock()
		a.dialing++
		a.mu.Unlock()
		c, err := fresh(ctx)
		a.mu.Lock()
		a.dialing--
		a.mu.Unlock()
		if err == nil {
			a.open(ctx)
		}
		return c, err
	}
}

// take returns the spare, ready, or nil when there is none to use: a dial
// alone, or to an endpoint now served one at a time, closes it instead
// (it would hold a slot the dial waits for), and so does a spare idle too
// long.
func (a *ahead) take(ctx context.Context) *slotConn {
	a.mu.Lock()
	sp := a.next
	a.next = nil
	a.mu.Unlock()
	if sp == nil {
		return nil
	}
	if tlswarden.DialsAlone(ctx) || a.slots.serial.Load() {
		sp.close()
		return nil
	}
	select {
	case <-sp.ready:
	case <-ctx.Done():
		sp.close()
		return nil
	}
	if sp.conn == nil {
		return nil
	}
	if time.Since(sp.at) > spareIdle || closedByPeer(sp.conn.Conn) {
		sp.conn.Close()
		return nil
	}
	// The budget times an answer from the connect (flight.start): the
	// connect's time is counted as if it had just been made, so that an
	// answer on a spare is neither quicker nor later than on a new one.
	sp.conn.flight.start = time.Now().Add(-sp.connect)
	sp.conn.priority, sp.conn.marked = tlswarden.DialPriorityOf(ctx)
	a.slots.opened(sp.conn)
	return sp.conn
}

// open opens a spare, when the endpoint has none, no dial is connecting
// anew, and a slot of the endpoint, its address and the budget is free at
// once. It is closed when ctx ends unused. The spare holds the slots (as a
// dial does) until it is closed: not stopped, a is still held by its scan,
// so they are the ones in use.
func (a *ahead) open(ctx context.Context) {
	if tlswarden.DialsAlone(ctx) || a.slots.serial.Load() || ctx.Err() != nil || a.s.checkScope(a.addr.Addr()) != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped || a.next != nil || a.dialing > 0 || !a.slots.sem.TryAcquire(1) {
		return
	}
	if !a.slots.addr.sem.TryAcquire(1) {
		a.slots.sem.Release(1)
		return
	}
	epoch, ok := a.s.budget.tryAcquire()
	if !ok {
		a.slots.addr.sem.Release(1)
		a.slots.sem.Release(1)
		return
	}
	a.s.retain(a.slots)
	sp := &spare{ready: make(chan struct{})}
	a.next = sp
	release := func(sc *slotConn) {
		a.s.budget.release()
		a.slots.addr.sem.Release(1)
		a.slots.give(1, sc)
		a.s.drop(a.slots)
	}
	f := &flight{b: a.s.budget, epoch: epoch, seen: a.seen}
	go func() {
		defer close(sp.ready)
		a.count.Add(1)
		a.s.conns.Add(1)
		f.start = time.Now()
		c, err := a.s.dialer.DialContext(ctx, "tcp", a.addr.String())
		if err != nil {
			f.observe(0, err)
			release(nil)
			return
		}
		abortOnClose(c)
		sc := &slotConn{Conn: c, flight: f, slots: a.slots}
		sc.release = sync.OnceFunc(func() { a.slots.closed(sc); release(sc) })
		sp.conn, sp.at = sc, time.Now()
		sp.connect = sp.at.Sub(f.start)
	}()
	context.AfterFunc(ctx, func() {
		a.mu.Lock()
		unused := a.next == sp
		if unused {
			a.next = nil
		}
		a.mu.Unlock()
		if unused {
			sp.close()
		}
	})
}

// tryAcquire takes a connection slot of the budget if one is free at once
// and no dial waits for one: a spare never makes a dial wait.
func (b *budget) tryAcquire() (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dials.Len() > 0 || b.inFlight >= b.slots() {
		return 0, false
	}
	b.inFlight++
	b.peak = max(b.peak, b.inFlight)
	return b.epoch, true
}
