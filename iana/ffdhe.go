package iana

import (
	"bytes"
	"math/big"
	"sync"
)

// ffdheOffsets are the named finite-field groups of RFC 7919, appendix A:
// group code point, prime size b in bits, and the offset X in
//
//	p = 2^b - 2^(b-64) + {[2^(b-130) e] + X} * 2^64 - 1
//
// (e is Euler's number; X is the smallest offset making p a safe prime).
var ffdheOffsets = []struct {
	code uint16
	bits uint
	x    int64
}{
	{256, 2048, 560316},
	{257, 3072, 2625351},
	{258, 4096, 5736041},
	{259, 6144, 15705020},
	{260, 8192, 10965728},
}

// ffdhePrimes are the RFC 7919 primes, big-endian, by group code point;
// computed on first use (about a millisecond).
var ffdhePrimes = sync.OnceValue(func() map[uint16][]byte {
	m := make(map[uint16][]byte, len(ffdheOffsets))
	for _, g := range ffdheOffsets {
		m[g.code] = ffdhePrime(g.bits, g.x).Bytes()
	}
	return m
})

// ffdhePrime computes an RFC 7919 prime of b bits with offset x.
func ffdhePrime(b uint, x int64) *big.Int {
	mid := floorScaledE(b - 130)
	mid.Add(mid, big.NewInt(x))
	p := new(big.Int).Lsh(big.NewInt(1), b)
	p.Sub(p, new(big.Int).Lsh(big.NewInt(1), b-64))
	p.Add(p, mid.Lsh(mid, 64))
	return p.Sub(p, big.NewInt(1))
}

// floorScaledE returns floor(2^k * e), summing 2^(k+guard)/n! over n; the
// guard bits absorb the truncation of each term.
func floorScaledE(k uint) *big.Int {
	const guard = 64
	term := new(big.Int).Lsh(big.NewInt(1), k+guard)
	sum := new(big.Int).Set(term)
	for n := int64(1); term.Sign() > 0; n++ {
		term.Quo(term, big.NewInt(n))
		sum.Add(sum, term)
	}
	return sum.Rsh(sum, guard)
}

// FFDHEGroup returns the code point of the RFC 7919 group whose prime is p
// (big-endian, leading zero bytes allowed), as a TLS 1.2 server sends it in
// a DHE ServerKeyExchange; false when p is no such prime.
func FFDHEGroup(p []byte) (uint16, bool) {
	p = bytes.TrimLeft(p, "\x00")
	for _, g := range ffdheOffsets {
		if uint(len(p))*8 == g.bits && bytes.Equal(p, ffdhePrimes()[g.code]) {
			return g.code, true
		}
	}
	return 0, false
}
