package probes

import (
	"cmp"
	"context"
	"slices"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// kxBlockGuess guesses a server order that keeps key exchanges apart, as
// GnuTLS's priority strings do with %SERVER_PRECEDENCE (every suite of one
// key exchange, then the next's: ECDHE, RSA, DHE), each key exchange's
// suites by the cipher's strength, then its family and mode (cipherBits,
// cipherRank: AES-256-GCM, ChaCha20, AES-256-CCM, AES-256-CBC, then the
// 128-bit ones). The key exchanges go in the order the chains saw them.
// It returns the suites the chains found (the first pick not among them)
// in that order, and whether the chains allow it: none came back to a key
// exchange it had left, their orders of key exchanges agree, and each
// found its suites in the guessed order.
func kxBlockGuess(lists [][]tlswarden.Suite) ([]uint16, bool) {
	kx := func(code uint16) string {
		s, _ := iana.Suite(code)
		return s.KeyExchange
	}
	var seen []string              // key exchanges, first seen first
	before := map[[2]string]bool{} // a chain found the first's block before the second's
	for _, l := range lists {
		var done []string
		for _, su := range l {
			k := kx(su.Code)
			if n := len(done); n > 0 && done[n-1] == k {
				continue
			}
			if slices.Contains(done, k) {
				return nil, false
			}
			if n := len(done); n > 0 {
				before[[2]string{done[n-1], k}] = true
			}
			done = append(done, k)
			if !slices.Contains(seen, k) {
				seen = append(seen, k)
			}
		}
	}
	var kxOrder []string
	for left := seen; len(left) > 0; {
		i := slices.IndexFunc(left, func(k string) bool {
			return !slices.ContainsFunc(left, func(o string) bool { return before[[2]string{o, k}] })
		})
		if i < 0 {
			return nil, false // the chains disagree
		}
		kxOrder = append(kxOrder, left[i])
		left = slices.Delete(slices.Clone(left), i, i+1)
	}
	var order []uint16
	for _, l := range lists {
		order = append(order, suiteCodes(l)...)
	}
	slices.SortStableFunc(order, func(a, b uint16) int {
		sa, _ := iana.Suite(a)
		sb, _ := iana.Suite(b)
		return cmp.Or(
			cmp.Compare(slices.Index(kxOrder, sa.KeyExchange), slices.Index(kxOrder, sb.KeyExchange)),
			cmp.Compare(cipherBits(sb.Cipher), cipherBits(sa.Cipher)),
			cmp.Compare(cipherRank(sa.Cipher), cipherRank(sb.Cipher)),
		)
	})
	for _, l := range lists {
		at := -1
		for _, su := range l {
			i := slices.Index(order, su.Code)
			if i < at {
				return nil, false
			}
			at = i
		}
	}
	return order, true
}

// bordersHold checks a guessed order of the chains' finds in one round of
// hellos: every neighbour pair from different chains offered the wrong way
// round must get the first of the guess picked. Neighbours from one chain
// are ordered by it, so when every pair holds the guess is the server's
// order.
func (r *tlsRun) bordersHold(ctx context.Context, v tlswarden.Version, build helloBuilder, order []uint16, lists [][]tlswarden.Suite) bool {
	chain := map[uint16]int{}
	for i, l := range lists {
		for _, su := range l {
			chain[su.Code] = i
		}
	}
	var pairs [][]uint16
	for j := 1; j < len(order); j++ {
		if chain[order[j-1]] != chain[order[j]] {
			pairs = append(pairs, []uint16{order[j], order[j-1]})
		}
	}
	for i, a := range r.pickAll(ctx, v, build, pairs) {
		if !a.ok || a.code != pairs[i][1] {
			r.log.Debug("key exchange blocks guessed wrong", "version", v.String(), "hellos", len(pairs))
			return false
		}
	}
	r.log.Debug("key exchange blocks guessed", "version", v.String(), "hellos", len(pairs))
	return true
}
