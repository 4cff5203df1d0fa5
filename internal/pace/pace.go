// Package pace spaces events evenly in time across goroutines: the
// scanner's connections and the resolver's queries, so that no burst
// reaches a server, a firewall or a resolver's rate limit at once.
package pace

import (
	"context"
	"sync"
	"time"
)

// Pacer spaces events at least every apart, across goroutines: a token
// bucket holding one token. Each wait reserves the next free instant, so
// waiters are served in the order they arrive.
type Pacer struct {
	every time.Duration

	mu   sync.Mutex
	next time.Time // the earliest instant the next event may happen
}

// New returns a Pacer for perSecond events a second, or nil (which never
// waits) for zero or less.
func New(perSecond float64) *Pacer {
	if perSecond <= 0 {
		return nil
	}
	return &Pacer{every: time.Duration(float64(time.Second) / perSecond)}
}

// Wait blocks until the caller's turn, or until ctx ends. A canceled
// waiter's turn is not given back: the rate errs on the slow side.
func (p *Pacer) Wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	d := p.Reserve(time.Now())
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

// Reserve books the next free instant and returns how long until it.
func (p *Pacer) Reserve(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	return at.Sub(now)
}
