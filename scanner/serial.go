package scanner

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"

	"github.com/tlswarden/tlswarden"
)

// endpointSlots bounds the connections to one endpoint, and knows which
// are open: a server that serves one connection at a time lets a hello
// wait behind another probe's connection until it times out. A probe then
// retries alone (tlswarden.DialAlone), taking every slot; when the retry
// is answered after a crowded timeout, the probe asks for one connection
// at a time (tlswarden.OneAtATime) and every later dial takes every slot.
type endpointSlots struct {
	sem    *semaphore.Weighted
	size   int64
	serial atomic.Bool

	mu   sync.Mutex
	open map[*slotConn]struct{}
}

func newEndpointSlots(size int) *endpointSlots {
	return &endpointSlots{sem: semaphore.NewWeighted(int64(size)), size: int64(size), open: map[*slotConn]struct{}{}}
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
