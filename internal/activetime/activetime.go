// Package activetime bounds a probe by the time it is active: its
// deadline does not run while its endpoint's connections wait in the
// scanner's own queue (the process's connection budget and its global
// pace). Under load that queue can hold a dial for longer than a probe's
// whole timeout, and a probe timed out while it queued reports a server
// as slow when the scanner was the slow one.
//
// The scanner puts a Meter in each endpoint's context and marks the time
// its dials spend queued (Queued); WithTimeout then gives a context whose
// deadline moves later by every stretch of that time. Waits the endpoint
// causes itself (its own connection cap, its address's) still count.
package activetime

import (
	"context"
	"sync"
	"time"
)

// Meter counts the time one endpoint's dials spend waiting in the
// process's own queue: the time during which at least one of them waits.
// The zero Meter is ready; it is safe for concurrent use.
type Meter struct {
	mu      sync.Mutex
	waiting int
	since   time.Time     // when waiting last rose from 0
	queued  time.Duration // the time queued before since
}

// total returns the time queued so far, at now.
func (m *Meter) total(now time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.waiting > 0 {
		return m.queued + now.Sub(m.since)
	}
	return m.queued
}

// wait marks one more waiting dial and returns its end (once).
func (m *Meter) wait() func() {
	m.mu.Lock()
	if m.waiting == 0 {
		m.since = time.Now()
	}
	m.waiting++
	m.mu.Unlock()
	return sync.OnceFunc(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.waiting--
		if m.waiting == 0 {
			m.queued += time.Since(m.since)
		}
	})
}

type meterKey struct{}

// WithMeter returns ctx carrying m: WithTimeout below it counts only the
// time m does not count as queued.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterFrom(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

// Queued marks the start of a wait in the process's own queue by a dial
// made with ctx, and returns the function that marks its end. Without a
// Meter in ctx it does nothing.
func Queued(ctx context.Context) (done func()) {
	m := meterFrom(ctx)
	if m == nil {
		return func() {}
	}
	return m.wait()
}

// WithTimeout is context.WithTimeout over active time: ctx's Meter's
// queued time does not count towards d. The context ends with
// context.DeadlineExceeded once d of active time has passed, or when its
// parent ends. Its Deadline is the instant it would end if nothing queued
// from now on, so an I/O deadline taken from it is never later than the
// real end (queueing only moves the end later). Without a Meter in ctx it
// is context.WithTimeout.
func WithTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	m := meterFrom(ctx)
	if m == nil {
		return context.WithTimeout(ctx, d)
	}
	now := time.Now()
	c := &clock{parent: ctx, meter: m, limit: d, start: now, queued0: m.total(now), done: make(chan struct{})}
	c.mu.Lock()
	c.timer = time.AfterFunc(d, c.check)
	c.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { c.end(ctx.Err()) })
	c.mu.Lock()
	if c.err != nil {
		stop() // ended already
	}
	c.stopParent = stop
	c.mu.Unlock()
	// A standard cancelCtx on top, so that context.Cause and the contexts
	// probes derive from it behave as usual.
	child, cancel := context.WithCancel(c)
	return child, func() { cancel(); c.end(context.Canceled) }
}

// clock is a context that ends after limit of active time.
type clock struct {
	parent  context.Context
	meter   *Meter
	limit   time.Duration
	start   time.Time
	queued0 time.Duration // the meter's total at start
	done    chan struct{}

	mu         sync.Mutex
	err        error
	timer      *time.Timer
	stopParent func() bool
}

// left returns the active time left at now.
func (c *clock) left(now time.Time) time.Duration {
	active := now.Sub(c.start) - (c.meter.total(now) - c.queued0)
	return c.limit - active
}

// check runs when the time left may have run out: it ends the context,
// or waits for the rest (time queued meanwhile moved the end later).
func (c *clock) check() {
	left := c.left(time.Now())
	if left <= 0 {
		c.end(context.DeadlineExceeded)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.timer.Reset(left)
	}
}

// end ends the context with err, once.
func (c *clock) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	close(c.done)
	c.timer.Stop()
	if c.stopParent != nil {
		c.stopParent()
	}
}

// Deadline is the end if nothing queues from now on, or the parent's, if
// earlier.
func (c *clock) Deadline() (time.Time, bool) {
	now := time.Now()
	d := now.Add(c.left(now))
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		return pd, true
	}
	return d, true
}

func (c *clock) Done() <-chan struct{} { return c.done }

func (c *clock) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *clock) Value(key any) any { return c.parent.Value(key) }
