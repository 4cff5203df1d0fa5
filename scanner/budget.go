package scanner

import (
	"container/list"
	"context"
	"net/netip"
	"sync"
	"time"
)

// budget is a process's budget of connections in flight, shared by every
// target and job one Scanner scans, and the admission of targets that
// keeps it busy.
//
// Over real networks a scan waits on round trips, not on the CPU: the
// work to keep in flight is bandwidth × delay, which no fixed number of
// targets matches for both a LAN and a path across the world. So the
// window adapts as TCP's congestion window does (RFC 5681): it grows while
// connections are answered, by one per answer in slow start (doubling
// every round) and then by one per window of answers; a connection that
// times out, or is reset before any answer, on an endpoint that answered
// before, halves it. Refused connections say nothing about congestion, nor
// does an endpoint that never answered (it may be down or filtered), and
// they leave the window alone. Only connections begun since the last cut
// can cut it again, so one burst of losses halves it once, as TCP reduces
// once per window.
//
// Losses come late: a window grown faster than the servers (or this
// host's CPU) answer fills their queues first, and the connections time
// out only once queued for seconds. So slow start also ends on delay, as
// HyStart does (RFC 9406): answers are counted in rounds of delayRound,
// each against its endpoint's quickest answer so far, and when more than
// half of a round came markedly later than that (by lateBy), the window
// stops doubling (ssthresh = window) and grows by one a window from
// there. Each endpoint is its own baseline, so a far endpoint is not
// taken for a slow one; the floor keeps a busy host's scheduling jitter
// on loopback from ending slow start.
//
// The window starts small for the paths a burst might congest, but a
// scan's connections go over a path per remote address, each bounded by
// the per-address and per-endpoint caps as a TCP connection's own first
// window bounds it; what they share is this host's link and CPU. So in
// slow start, before any cut or delay exit, each address connected to for
// the first time brings one endpoint's worth of connections to the window
// (newAddress), up to maxCredit in all, the first address having the
// initial window: a fleet on many hosts starts at once, where growing
// from 64 by answers alone took 7 round trips (0.45 s at 50 ms, 1.2 s at
// 150 ms, for the endpoints admitted last), and endpoints sharing one
// address (a server's or a link's queue, the bottleneck test's) start
// from the initial window alone, as before.
//
// Targets are admitted while the window has room beyond what the running
// targets use and are about to use: a target admitted but not yet dialing
// is counted as wanting pendingWeight connections. No target is admitted
// while a dial waits for a slot.
type budget struct {
	min, max      float64
	maxTargets    int
	pendingWeight int

	mu        sync.Mutex
	window    float64 // connections allowed in flight
	ssthresh  float64 // slow start below it
	inFlight  int
	roundN    int       // answers with a baseline in this delay round
	roundLate int       // of which late
	delayExit float64   // the window when a late round ended slow start, 0 before
	peak      int       // the most in flight at once
	epoch     uint64    // counts the cuts
	dials     list.List // of *slotWaiter, in arrival order
	running   int       // targets admitted and not finished
	pending   int       // of which not yet dialing
	targets   list.List // of *slotWaiter waiting for admission
	credited  float64   // the window brought by new addresses
	// creditedTo holds the addresses that brought it, while credit
	// remains (at most maxCredit of them): an address whose caps were
	// dropped and made again (scanner.drop) is not new.
	creditedTo map[netip.Addr]struct{}
}

// Defaults of the budget.
const (
	initialWindow = 64
	minWindow     = 8
	// delayRound is the answers (with a baseline) in one delay round.
	delayRound = 64
	// lateFloor is the least delay beyond an endpoint's quickest answer
	// that counts as late.
	lateFloor = 50 * time.Millisecond
	// maxCredit bounds the window new addresses bring in slow start.
	maxCredit = 1024
)

func newBudget(maxInFlight, maxTargets, pendingWeight int) *budget {
	maxInFlight = max(maxInFlight, minWindow)
	b := &budget{
		min: minWindow, max: float64(maxInFlight), maxTargets: max(maxTargets, 1), pendingWeight: max(pendingWeight, 1),
		window: min(initialWindow, float64(maxInFlight)), ssthresh: float64(maxInFlight),
	}
	return b
}

// slotWaiter waits for a connection slot or an admission.
type slotWaiter struct {
	ready chan struct{}
	epoch uint64 // the window's epoch when the slot was granted
}

// slots is the window as a number of connections.
func (b *budget) slots() int { return int(max(b.window, b.min)) }

// acquire waits for a connection slot and returns the epoch to hand back
// with the connection's outcome. A target's first dial ends its pending
// state (its ticket travels in ctx).
func (b *budget) acquire(ctx context.Context) (uint64, error) {
	b.mu.Lock()
	b.dialing(ticketFrom(ctx))
	if b.dials.Len() == 0 && b.inFlight < b.slots() {
		b.inFlight++
		b.peak = max(b.peak, b.inFlight)
		e := b.epoch
		b.mu.Unlock()
		return e, nil
	}
	w := &slotWaiter{ready: make(chan struct{})}
	el := b.dials.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return w.epoch, nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.inFlight--
	default:
		b.dials.Remove(el)
	}
	b.grant()
	return 0, ctx.Err()
}

// release gives a connection slot back.
func (b *budget) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inFlight--
	b.grant()
}

// answered grows the window: a connection got its answer in time, delay
// after its connect began, where the endpoint's quickest answer before it
// took quickest (0: none before).
func (b *budget) answered(delay, quickest time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.window < b.ssthresh {
		b.delaySample(delay, quickest)
	}
	if b.window < b.ssthresh {
		b.window++
	} else {
		b.window += 1 / b.window
	}
	b.window = min(b.window, b.max)
	b.grant()
}

// newAddress grows the window by conns for addr when the scan connects
// to it for the first time, in slow start before any cut or delay exit,
// up to maxCredit in all; the first address has the initial window.
func (b *budget) newAddress(addr netip.Addr, conns int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.window >= b.ssthresh || b.epoch > 0 || b.delayExit > 0 || b.credited >= maxCredit {
		b.creditedTo = nil // no more credit: the set is done with
		return
	}
	if _, seen := b.creditedTo[addr]; seen {
		return
	}
	first := b.creditedTo == nil
	if first {
		b.creditedTo = map[netip.Addr]struct{}{}
	}
	b.creditedTo[addr] = struct{}{}
	if first {
		return // the initial window is the first address's
	}
	add := min(float64(conns), maxCredit-b.credited)
	b.credited += add
	b.window = min(b.window+add, b.max)
	b.grant()
}

// lateBy is how much later than an endpoint's quickest answer an answer
// must come to count as late: half the quickest, at least lateFloor.
func lateBy(quickest time.Duration) time.Duration { return max(lateFloor, quickest/2) }

// delaySample counts one answer of slow start in the current round, and
// ends slow start when more than half of a full round came late. The
// caller holds mu.
func (b *budget) delaySample(delay, quickest time.Duration) {
	if quickest <= 0 {
		return // the endpoint's first answer: no baseline yet
	}
	b.roundN++
	if delay-quickest > lateBy(quickest) {
		b.roundLate++
	}
	if b.roundN < delayRound {
		return
	}
	if 2*b.roundLate > b.roundN {
		b.ssthresh = b.window
		b.delayExit = b.window
	}
	b.roundN, b.roundLate = 0, 0
}

// congested halves the window, unless the connection began before the
// last cut.
func (b *budget) congested(epoch uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if epoch != b.epoch {
		return
	}
	b.ssthresh = max(b.window/2, b.min)
	b.window = b.ssthresh
	b.epoch++
}

// grant hands free slots to waiting dials, then admits waiting targets
// while there is room. The caller holds mu.
func (b *budget) grant() {
	for b.dials.Len() > 0 && b.inFlight < b.slots() {
		w := b.dials.Remove(b.dials.Front()).(*slotWaiter)
		b.inFlight++
		b.peak = max(b.peak, b.inFlight)
		w.epoch = b.epoch
		close(w.ready)
	}
	for b.targets.Len() > 0 && b.roomForTarget() {
		w := b.targets.Remove(b.targets.Front()).(*slotWaiter)
		b.running++
		b.pending++
		close(w.ready)
	}
}

// roomForTarget reports whether one more target would find connections
// to use. The caller holds mu.
func (b *budget) roomForTarget() bool {
	if b.running >= b.maxTargets {
		return false
	}
	if b.running == 0 {
		return true
	}
	return b.dials.Len() == 0 && b.inFlight+(b.pending+1)*b.pendingWeight <= b.slots()
}

// ticket is one admitted target. Its fields are guarded by the budget's
// mu.
type ticket struct {
	b       *budget
	dialed  bool // it has dialed (or finished): no longer pending
	settled bool // finish has run
}

// admit waits until the budget has room for one more target.
func (b *budget) admit(ctx context.Context) (*ticket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.targets.Len() == 0 && b.roomForTarget() {
		b.running++
		b.pending++
		b.mu.Unlock()
		return &ticket{b: b}, nil
	}
	w := &slotWaiter{ready: make(chan struct{})}
	el := b.targets.PushBack(w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return &ticket{b: b}, nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // admitted meanwhile: give it back
		b.running--
		b.pending--
		b.grant()
	default:
		b.targets.Remove(el)
	}
	return nil, ctx.Err()
}

// finish ends a target's admission.
func (b *budget) finish(t *ticket) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.settled {
		return
	}
	t.settled = true
	b.dialing(t)
	b.running--
	b.grant()
}

// dialing marks t as no longer pending. The caller holds mu.
func (b *budget) dialing(t *ticket) {
	if t == nil || t.b != b || t.dialed {
		return
	}
	t.dialed = true
	b.pending--
}

// snapshot returns the window and the connections in flight, for tests
// and logs.
func (b *budget) snapshot() (window float64, inFlight, running int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.window, b.inFlight, b.running
}

// BudgetStats describes the connection budget, for logs and benchmarks.
type BudgetStats struct {
	Window   float64 // connections allowed in flight now
	Peak     int     // the most connections in flight at once so far
	InFlight int     // connections in flight now
	Cuts     uint64  // times the window was halved
	// DelayExit is the window when late answers ended slow start (0:
	// they did not).
	DelayExit float64
}

// Budget returns the state of the Scanner's connection budget.
func (s *Scanner) Budget() BudgetStats {
	b := s.budget
	b.mu.Lock()
	defer b.mu.Unlock()
	return BudgetStats{Window: b.window, Peak: b.peak, InFlight: b.inFlight, Cuts: b.epoch, DelayExit: b.delayExit}
}

type ticketKey struct{}

// withTicket carries a target's admission to its dials.
func withTicket(ctx context.Context, t *ticket) context.Context {
	return context.WithValue(ctx, ticketKey{}, t)
}

func ticketFrom(ctx context.Context) *ticket {
	t, _ := ctx.Value(ticketKey{}).(*ticket)
	return t
}
