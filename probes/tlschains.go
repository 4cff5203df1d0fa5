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
	again := interleave // the second guess for a group whose borders fail
	if classed && looksOpenSSLSorted(lists) {
		// Chains that found their parts as OpenSSL's default sort orders
		// them: guess that sort's interleaving first, the classes apart
		// second.
		subs, again = interleaveGroups(subs), blockGuess
	}

	sortSuites(s.suites, joinRuns(first, subs))
	rev := r.reversedFound(s)
	var pairs [][]uint16
	var borders []int // the index in subs of the run after each border pair
	for j := 1; j < len(subs); j++ {
		if subs[j-1].chain != subs[j].chain {
			prev := subs[j-1].codes
			pairs = append(pairs, []uint16{subs[j].codes[0], prev[len(prev)-1]})
			borders = append(borders, j)
		}
	}
	// Chains that all found their parts in our order suggest a server that
	// follows it, for which the border pairs say nothing but the one that
	// confirms it: the others wait for the preference test's answer.
	sent := pairs
	clientLike := inOrder(lists, candidates)
	if clientLike {
		sent = nil
		if i := confirmingBorder(pairs, rev[0]); i >= 0 {
			sent = pairs[i : i+1]
		}
	}
	// A server with its own order picks the second suite of every pair
	// (offered the wrong way round), which proves its preference as the
	// reversed offer would. So the reversed offer goes out beside the
	// pairs only where they cannot answer (a server that seems to follow
	// our order, or no pairs); where a pair fails it goes out then, beside
	// the repair of the guess (repairGuess), whose order counts only if
	// the reversed offer shows the server's preference. On nginx with
	// OpenSSL's ALL in its own order that spares a connection a version.
	if clientLike || len(pairs) == 0 {
		answers := r.pickAll(ctx, s.version, build, append([][]uint16{rev}, sent...))
		settlePreference(s, answers[0], rev, candidates, func() bool {
			return r.confirmClient(ctx, s, build, sent, answers[1:])
		}, func() ([]uint16, bool) {
			got := r.pickMissing(ctx, s.version, build, pairs, sent, answers[1:])
			return r.repairGuess(ctx, s.version, build, first, lists, subs, classed, failedBorders(got, pairs, borders), again)
		})
		return
	}
	got := r.pickAll(ctx, s.version, build, pairs)
	failed := failedBorders(got, pairs, borders)
	var (
		order    []uint16
		repaired bool
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		order, repaired = r.repairGuess(ctx, s.version, build, first, lists, subs, classed, failed, again)
	})
	rv := picked{code: rev[len(rev)-1], ok: true} // proved by the pairs
	if len(failed) > 0 {
		rv = r.pickAll(ctx, s.version, build, [][]uint16{rev})[0]
	}
	wg.Wait()
	settlePreference(s, rv, rev, candidates, func() bool {
		return r.confirmClient(ctx, s, build, pairs, got)
	}, func() ([]uint16, bool) { return order, repaired })
}

// failedBorders returns the index in subs of the run after each border
// whose pair did not pick its second suite.
func failedBorders(got []picked, pairs [][]uint16, borders []int) []int {
	var failed []int
	for i, j := range borders {
		if a := got[i]; !a.ok || a.code != pairs[i][1] {
			failed = append(failed, j)
		}
	}
	return failed
}

// settlePreference judges the reversed offer's answer rv: the server's
// own order (settled by serverOrder), the client's (confirmed by
// confirm), or neither.
func settlePreference(s *versionScan, rv picked, rev, candidates []uint16, confirm func() bool, serverOrder func() ([]uint16, bool)) {
	s.pref = tlswarden.PreferIndeterminate
	switch {
	case !rv.ok:
	case rv.code == rev[len(rev)-1]:
		order, ok := serverOrder()
		if !ok {
			return
		}
		s.pref = tlswarden.PreferServer
		sortSuites(s.suites, order)
	case rv.code == rev[0] && confirm():
		s.pref = tlswarden.PreferClient
		sortSuites(s.suites, candidates)
	}
}

// inOrder reports whether every chain found its suites in the order of
// candidates, as a server that follows the client's order answers.
func inOrder(lists [][]tlswarden.Suite, candidates []uint16) bool {
	for _, l := range lists {
		if !slices.IsSortedFunc(l, func(a, b tlswarden.Suite) int {
			return cmp.Compare(slices.Index(candidates, a.Code), slices.Index(candidates, b.Code))
		}) {
			return false
		}
	}
	return true
}

// pickMissing returns the answers to every pair: those of sent (a subset
// of pairs, in their order) as got, the others asked now, at once.
func (r *tlsRun) pickMissing(ctx context.Context, v tlswarden.Version, build helloBuilder, pairs, sent [][]uint16, got []picked) []picked {
	out := make([]picked, len(pairs))
	var ask [][]uint16
	var at []int
	k := 0
	for i, p := range pairs {
		if k < len(sent) && slices.Equal(sent[k], p) {
			out[i] = got[k]
			k++
			continue
		}
		ask = append(ask, p)
		at = append(at, i)
	}
	for i, a := range r.pickAll(ctx, v, build, ask) {
		out[at[i]] = a
	}
	return out
}

// repairGuess returns a server's order from the guess and the border pairs
// it got wrong (failed: indexes in subs). With none wrong every neighbour
// pair is checked, by a chain or by a hello, and the guess is its order.
// Pairs wrong inside a class group are mended by merging that group's runs
// (the groups at once); a pair wrong between groups, or a chain that found
// its suites out of group order, leaves no part of the guess to trust: all
// chains are merged. It reports whether every hello was answered.
func (r *tlsRun) repairGuess(ctx context.Context, v tlswarden.Version, build helloBuilder, first uint16, lists [][]tlswarden.Suite, subs []run, classed bool, failed []int, again func([]run) []run) ([]uint16, bool) {
	if !classed || slices.ContainsFunc(failed, func(j int) bool { return subs[j-1].group != subs[j].group }) {
		if order, ok := kxBlockGuess(lists); ok && r.bordersHold(ctx, v, build, order, lists) {
			return append([]uint16{first}, order...), true
		}
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
	subs = r.guessAgain(ctx, v, build, subs, groups, again)
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

// guessAgain guesses again, for each group in groups (their border pairs
// failed), with guess: that the server interleaves the group's runs as
// OpenSSL's default sort does (interleave), or keeps the classes apart
// (blockGuess), whichever was not guessed first. It checks every border
// the new guesses make, with the groups' neighbours too, in one round of
// hellos sent together. A group whose borders all hold is taken out of
// groups with its runs replaced by the new guess, which every neighbour
// pair then proves as before; the rest are left to be merged a hello per
// suite. Over a real network this turns a merge of one hello after the
// other into one round, at about the same number of connections (a hello
// per border rather than per suite).
func (r *tlsRun) guessAgain(ctx context.Context, v tlswarden.Version, build helloBuilder, subs []run, groups map[int]bool, guess func([]run) []run) []run {
	if len(groups) == 0 {
		return subs
	}
	guesses := map[int][]run{}
	for g := range groups {
		var in []run
		for _, sub := range subs {
			if sub.group == g {
				in = append(in, sub)
			}
		}
		guesses[g] = guess(in)
	}
	next := replaceGroups(subs, guesses)
	var offers [][]uint16
	var owners [][]int // the groups each offer checks
	for j := 1; j < len(next); j++ {
		a, b := next[j-1], next[j]
		if a.chain == b.chain {
			continue // ordered by that chain
		}
		var own []int
		for _, g := range []int{a.group, b.group} {
			if groups[g] && !slices.Contains(own, g) {
				own = append(own, g)
			}
		}
		if len(own) > 0 {
			offers = append(offers, []uint16{b.codes[0], a.codes[len(a.codes)-1]})
			owners = append(owners, own)
		}
	}
	answers := r.pickAll(ctx, v, build, offers)
	for i, a := range answers {
		if !a.ok || a.code != offers[i][1] {
			for _, g := range owners[i] {
				delete(guesses, g)
			}
		}
	}
	for g := range guesses {
		delete(groups, g)
	}
	r.log.Debug("server order guessed again", "version", v.String(), "hellos", len(offers), "groups confirmed", len(guesses))
	return replaceGroups(subs, guesses)
}

// interleaveGroups returns subs with every group's runs interleaved.
func interleaveGroups(subs []run) []run {
	byGroup := map[int][]run{}
	for _, sub := range subs {
		byGroup[sub.group] = append(byGroup[sub.group], sub)
	}
	guesses := map[int][]run{}
	for g, in := range byGroup {
		guesses[g] = interleave(in)
	}
	return replaceGroups(subs, guesses)
}

// blockGuess returns one group's runs with each chain's suites together,
// the chains by their best class (suiteRank), as guessOrder guesses.
func blockGuess(in []run) []run {
	var out []run
	for _, r := range in {
		i := slices.IndexFunc(out, func(o run) bool { return o.chain == r.chain })
		if i < 0 {
			out = append(out, run{chain: r.chain, group: r.group})
			i = len(out) - 1
		}
		out[i].codes = append(out[i].codes, r.codes...)
	}
	best := func(r run) int {
		b := suiteRank(r.codes[0])
		for _, c := range r.codes {
			b = min(b, suiteRank(c))
		}
		return b
	}
	slices.SortStableFunc(out, func(a, b run) int { return cmp.Compare(best(a), best(b)) })
	return out
}

// looksOpenSSLSorted reports whether the chains found their suites as
// OpenSSL's default sort orders them and not as an explicit list of
// class blocks sorted inside would (ECDHE+AESGCM:DHE+AESGCM, say): every
// chain found each class group's suites in the order of compareStrength,
// and some chain found, in one group, two cipher families of one strength
// and a weaker suite after them (AES-256-GCM, ChaCha20, then AES-128-GCM),
// which only a sort by strength across families gives.
func looksOpenSSLSorted(lists [][]tlswarden.Suite) bool {
	evidence := false
	for _, l := range lists {
		families := map[[2]int]map[string]bool{} // group and bits: the families seen
		for i, su := range l {
			sa, _ := iana.Suite(su.Code)
			g, bits := classGroup(su.Code), cipherBits(sa.Cipher)
			if i > 0 && classGroup(l[i-1].Code) == g {
				if compareStrength(l[i-1].Code, su.Code) > 0 {
					return false
				}
				prev, _ := iana.Suite(l[i-1].Code)
				if pb := cipherBits(prev.Cipher); pb > bits && len(families[[2]int{g, pb}]) > 1 {
					evidence = true
				}
			}
			k := [2]int{g, bits}
			if families[k] == nil {
				families[k] = map[string]bool{}
			}
			family, _, _ := strings.Cut(sa.Cipher, "_")
			families[k][family] = true
		}
	}
	return evidence
}

// replaceGroups returns subs with the runs of each group in guesses
// replaced by its guess, placed where the group's first run was.
func replaceGroups(subs []run, guesses map[int][]run) []run {
	var out []run
	placed := map[int]bool{}
	for _, sub := range subs {
		guess, ok := guesses[sub.group]
		switch {
		case !ok:
			out = append(out, sub)
		case !placed[sub.group]:
			out = append(out, guess...)
			placed[sub.group] = true
		}
	}
	return out
}

// interleave merges runs (one group's, each in the server's order) by
// strengthKey, never reordering a run: the order OpenSSL's default sort
// gives. Neighbours from the same chain are joined into one run.
func interleave(runs []run) []run {
	heads := make([][]uint16, len(runs))
	for i, rn := range runs {
		heads[i] = rn.codes
	}
	var out []run
	for {
		best := -1
		for i, h := range heads {
			if len(h) > 0 && (best < 0 || compareStrength(h[0], heads[best][0]) < 0) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		code := heads[best][0]
		heads[best] = heads[best][1:]
		if n := len(out); n > 0 && out[n-1].chain == runs[best].chain {
			out[n-1].codes = append(out[n-1].codes, code)
			continue
		}
		out = append(out, run{codes: []uint16{code}, chain: runs[best].chain, group: runs[best].group})
	}
}

// compareStrength orders two suites as OpenSSL's default sort does (its
// ssl_create_cipher_list): suites only TLS 1.2 can negotiate first, then
// by the bulk cipher's strength in bits, strongest first, authenticated
// key exchange before anonymous, then by cipher (AES-GCM, ChaCha20,
// AES-CCM, ARIA-GCM, AES-CBC, Camellia, the rest), then by key exchange
// (ECDHE, DHE, anonymous ECDH, anonymous DH), then AES-CCM-8 before
// AES-CCM.
func compareStrength(a, b uint16) int {
	sa, _ := iana.Suite(a)
	sb, _ := iana.Suite(b)
	return cmp.Or(
		cmp.Compare(tls12Only(sb), tls12Only(sa)),
		cmp.Compare(cipherBits(sb.Cipher), cipherBits(sa.Cipher)),
		cmp.Compare(anonRank(sa), anonRank(sb)),
		cmp.Compare(cipherRank(sa.Cipher), cipherRank(sb.Cipher)),
		cmp.Compare(kxRank(sa.KeyExchange), kxRank(sb.KeyExchange)),
		cmp.Compare(ccm8First(sa.Cipher), ccm8First(sb.Cipher)),
	)
}

// tls12Only is 1 for a suite no version before TLS 1.2 negotiates: an
// AEAD or a MAC of the SHA-2 family (RFC 5246 appendix A.5, RFC 5288).
func tls12Only(s iana.CipherSuite) int {
	if s.AEAD() || s.MAC == "SHA256" || s.MAC == "SHA384" {
		return 1
	}
	return 0
}

// cipherBits is a bulk cipher's strength in bits, as OpenSSL counts it
// (3DES 112).
func cipherBits(c string) int {
	switch {
	case strings.HasPrefix(c, "3DES"):
		return 112
	case strings.HasPrefix(c, "CHACHA20"), strings.Contains(c, "_256"):
		return 256
	case strings.Contains(c, "_128"), strings.HasPrefix(c, "SEED"), strings.HasPrefix(c, "IDEA"):
		return 128
	case strings.HasPrefix(c, "DES"):
		return 56
	case strings.Contains(c, "_40"):
		return 40
	}
	return 0
}

func anonRank(s iana.CipherSuite) int {
	if s.Anonymous() {
		return 1
	}
	return 0
}

// cipherRank is OpenSSL's preference among bulk ciphers of one strength.
func cipherRank(c string) int {
	family, _, _ := strings.Cut(c, "_")
	mode := c[strings.LastIndexByte(c, '_')+1:]
	switch {
	case family == "AES" && mode == "GCM":
		return 0
	case family == "CHACHA20":
		return 1
	case family == "AES" && (mode == "CCM" || strings.HasSuffix(c, "_CCM_8")):
		return 2 // CCM-8 before CCM, but only after the key exchange (ccm8First)
	case family == "ARIA" && mode == "GCM":
		return 3
	case family == "AES" && mode == "CBC":
		return 4
	case family == "CAMELLIA" && mode == "CBC":
		return 5
	case family == "ARIA" && mode == "CBC":
		return 6
	}
	return 7
}

// ccm8First puts AES-CCM-8 before AES-CCM of the same key exchange.
func ccm8First(c string) int {
	if strings.HasSuffix(c, "_CCM_8") {
		return 0
	}
	return 1
}

// kxRank is OpenSSL's order among key exchanges: ECDHE (ECDSA before
// RSA), DHE, anonymous ECDH, anonymous DH. OpenSSL puts DHE_DSS before
// DHE_RSA for some ciphers and after for others: a tie, left to the
// border pairs (a server with both a DSA and an RSA certificate is
// unheard of).
func kxRank(kx string) int {
	switch kx {
	case "ECDHE_ECDSA":
		return 0
	case "ECDHE_RSA":
		return 1
	case "DHE_DSS", "DHE_RSA":
		return 2
	case "ECDH_anon":
		return 3
	case "DH_anon":
		return 4
	}
	return 5
}
