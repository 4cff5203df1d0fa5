package probes

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// settleChains settles the preference and the order of the suites a
// parallel enumeration found (see "Parallel enumeration"): s.suites holds
// s1 first, then every chain's finds; lists holds each chain's finds in
// the order found.
func (r *tlsRun) settleChains(ctx context.Context, s *versionScan, lists [][]tlswarden.Suite, candidates []uint16, build helloBuilder) {
	first := s.suites[0].Code
	subs, classed := guessOrder(lists)
	sortSuites(s.suites, joinRuns(first, subs))
	rev := r.reversedFound(s)
	offers := [][]uint16{rev}
	var borders []int // the index in subs of the run after each border pair
	for j := 1; j < len(subs); j++ {
		if subs[j-1].chain != subs[j].chain {
			prev := subs[j-1].codes
			offers = append(offers, []uint16{subs[j].codes[0], prev[len(prev)-1]})
			borders = append(borders, j)
		}
	}
	answers := r.pickAll(ctx, s.version, build, offers)
	s.pref = tlswarden.PreferIndeterminate
	switch rv := answers[0]; {
	case !rv.ok:
	case rv.code == rev[len(rev)-1]:
		s.pref = tlswarden.PreferServer
		var failed []int
		for i, j := range borders {
			if a := answers[i+1]; !a.ok || a.code != offers[i+1][1] {
				failed = append(failed, j)
			}
		}
		order, ok := r.repairGuess(ctx, s.version, build, first, lists, subs, classed, failed)
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

// repairGuess returns a server's order from the guess and the border pairs
// it got wrong (failed: indexes in subs). With none wrong every neighbour
// pair is checked, by a chain or by a hello, and the guess is its order.
// Pairs wrong inside a class group are mended by merging that group's runs
// (the groups at once); a pair wrong between groups, or a chain that found
// its suites out of group order, leaves no part of the guess to trust: all
// chains are merged. It reports whether every hello was answered.
func (r *tlsRun) repairGuess(ctx context.Context, v tlswarden.Version, build helloBuilder, first uint16, lists [][]tlswarden.Suite, subs []run, classed bool, failed []int) ([]uint16, bool) {
	if !classed || slices.ContainsFunc(failed, func(j int) bool { return subs[j-1].group != subs[j].group }) {
		all := make([][]uint16, len(lists))
		for i, l := range lists {
			all[i] = suiteCodes(l)
		}
		merged, ok := r.mergeHeads(ctx, v, build, all)
		return append([]uint16{first}, merged...), ok
	}
	groups := map[int]bool{}
	for _, j := range failed {
		groups[subs[j].group] = true
	}
	merged := make([]run, len(subs))
	copy(merged, subs)
	var wg sync.WaitGroup
	var okAll atomic.Bool
	okAll.Store(true)
	for g := range groups {
		var in [][]uint16
		at := -1
		for i, sub := range subs {
			if sub.group == g {
				in = append(in, sub.codes)
				if at < 0 {
					at = i
				}
				merged[i].codes = nil
			}
		}
		wg.Go(func() {
			m, ok := r.mergeHeads(ctx, v, build, in)
			merged[at].codes = m
			if !ok {
				okAll.Store(false)
			}
		})
	}
	wg.Wait()
	return joinRuns(first, merged), okAll.Load()
}

// run is the suites one chain found in one class group, in the order found.
type run struct {
	codes        []uint16
	chain, group int
}

// classGroup is the group of a suite that a server's own order keeps
// together, as far as seen: forward-secret AEAD, forward-secret other,
// AEAD, the rest. That is OpenSSL's default sort (it moves forward-secret
// AEAD first, then forward-secret, then AEAD, and counts anonymous
// (EC)DH as forward-secret), which interleaves ECDHE and DHE by strength
// inside a group but never mixes groups; explicit lists (Mozilla's) keep
// even the classes apart.
func classGroup(code uint16) int {
	s, _ := iana.Suite(code)
	fs := strings.HasPrefix(s.KeyExchange, "ECDHE_") || strings.HasPrefix(s.KeyExchange, "DHE_") ||
		s.KeyExchange == "DH_anon" || s.KeyExchange == "ECDH_anon"
	switch {
	case fs && s.AEAD():
		return 0
	case fs:
		return 1
	case s.AEAD():
		return 2
	}
	return 3
}

// guessOrder returns the order a parallel enumeration suggests after the
// first pick, as runs: each chain's finds split by class group, the groups
// in order, and inside a group the chains' runs by their best class, each
// in the order its chain found it. classed reports whether every chain
// found its suites in group order; if one did not, the guess cannot be
// the server's order.
func guessOrder(lists [][]tlswarden.Suite) (runs []run, classed bool) {
	classed = true
	type key struct{ chain, group int }
	best := map[key]int{}
	at := map[key]int{}
	for ci, l := range lists {
		prev := -1
		for _, su := range l {
			rk := suiteRank(su.Code)
			k := key{ci, classGroup(su.Code)}
			classed = classed && k.group >= prev
			prev = k.group
			i, ok := at[k]
			if !ok {
				i, best[k] = len(runs), rk
				at[k] = i
				runs = append(runs, run{chain: ci, group: k.group})
			}
			best[k] = min(best[k], rk)
			runs[i].codes = append(runs[i].codes, su.Code)
		}
	}
	slices.SortStableFunc(runs, func(a, b run) int {
		return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(best[key{a.chain, a.group}], best[key{b.chain, b.group}]))
	})
	return runs, classed
}

// joinRuns is first, then the runs' suites in order.
func joinRuns(first uint16, runs []run) []uint16 {
	order := []uint16{first}
	for _, r := range runs {
		order = append(order, r.codes...)
	}
	return order
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

// mergeHeads merges lists, each in the server's order, into its order
// over them all: each hello offers the head of every list not yet merged
// and places the one picked. It reports whether every hello was answered.
func (r *tlsRun) mergeHeads(ctx context.Context, v tlswarden.Version, build helloBuilder, lists [][]uint16) ([]uint16, bool) {
	var order []uint16
	heads := slices.DeleteFunc(slices.Clone(lists), func(l []uint16) bool { return len(l) == 0 })
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
