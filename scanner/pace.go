package scanner

import (
	"context"
	"sync"
	"time"
)

// pacer spaces events at least every apart, across goroutines: a token
// bucket holding one token. Each wait reserves the next free instant, so
// waiters are served in the order they arrive.
type pacer struct {
	every time.Duration

	mu   sync.Mutex
	next time.Time // the earliest instant the next event may happen
}

// newPacer returns a pacer for perSecond events a second, or nil (which
// never waits) for zero.
func newPacer(perSecond float64) *pacer {
	if perSecond <= 0 {
		return nil
	}
	return &pacer{every: time.Duration(float64(time.Second) / perSecond)}
}

// wait blocks until the caller's turn, or until ctx ends. A canceled
// waiter's turn is not given back: the rate errs on the slow side.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	d := p.reserve(time.Now())
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reserve books the next free instant and returns how long until it.
func (p *pacer) reserve(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	return at.Sub(now)
}
