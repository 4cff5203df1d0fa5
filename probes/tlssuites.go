package probes

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// helloBuilder writes the ClientHello of one version for a list of suites.
type helloBuilder func(suites []uint16) *hello.ClientHello

// scanSuites tests version v (SSLv3 to TLS 1.3): it enumerates the suites
// the server accepts among candidates, then tests whose order decides.
func (r *tlsRun) scanSuites(ctx context.Context, v tlswarden.Version, candidates []uint16, build helloBuilder) *versionScan {
	s := &versionScan{version: v}
	partial, lists := r.enumerate(ctx, s, candidates, build)
	switch {
	case !s.supported:
		return s
	case len(s.suites) < 2 || s.err != nil:
		s.pref = tlswarden.PreferIndeterminate
		return s
	case lists != nil:
		r.settleChains(ctx, s, lists, candidates, build)
		return s
	}
	if partial && !r.order(ctx, s, build) {
		s.pref = tlswarden.PreferIndeterminate
		return s
	}
	if v == tlswarden.TLS13 && !r.cfg.NoGroups && !r.early.tls13.started() {
		// The group enumeration's hellos offer these suites anyway: they
		// carry the preference test, at no connection of its own.
		s.prefDeferred = true
		return s
	}
	r.preference(ctx, s, candidates, build)
	return s
}

// Parallel enumeration. Offer all, remove the one picked, offer again: one
// connection after the other, each waiting for the last, a round trip and
// a connect apiece. Once the first hello has found the version supported
// and picked the server's favourite (s1), the candidates left are dealt by
// class (chainBlocks) into parts enumerated at once, each chain offering
// only its part. A server that follows the client's order answers each
// chain in our order; one with its own order answers each in its order
// restricted to the part. Either way the guess is the same: s1, then the
// suites found by groups of classes (classGroup), inside a group each
// chain's run as it found it. One round of hellos sent together then
// settles the order: the preference test (every suite found, reversed)
// and, where two neighbours of the guess came from different chains, the
// pair offered the wrong way round. A server with its own order that picks
// the second of every pair has its order proved: each neighbour pair is
// checked, by a chain or by a hello. Explicit cipher lists (Mozilla's) keep
// even the classes apart; OpenSSL's default sort interleaves ECDHE and DHE
// by strength inside a group, never across. A pair found wrong inside a
// group has that group's runs merged, a hello per suite placed, the groups
// at once; one wrong between groups has everything merged, as slowly as
// the sequential enumeration. A verdict "client" is confirmed by a pair's
// answer where one can tell, else by the rotated offer. The cost over the
// sequential enumeration: a refused hello per extra chain and a hello per
// border between chains (about a fifth more connections), and the merges
// where a server interleaves. Bundle mode (a server that chokes on large
// hellos) stays sequential, and so does a server that answers one
// connection at a time (tlsqueue.go), where chains save no time.

// chainBlocks maps a suite's class (suiteRank) to the chain that
// enumerates it: ECDHE AEAD with the long tail of rare classes, DHE AEAD
// with RSA key exchange AEAD, forward-secret CBC on its own. Each chain
// then has about as much to find on the servers seen in the wild.
var chainBlocks = [...]int{0: 0, 1: 1, 2: 2, 3: 2, 4: 1, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0}

// chainParts deals candidates into the parts of a parallel enumeration, in
// candidate order within each. Before TLS 1.2 no AEAD suite can be
// negotiated (RFC 5288, 5116): their chain would only cost a refused
// hello, so they join the first.
func chainParts(v tlswarden.Version, candidates []uint16) [][]uint16 {
	parts := make([][]uint16, 3)
	for _, c := range candidates {
		b := chainBlocks[suiteRank(c)]
		if b == 1 && v < tlswarden.TLS12 {
			b = 0
		}
		parts[b] = append(parts[b], c)
	}
	return slices.DeleteFunc(parts, func(p []uint16) bool { return len(p) == 0 })
}

// enumerate offers the candidates at s.version, records the suite the
// server picks, removes it and offers the rest, until the server refuses.
// Once the first hello, offering every candidate, is answered, the rest is
// enumerated in parallel chains whose finds it returns (lists), one per
// part. In bundle mode only the first few remaining candidates go into
// each hello and a refused bundle is dropped; it reports whether a suite
// was picked from such a partial offer, in which case the order found is
// not the server's.
func (r *tlsRun) enumerate(ctx context.Context, s *versionScan, candidates []uint16, build helloBuilder) (partial bool, lists [][]tlswarden.Suite) {
	remaining := slices.Clone(candidates)
	for first := true; len(remaining) > 0; first = false {
		if len(s.suites) == 1 && !partial && r.bundle.Load() == 0 && s.version != tlswarden.TLS13 && !r.oneAtATime(ctx) {
			return false, r.enumerateChains(ctx, s, remaining, build)
		}
		offer := remaining[:r.bundleSize(len(remaining))]
		a := r.offerSuites(ctx, s.version, build, offer)
		if first && a.closed && r.cfg.MaxHelloSuites == 0 && len(offer) > fallbackBundle {
			offer, a = r.tryBundle(ctx, s.version, build, remaining)
		}
		switch a.verdict {
		case verdictAccepted:
			s.accept(a)
			r.startEarlyGroups(ctx, s.version, a)
			partial = partial || len(offer) < len(remaining)
			remaining = slices.DeleteFunc(remaining, func(c uint16) bool { return c == a.sh.CipherSuite })
		case verdictOtherVersion:
			// At first: the version is not supported. Later: a server that
			// picks the version by the suites left has none of them at this
			// version.
			s.answered = true
			return partial, nil
		case verdictRefused:
			s.answered = s.answered || !a.closed
			if len(offer) < len(remaining) {
				remaining = remaining[len(offer):] // nothing in this bundle is accepted
				continue
			}
			if !s.answered {
				s.closed, s.err = true, fmt.Errorf("%s ClientHello: %w", s.version, a.err)
			}
			return partial, nil
		case verdictFailed:
			s.err = fmt.Errorf("%s ClientHello: %w", s.version, a.err)
			return partial, nil
		}
	}
	return partial, nil
}

// enumerateChains enumerates the remaining candidates as one chain per
// part, run at once, adds what they find to s and returns each chain's
// finds in the order found.
func (r *tlsRun) enumerateChains(ctx context.Context, s *versionScan, remaining []uint16, build helloBuilder) [][]tlswarden.Suite {
	parts := chainParts(s.version, remaining)
	chains := make([]*versionScan, len(parts))
	var wg sync.WaitGroup
	for i, deal := range parts {
		chains[i] = &versionScan{version: s.version, answered: true}
		if len(deal) > 0 {
			wg.Go(func() { r.enumerateChain(ctx, chains[i], deal, build) })
		}
	}
	wg.Wait()
	lists := make([][]tlswarden.Suite, len(chains))
	for i, c := range chains {
		lists[i] = c.suites
		s.suites = append(s.suites, c.suites...)
		if s.err == nil {
			s.err = c.err
		}
	}
	r.log.Debug("suites enumerated in parallel", "version", s.version.String(), "chains", len(parts), "suites", len(s.suites))
	return lists
}

// enumerateChain is one chain of a parallel enumeration: offer, record,
// remove, until the server refuses.
func (r *tlsRun) enumerateChain(ctx context.Context, c *versionScan, deal []uint16, build helloBuilder) {
	for len(deal) > 0 {
		a := r.offerSuites(ctx, c.version, build, deal)
		switch a.verdict {
		case verdictAccepted:
			c.accept(a)
			r.startEarlyGroups(ctx, c.version, a)
			deal = slices.DeleteFunc(deal, func(code uint16) bool { return code == a.sh.CipherSuite })
		case verdictFailed:
			c.err = fmt.Errorf("%s ClientHello: %w", c.version, a.err)
			return
		default:
			return
		}
	}
}

// tryBundle is the fallback for a server that closed the connection on a
// hello offering every suite: if it answers a hello with a bundle of them,
// every later hello of the run offers bundles.
func (r *tlsRun) tryBundle(ctx context.Context, v tlswarden.Version, build helloBuilder, remaining []uint16) ([]uint16, helloAnswer) {
	offer := remaining[:fallbackBundle]
	a := r.offerSuites(ctx, v, build, offer)
	if !a.closed && a.verdict != verdictFailed {
		if r.bundle.CompareAndSwap(0, fallbackBundle) {
			r.log.Debug("server closes on large hellos; offering suites in bundles", "version", v.String(), "bundle", fallbackBundle)
		}
	}
	return offer, a
}

// bundleSize returns how many of n remaining suites go into one hello.
func (r *tlsRun) bundleSize(n int) int {
	if b := int(r.bundle.Load()); b > 0 && b < n {
		return b
	}
	return n
}

// offerSuites sends one hello at version v offering suites and judges the
// reply. Hellos of TLS 1.2 and older read on to the ServerKeyExchange.
func (r *tlsRun) offerSuites(ctx context.Context, v tlswarden.Version, build helloBuilder, suites []uint16) helloAnswer {
	if _, ok := tlswarden.DialPriorityOf(ctx); !ok {
		ctx = tlswarden.DialPriority(ctx, helloPriority(v, suites))
	}
	f, err := r.send(ctx, build(suites), v != tlswarden.TLS13)
	return judgeReply(v, suites, f, err)
}

// Priorities. Over a network an endpoint's scan is chains of hellos,
// each waiting for the last one's answer, sharing the endpoint's few
// connection slots: it ends with its longest chain, which should never
// wait for a slot while the short ones fill the slots around it (longest
// path first, as a list scheduler does). Each hello's connection asks
// with a priority (tlswarden.DialPriority) that guesses the hellos still
// behind it. A newer version accepts what an older one does and more
// (TLS 1.2 adds the AEAD and SHA-2 suites), so its enumeration is the
// longest: it goes first; within a version, the hello that offers the
// most candidates has the most left to find. The order tests (pick) have
// nothing or a merge step behind them and come after every enumerating
// hello. On the fleet's slowest endpoint (nginx "ALL:@SECLEVEL=0" at TLS
// 1.0 to 1.2, 126 connections under a cap of 4) TLS 1.2's chain of 25
// hellos otherwise waited for a slot at 5 to 7 of its steps.

// helloPriority is the priority of an enumerating hello at version v
// offering suites.
func helloPriority(v tlswarden.Version, suites []uint16) int {
	return int(v)<<16 | orderPriority(suites)
}

// orderPriority is the priority of an order test offering suites: below
// every enumerating hello.
func orderPriority(suites []uint16) int {
	return min(len(suites), 1<<16-1)
}

// accept records the suite of an accepted hello.
func (s *versionScan) accept(a helloAnswer) {
	s.supported, s.answered = true, true
	suite := tlswarden.Suite{Code: a.sh.CipherSuite, Name: iana.SuiteName(a.sh.CipherSuite)}
	switch {
	case s.version == tlswarden.TLS13 && a.sh.KeyShareGroup != 0:
		suite.Group = iana.GroupName(a.sh.KeyShareGroup)
		if len(s.suites) == 0 {
			s.firstGroup = a.sh.KeyShareGroup
		}
	case a.kx != nil && a.kx.DHBits > 0:
		suite.DHBits = a.kx.DHBits
		if g, ok := iana.FFDHEGroup(a.kx.DHPrime); ok {
			suite.Group = iana.GroupName(g)
		}
	case a.kx != nil:
		suite.Group = skeCurveName(a.kx)
	}
	s.suites = append(s.suites, suite)
}

// skeCurveName names the curve of an ECDHE ServerKeyExchange.
func skeCurveName(kx *hello.KeyExchange) string {
	switch kx.CurveType {
	case 3:
		return iana.GroupName(kx.Curve)
	case 1:
		return "explicit_prime"
	case 2:
		return "explicit_char2"
	}
	return fmt.Sprintf("curve_type_%d", kx.CurveType)
}

// order finds the server's order among the suites found through partial
// offers: find the one it picks among them all, record it, remove it,
// repeat. It reports whether it could.
func (r *tlsRun) order(ctx context.Context, s *versionScan, build helloBuilder) bool {
	left := suiteCodes(s.suites)
	var ordered []uint16
	for len(left) > 1 {
		top, ok := r.top(ctx, s.version, build, left)
		if !ok {
			return false
		}
		ordered = append(ordered, top)
		left = slices.DeleteFunc(left, func(c uint16) bool { return c == top })
	}
	sortSuites(s.suites, append(ordered, left...))
	return true
}

// top returns the suite the server picks among suites. When they do not fit
// one hello, they go a bundle at a time, each hello carrying the last
// winner along.
func (r *tlsRun) top(ctx context.Context, v tlswarden.Version, build helloBuilder, suites []uint16) (uint16, bool) {
	n := r.bundleSize(len(suites))
	if n < 2 && len(suites) > 1 {
		return 0, false
	}
	winner, ok := r.pick(ctx, v, build, suites[:n])
	for rest := suites[n:]; ok && len(rest) > 0; {
		k := min(len(rest), n-1)
		winner, ok = r.pick(ctx, v, build, append([]uint16{winner}, rest[:k]...))
		rest = rest[k:]
	}
	return winner, ok
}

// preference re-offers the suites found in reverse order. A server that
// picks the same suite as first picked its own order, which is then the
// order found. One that picks our first may follow the client, or may only
// take a hint from our first suite (Go and OpenSSL servers prefer ChaCha20
// when a client lists it first): with three suites or more a second offer,
// rotated, must confirm it before the verdict is "client" and the suites are
// listed in the order offered. In bundle mode only as many suites as fit a
// hello take part.
func (r *tlsRun) preference(ctx context.Context, s *versionScan, candidates []uint16, build helloBuilder) {
	if s.version == tlswarden.TLS13 && r.riding() {
		r.preference13(ctx, s, candidates, build)
		return
	}
	picked, ok := r.pick(ctx, s.version, build, r.reversedFound(s))
	r.judgePreference(ctx, s, candidates, build, picked, ok, nil)
}

// preferenceSet returns the suites found that take part in the preference
// test, in the order found: as many as fit a hello, two at least. The
// result is the caller's.
func (r *tlsRun) preferenceSet(s *versionScan) []uint16 {
	found := suiteCodes(s.suites)
	return found[:max(2, r.bundleSize(len(found)))]
}

// reversedFound returns the preference set in reverse order: the first
// offer of the preference test.
func (r *tlsRun) reversedFound(s *versionScan) []uint16 {
	rev := r.preferenceSet(s)
	slices.Reverse(rev)
	return rev
}

// judgePreference sets s.pref from the suite picked from the reversed
// offer (ok false: none was) and, when the answer could be the client's
// order, from the rotated offer: rotated, when not nil, is its answer
// already had, else it is sent now.
func (r *tlsRun) judgePreference(ctx context.Context, s *versionScan, candidates []uint16, build helloBuilder, picked uint16, ok bool, rotated *bool) {
	rev := r.reversedFound(s)
	s.pref = tlswarden.PreferIndeterminate
	switch {
	case !ok:
		return
	case picked == rev[len(rev)-1]:
		s.pref = tlswarden.PreferServer
		return
	case picked != rev[0]:
		return
	}
	if rotated == nil {
		follows := r.rotatedFollowsClient(ctx, s, build)
		rotated = &follows
	}
	if !*rotated {
		return
	}
	s.pref = tlswarden.PreferClient
	sortSuites(s.suites, candidates)
}

// rotatedFollowsClient offers the suites found (as many as fit a hello)
// rotated by one and reports whether the server picks our first; with two
// suites or fewer there is nothing to rotate.
func (r *tlsRun) rotatedFollowsClient(ctx context.Context, s *versionScan, build helloBuilder) bool {
	rot := r.rotatedFound(s)
	if len(rot) <= 2 {
		return true
	}
	picked, ok := r.pick(ctx, s.version, build, rot)
	return ok && picked == rot[0]
}

// rotatedFound returns the preference set rotated by one: the second offer
// of the preference test.
func (r *tlsRun) rotatedFound(s *versionScan) []uint16 {
	set := r.preferenceSet(s)
	return append(set[1:], set[0])
}

// pick offers suites and returns the one the server picks, if it picks one.
func (r *tlsRun) pick(ctx context.Context, v tlswarden.Version, build helloBuilder, suites []uint16) (uint16, bool) {
	a := r.offerSuites(tlswarden.DialPriority(ctx, orderPriority(suites)), v, build, suites)
	if a.verdict != verdictAccepted {
		r.log.Debug("order test got no ServerHello", "version", v.String(), "err", a.err)
		return 0, false
	}
	return a.sh.CipherSuite, true
}

func suiteCodes(suites []tlswarden.Suite) []uint16 {
	codes := make([]uint16, len(suites))
	for i, s := range suites {
		codes[i] = s.Code
	}
	return codes
}

// sortSuites puts suites in the order of their codes in order.
func sortSuites(suites []tlswarden.Suite, order []uint16) {
	slices.SortStableFunc(suites, func(a, b tlswarden.Suite) int {
		return slices.Index(order, a.Code) - slices.Index(order, b.Code)
	})
}
