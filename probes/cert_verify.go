package probes

import (
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	"github.com/zmap/zcrypto/x509"
)

// maxVerifyCache bounds the verification cache; it is emptied when full.
const maxVerifyCache = 4096

// verifyCache remembers verifyLeaf's outcome by the served chain and the
// trust store. An estate serves the same chains on many endpoints (every
// address of a name, every name of a SAN or wildcard certificate), and
// building their paths twice, a signature check per link each time, is
// most of the certificate probe's CPU after the handshake.
//
// Path building does not depend on the time: zcrypto builds every path,
// then sorts them by date (x509.FilterByDate). So an entry holds the
// paths found regardless of dates and key usage, and is reused while each
// of them is valid, or not, as it was when the entry was made; a path
// that expires or starts being valid in between makes the chain verified
// again.
var verifyCache struct {
	sync.Mutex
	m map[verifyKey]verifyEntry
}

// verifyKey names one chain as served, checked against one trust store.
type verifyKey struct {
	roots *rootStore
	chain string // SHA-256 fingerprints of the leaf and the intermediates, in order
}

type verifyEntry struct {
	v     verification
	paths []x509.CertificateChain
	at    time.Time
}

// verifyCached is verifyLeaf for leaf and the certificates served after
// it (rest, nil where one did not parse), anchored in roots, with whether
// they were served in order: from the cache when the same chain was
// verified against the same roots and its paths' validity has not changed
// since.
func verifyCached(roots *rootStore, leaf *x509.Certificate, rest []*x509.Certificate, now time.Time) verification {
	if roots == nil {
		roots, _ = systemRoots()
	}
	var b strings.Builder
	b.Write(leaf.FingerprintSHA256)
	for _, c := range rest {
		if c == nil {
			b.WriteString("-") // a fingerprint is 32 bytes: no clash
			continue
		}
		b.Write(c.FingerprintSHA256)
	}
	key := verifyKey{roots: roots, chain: b.String()}
	verifyCache.Lock()
	e, ok := verifyCache.m[key]
	verifyCache.Unlock()
	if ok && sameValidity(e.paths, e.at, now) {
		return e.v
	}
	intermediates := nonNil(rest)
	v, paths := verifyLeaf(leaf, intermediates, anchorsFor(roots, leaf, intermediates), now)
	v.ordered = chainOrdered(leaf, rest)
	verifyCache.Lock()
	defer verifyCache.Unlock()
	if verifyCache.m == nil || len(verifyCache.m) >= maxVerifyCache {
		verifyCache.m = make(map[verifyKey]verifyEntry)
	}
	verifyCache.m[key] = verifyEntry{v: v, paths: paths, at: now}
	return v
}

// sameValidity reports whether every path is valid at now exactly when it
// was at then, by x509.FilterByDate's rule: within the latest NotBefore
// and the earliest NotAfter of its certificates, both exclusive.
func sameValidity(paths []x509.CertificateChain, then, now time.Time) bool {
	for _, p := range paths {
		if len(p) == 0 {
			continue
		}
		lo, hi := p[0].NotBefore, p[0].NotAfter
		for _, c := range p[1:] {
			if c.NotBefore.After(lo) {
				lo = c.NotBefore
			}
			if c.NotAfter.Before(hi) {
				hi = c.NotAfter
			}
		}
		valid := func(t time.Time) bool { return lo.Before(t) && hi.After(t) }
		if valid(then) != valid(now) {
			return false
		}
	}
	return true
}

// maxParseCache bounds the parsed-certificate cache; it is emptied when
// full.
const maxParseCache = 4096

// parseCache remembers parsed certificates by the SHA-256 of their DER:
// the same leaf and intermediates come back from every endpoint that
// serves them, and zcrypto's parser costs more than the hash. The cache
// keeps the parsed original and hands out shallow copies: zcrypto writes
// to a certificate it verifies (ValidSignature in CertPool's
// findVerifiedParents, the parsed names on first use), so one value
// shared by concurrent verifications is a data race. The copy's slices
// and maps are shared, and only read.
var parseCache struct {
	sync.Mutex
	m map[[32]byte]*x509.Certificate
}

// parseCached is parseCert, from the cache when the same bytes parsed
// before. Failures are not cached: they are rare and hostile.
func parseCached(der []byte) (*x509.Certificate, error) {
	key := sha256.Sum256(der)
	parseCache.Lock()
	c, ok := parseCache.m[key]
	parseCache.Unlock()
	if ok {
		return shallowCopy(c), nil
	}
	c, err := parseCert(der)
	if err != nil {
		return c, err
	}
	parseCache.Lock()
	defer parseCache.Unlock()
	if parseCache.m == nil || len(parseCache.m) >= maxParseCache {
		parseCache.m = make(map[[32]byte]*x509.Certificate)
	}
	parseCache.m[key] = c
	return shallowCopy(c), nil
}

// shallowCopy returns a certificate of its own with c's fields.
func shallowCopy(c *x509.Certificate) *x509.Certificate {
	cp := *c
	return &cp
}
