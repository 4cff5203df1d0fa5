package scanner

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tlswarden/tlswarden"
)

// prioritySem is a weighted semaphore, as golang.org/x/sync/semaphore's,
// whose waiters are served by priority (tlswarden.DialPriority), highest
// first, and in the order they came within a priority. As there, a waiter
// that cannot be served blocks those behind it, so a dial alone (every
// slot) is not starved by dials of one slot.
//
// Why: a probe's enumeration over a network is many chains of connections,
// each hello waiting for the last one's answer, sharing the endpoint's few
// slots. Served in arrival order, the longest chain, the one that decides
// when the endpoint is done, waits its turn behind short ones at every
// step; served first, it never waits, and the short ones fill the slots
// around it.
type prioritySem struct {
	size int64

	mu      sync.Mutex
	cur     int64        // slots taken, held ones included
	waiters []*semWaiter // by priority, highest first, then arrival
	held    []*heldSlot  // slots given back, held for a dial of their priority
}

type semWaiter struct {
	n        int64
	priority int
	ready    chan struct{}
}

// heldSlot is one slot given back by ReleaseFor, not yet free.
type heldSlot struct {
	priority int
	timer    *time.Timer
}

func newPrioritySem(size int64) *prioritySem { return &prioritySem{size: size} }

// priorityOf is the priority of a dial with ctx: an unmarked dial goes
// first.
func priorityOf(ctx context.Context) int {
	if p, ok := tlswarden.DialPriorityOf(ctx); ok {
		return p
	}
	return math.MaxInt
}

// Acquire takes n slots, waiting by ctx's priority, or returns ctx's error.
// A single slot held for a priority no higher than ctx's is taken at
// once, before any waiter (they all have lower priorities).
func (s *prioritySem) Acquire(ctx context.Context, n int64) error {
	priority := priorityOf(ctx)
	s.mu.Lock()
	if n == 1 && s.takeHeld(priority) {
		s.mu.Unlock()
		return nil
	}
	if s.free() >= n && len(s.waiters) == 0 {
		s.cur += n
		s.mu.Unlock()
		return nil
	}
	if n > s.size {
		s.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	w := &semWaiter{n: n, priority: priority, ready: make(chan struct{})}
	s.insert(w)
	if priority < 0 {
		promote := time.AfterFunc(maxWait, func() { s.promote(w) })
		defer promote.Stop()
	}
	s.mu.Unlock()

	select {
	case <-ctx.Done():
		s.mu.Lock()
		select {
		case <-w.ready: // served after ctx ended: give the slots back
			s.cur -= n
		default:
			s.waiters = slices.DeleteFunc(s.waiters, func(o *semWaiter) bool { return o == w })
		}
		s.notify()
		s.mu.Unlock()
		return ctx.Err()
	case <-w.ready:
		if ctx.Err() != nil {
			s.Release(n)
			return ctx.Err()
		}
		return nil
	}
}

// maxWait bounds how long a dial of negative priority (one nothing
// waits for, tlswarden.DialPriority) waits: then it is served as an
// unmarked one. Such dials fill the slots the chains leave; on a server
// with a long enumeration they must still come well within their
// probe's timeout, which the wait for the endpoint's slots counts
// against.
var maxWait = 5 * time.Second

// insert queues w behind the waiters of its priority and higher.
func (s *prioritySem) insert(w *semWaiter) {
	at := slices.IndexFunc(s.waiters, func(o *semWaiter) bool { return o.priority < w.priority })
	if at < 0 {
		at = len(s.waiters)
	}
	s.waiters = slices.Insert(s.waiters, at, w)
}

// promote serves w, if it still waits, next, as an unmarked dial.
func (s *prioritySem) promote(w *semWaiter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.Index(s.waiters, w)
	if i < 0 {
		return
	}
	s.waiters = slices.Delete(s.waiters, i, i+1)
	w.priority = math.MaxInt
	s.insert(w)
	s.notify()
}

// TryAcquire takes n slots if they are free and nobody waits.
func (s *prioritySem) TryAcquire(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free() < n || len(s.waiters) > 0 {
		return false
	}
	s.cur += n
	return true
}

// Release gives n slots back.
func (s *prioritySem) Release(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur -= n
	if s.cur < 0 {
		panic("scanner: released more slots than held")
	}
	s.notify()
}

// ReleaseFor gives one slot back, taken by a dial of priority: when dials
// wait, all of a lower priority, the slot is held for up to hold for the
// next dial of that priority or higher (see endpointSlots.give), then
// freed.
func (s *prioritySem) ReleaseFor(priority int, hold time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if hold <= 0 || len(s.waiters) == 0 || s.waiters[0].priority >= priority {
		s.cur--
		s.notify()
		return
	}
	h := &heldSlot{priority: priority}
	s.held = append(s.held, h)
	h.timer = time.AfterFunc(hold, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := slices.Index(s.held, h); i >= 0 {
			s.held = slices.Delete(s.held, i, i+1)
			s.cur--
			s.notify()
		}
	})
}

// takeHeld takes a held slot whose priority is at most priority, the
// highest such.
func (s *prioritySem) takeHeld(priority int) bool {
	best := -1
	for i, h := range s.held {
		if h.priority <= priority && (best < 0 || h.priority > s.held[best].priority) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	s.held[best].timer.Stop()
	s.held = slices.Delete(s.held, best, best+1)
	return true
}

// free is the slots neither taken nor held.
func (s *prioritySem) free() int64 { return s.size - s.cur }

// notify serves the waiters in order while the first fits.
func (s *prioritySem) notify() {
	for len(s.waiters) > 0 {
		w := s.waiters[0]
		if s.free() < w.n {
			return
		}
		s.cur += w.n
		// Delete, not reslice: the array keeps no served waiter (a few
		// dozen wait at most; the shift is cheap).
		s.waiters = slices.Delete(s.waiters, 0, 1)
		close(w.ready)
	}
}
