package probes

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// settleChains settles the preference and the order of the suites a
// parallel enumeration found (see "Parallel enumeration"): s.suites holds
// s1 first, then every chain's finds; lists holds each chain's finds in
// the order found.
func (r *tlsRun) settleChains(ctx context.Context, s *versionScan, lists [][]tlswarden.Suite, candidates []uint16, build helloBuilder) {
	guess, borders, classed := guessOrder(s.suites[0].Code, lists)
	sortSuites(s.suites, guess)
	rev := r.reversedFound(s)
	offers := [][]uint16{rev}
	for _, i := range borders {
		offers = append(offers, []uint16{guess[i+1], guess[i]})
	}
	answers := r.pickAll(ctx, s.version, build, offers)
	s.pref = tlswarden.PreferIndeterminate
	switch rv := answers[0]; {
	case !rv.ok:
	case rv.code == rev[len(rev)-1]:
		s.pref = tlswarden.PreferServer
		if classed && allPickedSecond(offers[1:len(borders)+1], answers[1:len(borders)+1]) {
			return // every neighbour pair checked: the guess is its order
		}
		order, ok := r.mergeHeads(ctx, s.version, build, guess[0], lists)
		if !ok {
			s.pref = tlswarden.PreferIndeterminate
			return
		}
		sortSuites(s.suites, order)
	case rv.code == rev[0] && r.confirmClient(ctx, s, build, offers[1:], answers[1:]):
		s.pref = tlswarden.PreferClient
		sortSuites(s.suites, candidates)
	}
}

// confirmClient confirms that a server whose answer to the reversed offer
// was our first follows the client's order, as the rotated offer of the
// preference test does (see preference): from a border pair's answer when
// one can tell, else with the rotated offer, sent now. The rotated offer is
// sent only here, after the reversed one, rather than beside it: most
// servers keep their own order, and would answer it for nothing.
func (r *tlsRun) confirmClient(ctx context.Context, s *versionScan, build helloBuilder, pairs [][]uint16, answers []picked) bool {
	if i := confirmingBorder(pairs, r.reversedFound(s)[0]); i >= 0 {
		return answers[i].ok && answers[i].code == pairs[i][0]
	}
	return r.rotatedFollowsClient(ctx, s, build)
}

// confirmingBorder returns the index of a border pair that can confirm a
// server follows the client's order, as the rotated offer of the
// preference test does: its first suite is not last, the reversed offer's
// first, and not ChaCha20, which servers pick when the client lists it
// first; -1 if none can.
func confirmingBorder(pairs [][]uint16, last uint16) int {
	return slices.IndexFunc(pairs, func(p []uint16) bool { return p[0] != last && chacha(p[0]) == 0 })
}

// guessOrder returns the order a parallel enumeration suggests: first (the
// pick among every candidate), then the chains' finds by class, each
// class in the order its chain found it. borders are the indexes i of the
// guess where guess[i] and guess[i+1] came from different chains: the
// pairs no chain has ordered. classed reports whether every chain found
// its suites in class order; if one did not, the guess cannot be the
// server's order and borders is nil.
func guessOrder(first uint16, lists [][]tlswarden.Suite) (guess []uint16, borders []int, classed bool) {
	type found struct {
		code        uint16
		chain, rank int
	}
	var rest []found
	classed = true
	for ci, l := range lists {
		prev := -1
		for _, su := range l {
			rk := suiteRank(su.Code)
			classed = classed && rk >= prev
			prev = rk
			rest = append(rest, found{su.Code, ci, rk})
		}
	}
	slices.SortStableFunc(rest, func(a, b found) int { return cmp.Compare(a.rank, b.rank) })
	guess = append(guess, first)
	for i, f := range rest {
		guess = append(guess, f.code)
		if i > 0 && rest[i-1].chain != f.chain && classed {
			borders = append(borders, i)
		}
	}
	return guess, borders, classed
}

// picked is the answer to one offer of an order test.
type picked struct {
	code uint16
	ok   bool
}

// pickAll sends the offers at once and returns the suite picked from each.
func (r *tlsRun) pickAll(ctx context.Context, v tlswarden.Version, build helloBuilder, offers [][]uint16) []picked {
	out := make([]picked, len(offers))
	var wg sync.WaitGroup
	for i, o := range offers {
		wg.Go(func() { out[i].code, out[i].ok = r.pick(ctx, v, build, o) })
	}
	wg.Wait()
	return out
}

// allPickedSecond reports whether the server picked the second suite of
// every pair.
func allPickedSecond(pairs [][]uint16, answers []picked) bool {
	for i, p := range pairs {
		if !answers[i].ok || answers[i].code != p[1] {
			return false
		}
	}
	return true
}

// mergeHeads merges the chains' finds, each in the server's order, into
// its order over them all, first (its favourite) at the top: each hello
// offers the head of every chain not yet merged and places the one
// picked. It reports whether every hello was answered.
func (r *tlsRun) mergeHeads(ctx context.Context, v tlswarden.Version, build helloBuilder, first uint16, lists [][]tlswarden.Suite) ([]uint16, bool) {
	order := []uint16{first}
	heads := make([][]uint16, 0, len(lists))
	for _, l := range lists {
		if len(l) > 0 {
			heads = append(heads, suiteCodes(l))
		}
	}
	for len(heads) > 1 {
		offer := make([]uint16, len(heads))
		for i, h := range heads {
			offer[i] = h[0]
		}
		// Go's and OpenSSL's servers pick ChaCha20 whenever the client lists
		// it first: it goes last, or the hello would ask for that.
		slices.SortStableFunc(offer, func(a, b uint16) int { return cmp.Compare(chacha(a), chacha(b)) })
		top, ok := r.pick(ctx, v, build, offer)
		i := slices.IndexFunc(heads, func(h []uint16) bool { return h[0] == top })
		if !ok || i < 0 {
			return nil, false
		}
		order = append(order, top)
		if heads[i] = heads[i][1:]; len(heads[i]) == 0 {
			heads = slices.Delete(heads, i, i+1)
		}
	}
	if len(heads) == 1 {
		order = append(order, heads[0]...)
	}
	r.log.Debug("server order merged across chains", "version", v.String(), "suites", len(order))
	return order, true
}

// chacha ranks a ChaCha20 suite 1, any other 0.
func chacha(code uint16) int {
	if s, _ := iana.Suite(code); strings.Contains(s.Cipher, "CHACHA20") {
		return 1
	}
	return 0
}
