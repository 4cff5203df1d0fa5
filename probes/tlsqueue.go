package probes

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/tlswarden/tlswarden/probes/hello"
)

// Servers that answer one connection at a time. gnutls-serv, `openssl
// s_server` and many appliances accept every connection (the kernel
// does) but take the next handshake only once the one before is over.
// Over a network each connection then costs the endpoint a round trip of
// its own, whatever the probe runs in parallel, and the parallel chains
// of the suite enumeration (tlssuites.go) only add the hellos that merge
// their finds: on gnutls-serv with its own order
// (NORMAL:%SERVER_PRECEDENCE) 73 connections where one chain a version
// needs 44. So the probe watches when its hellos are answered, and on
// such a server enumerates each version in one chain: the same facts,
// fewer connections, no merging.
//
// The sign: such a server's ServerHellos never come close together. After
// one it waits for the client, which the probe closes as soon as it has
// read the answer; the close takes half a round trip to reach the server
// and the next ServerHello half a round trip back, so two come at least a
// round trip apart, even for hellos sent together. (An alert the server
// follows with its own close, and may send at any time: alerts do not
// count.) A server that serves connections at once answers hellos sent
// together together, a busy one with some spread, but not a round trip
// between every two. So the gaps that count are those between a
// ServerHello and the one before it, when its hello was sent before that
// one came (it could have come as soon); one such gap much shorter than a
// round trip (quickGap) shows a server that serves connections at once,
// and the run keeps its chains; gaps all of a round trip show one that
// does not. The quickest answer of the run stands for the round trip: a
// round trip after the hello on a real path, two behind a relay that
// holds the hello for the connect's (the benchmarks' latency proxy), so a
// quarter of it is well below the gap of either. On loopback the gaps are
// too short to tell from a busy host's scheduling (the floor): the chains
// stay, and cost little there.
//
// The chains start at a version's first ServerHello; when too few gaps
// are known by then, the decision waits for the next ServerHello to a
// hello sent before the last, at most a quickGap: one that has not come
// by then is a gap of a round trip in the making.

// queueWatch gathers the answer times of one run's hellos.
type queueWatch struct {
	mu       sync.Mutex
	quickest time.Duration // the quickest answer so far, 0 before any
	last     time.Time     // when the last ServerHello came
	wide     int           // gaps of a round trip between answers of hellos sent together
	close    bool          // a gap much shorter was seen
	waiting  map[*timedReader]struct{}
	wake     chan struct{} // closed (and replaced) at each ServerHello
}

// gapFloor is the least gap that can count as a round trip's.
const gapFloor = 10 * time.Millisecond

// quickGap is the gap between two answers below which they came together:
// a quarter of the quickest answer, at least the floor.
func quickGap(quickest time.Duration) time.Duration { return max(gapFloor, quickest/4) }

// sent records a hello sent, to be answered on t.
func (q *queueWatch) sent(t *timedReader) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.waiting == nil {
		q.waiting = map[*timedReader]struct{}{}
	}
	q.waiting[t] = struct{}{}
}

// ended records that t's exchange is over, answered or not.
func (q *queueWatch) ended(t *timedReader) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.waiting, t)
}

// answered records the first bytes of an answer to t, at at; held says
// they were not an alert.
func (q *queueWatch) answered(t *timedReader, at time.Time, held bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.waiting, t)
	if d := at.Sub(t.sent); q.quickest == 0 || d < q.quickest {
		q.quickest = d
	}
	if !held {
		return
	}
	if !q.last.IsZero() && t.sent.Before(q.last) {
		if at.Sub(q.last) < quickGap(q.quickest) {
			q.close = true
		} else {
			q.wide++
		}
	}
	if at.After(q.last) {
		q.last = at
	}
	if q.wake != nil {
		close(q.wake)
		q.wake = nil
	}
}

// oneAtATime reports whether the answers say the server serves one
// connection at a time: never a short gap between ServerHellos to hellos
// sent together, and two signs of a round trip's: gaps, or a hello sent
// before the last ServerHello and still waiting a quickGap after it (the
// next gap in the making, waited for as the comment above says). One
// sign alone is too little: on a busy host a server that serves
// connections at once may answer one hello a round trip late. With no
// gap at all yet (the version's ServerHello is the run's first), the
// decision waits up to the quickest answer's time for the next.
func (q *queueWatch) oneAtATime(ctx context.Context) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		switch {
		case q.close:
			return false
		case q.wide >= 2:
			return true
		case q.last.IsZero() || !q.behind():
			return false
		}
		// With a gap known, a quickGap tells the next one; with none, the
		// wait is for the waiting hello's answer itself, a round trip at
		// most, and only the gap it makes can count twice.
		limit := quickGap(q.quickest)
		if q.wide == 0 {
			limit = q.quickest
		}
		wait := time.Until(q.last.Add(limit))
		if wait <= 0 {
			return q.wide >= 1
		}
		if q.wake == nil {
			q.wake = make(chan struct{})
		}
		wake := q.wake
		q.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		q.mu.Lock()
		if ctx.Err() != nil {
			return false
		}
	}
}

// behind reports whether a hello sent before the last ServerHello still
// waits for its answer. The caller holds mu.
func (q *queueWatch) behind() bool {
	for t := range q.waiting {
		if t.sent.Before(q.last) {
			return true
		}
	}
	return false
}

// timedReader reads one hello's answer, telling the run's queueWatch when
// its first bytes came.
type timedReader struct {
	r    io.Reader
	sent time.Time
	q    *queueWatch
	done bool
}

func (t *timedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 && !t.done {
		t.done = true
		t.q.answered(t, time.Now(), p[0] != hello.RecordAlert)
	}
	return n, err
}

// oneAtATime reports whether the run's answers say the server serves one
// connection at a time (and the chains are not forced).
func (r *tlsRun) oneAtATime(ctx context.Context) bool {
	if r.cfg.alwaysChains || !r.queue.oneAtATime(ctx) {
		return false
	}
	r.log.Debug("server answers one connection at a time; enumerating in one chain")
	return true
}
