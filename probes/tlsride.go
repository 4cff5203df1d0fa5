package probes

import (
	"context"
	"slices"
	"sync"

	"github.com/tlswarden/tlswarden"
)

// Riding. The TLS 1.3 preference test offers every suite found, reversed
// and then rotated (preference), in hellos of its own; the TLS 1.3 group
// enumeration (groupChainsTLS13), started early, offers the first suite
// found with the groups not yet found, and reads only the group from each
// HelloRetryRequest. A HelloRetryRequest names the suite picked too, and
// in TLS 1.3 the suite is picked without regard to the groups offered and
// the group without regard to the suites (the key exchange is no part of
// the suite; the deferred test of groupsTLS13 relies on the same), so
// each offer of the test goes out in the next hello of a group chain
// rather than in one of its own: the test's suites, the chain's groups.
// The chain learns its group as before: the offer holds the chain's suite,
// which the server accepts, so a refusal still means that no group is
// left. The test learns its suite from an accepted answer; after any other
// (a chain's last hello, refused) the offer waits for the next group hello
// (the other chain's, or the check of their border), and when the chains
// end before one answers it, it has its own hello as before. That saves a
// connection per offer that rides: two for a server that follows the
// client's order (the reversed and the rotated offer), one for a server
// with its own.

// rider holds the offers of the TLS 1.3 preference test waiting for a
// group chain's hello, first posted first.
type rider struct {
	mu      sync.Mutex
	waiting []*ticket
}

// ticket is one offer posted to ride; the hello that takes it sends its
// answer to answer.
type ticket struct {
	offer  []uint16
	answer chan helloAnswer
}

// preference13 is preference at TLS 1.3 while the group enumeration
// runs: both offers are posted to ride at once (the rotated one is sent
// only when needed, riding costs nothing), and each that no group hello
// answers is sent on its own, the rotated one only when the reversed one
// got our first.
func (r *tlsRun) preference13(ctx context.Context, s *versionScan, candidates []uint16, build helloBuilder) {
	rev, rot := r.reversedFound(s), r.rotatedFound(s)
	tRev := r.rider.post(rev)
	var tRot *ticket
	if len(rot) > 2 {
		tRot = r.rider.post(rot)
	}
	picked, ok := r.rideOrPick(ctx, build, tRev)
	var rotated *bool
	switch {
	case tRot == nil:
	case ok && picked == rev[0]:
		got, rok := r.rideOrPick(ctx, build, tRot)
		follows := rok && got == rot[0]
		rotated = &follows
	default:
		r.rider.withdraw(tRot)
	}
	r.judgePreference(ctx, s, candidates, build, picked, ok, rotated)
}

// rideOrPick returns the suite picked from t's offer: from the group hello
// that took it, if the server accepted it, else from a hello of its own.
// An offer refused with a chain's last hello is posted again while the
// enumeration runs (another chain, or the check of their border, may
// still send one); it goes in a hello of its own once the enumeration
// has ended without an answer.
func (r *tlsRun) rideOrPick(ctx context.Context, build helloBuilder, t *ticket) (uint16, bool) {
	for {
		a, got := r.rideOnce(ctx, t)
		if got && a.ok() {
			r.log.Debug("preference offer rode on a group hello", "suite", a.sh.CipherSuite)
			return a.sh.CipherSuite, true
		}
		if !got || ctx.Err() != nil || !r.early.tls13.running() {
			return r.pick(ctx, tlswarden.TLS13, build, t.offer)
		}
		r.rider.repost(t)
	}
}

// rideOnce waits for the answer of the hello that takes t, or for the
// enumeration's end, and withdraws t if none took it; got reports an
// answer.
func (r *tlsRun) rideOnce(ctx context.Context, t *ticket) (a helloAnswer, got bool) {
	select {
	case a = <-t.answer:
		return a, true
	case <-r.early.tls13.wait():
	case <-ctx.Done():
	}
	if taken := r.rider.withdraw(t); taken {
		return <-t.answer, true // its hello answers whatever happens
	}
	return helloAnswer{}, false
}

// riding reports whether the TLS 1.3 preference test rides on the group
// enumeration's hellos: it does when that runs beside the suites'.
func (r *tlsRun) riding() bool { return !r.cfg.noRiding && r.early.tls13.started() }

// post queues offer to ride.
func (rd *rider) post(offer []uint16) *ticket {
	t := &ticket{offer: offer}
	rd.repost(t)
	return t
}

// repost queues t to ride (again), with a new channel for its answer.
func (rd *rider) repost(t *ticket) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	t.answer = make(chan helloAnswer, 1)
	rd.waiting = append(rd.waiting, t)
}

// withdraw takes t out of the queue and reports whether a hello had taken
// it already.
func (rd *rider) withdraw(t *ticket) (taken bool) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	i := slices.Index(rd.waiting, t)
	if i < 0 {
		return true
	}
	rd.waiting = slices.Delete(rd.waiting, i, i+1)
	return false
}

// take returns the suites for a group chain's hello that would offer
// suites: the first waiting offer that holds them all (so that the server
// still accepts one and a refusal still means no group is left), or
// suites themselves. deliver gets the hello's answer.
func (rd *rider) take(suites []uint16) (offer []uint16, deliver func(helloAnswer)) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	i := slices.IndexFunc(rd.waiting, func(t *ticket) bool {
		return !slices.ContainsFunc(suites, func(c uint16) bool { return !slices.Contains(t.offer, c) })
	})
	if i < 0 {
		return suites, func(helloAnswer) {}
	}
	t, answer := rd.waiting[i], rd.waiting[i].answer
	rd.waiting = slices.Delete(rd.waiting, i, i+1)
	return t.offer, func(a helloAnswer) { answer <- a }
}

// offerGroups13 sends a hello of a TLS 1.3 group chain offering groups
// and suites, or a waiting offer of the preference test in place of
// suites.
func (r *tlsRun) offerGroups13(ctx context.Context, suites, groups []uint16) helloAnswer {
	offer, deliver := r.rider.take(suites)
	a := r.offerSuites(ctx, tlswarden.TLS13, r.tls13Hello(groups), offer)
	deliver(a)
	return a
}
