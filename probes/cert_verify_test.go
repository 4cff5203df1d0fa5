package probes

import (
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// The cached verification follows the clock: a chain verified while
// valid is reported expired once its leaf has expired, and valid again at
// a time it is valid, from one entry of the cache.
func TestVerifyCacheFollowsValidity(t *testing.T) {
	now := time.Now()
	ca := tlstest.NewCA(t, "Cache CA")
	leaf := ca.Issue(t, tlstest.CertSpec{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	roots := testRoots(t, ca)
	for _, step := range []struct {
		at      time.Time
		trusted bool
		err     string
	}{
		{now, true, ""},
		{now.Add(time.Minute), true, ""},
		{now.Add(2 * time.Hour), false, "expired"},
		{now.Add(-2 * time.Hour), false, "not yet valid"},
		{now, true, ""},
	} {
		got, err := certFacts([][]byte{leaf.DER}, nil, nil, "localhost", roots, step.at)
		if err != nil {
			t.Fatal(err)
		}
		if got.Trusted != step.trusted || !strings.Contains(got.VerificationError, step.err) || (step.err == "") != (got.VerificationError == "") {
			t.Errorf("at %s: trusted %v (%q), want %v (%q)", step.at.Sub(now), got.Trusted, got.VerificationError, step.trusted, step.err)
		}
	}
	// Another trust store is another entry: the same chain is not trusted
	// where its CA is not a root.
	other := testRoots(t, tlstest.NewCA(t, "Other CA"))
	if got, _ := certFacts([][]byte{leaf.DER}, nil, nil, "localhost", other, now); got.Trusted {
		t.Errorf("trusted under another CA's roots: the cache ignored the trust store")
	}
}

// BenchmarkCertFacts derives the facts of one served chain (leaf and
// intermediate) as the certificate probe does for each endpoint: cold,
// with the verification and parse caches emptied before each run (zlint's findings
// stay cached in both, as they were before), and warm, from the cache,
// as for the second and later endpoints serving that chain.
func BenchmarkCertFacts(b *testing.B) {
	now := time.Now()
	ca := tlstest.NewCA(b, "Bench CA")
	inter := ca.Intermediate(b, "Bench Intermediate")
	leaf := inter.Issue(b, tlstest.CertSpec{Key: tlstest.ECDSA256})
	roots := testRoots(b, ca)
	chain := [][]byte{leaf.DER, inter.DER}
	for _, bc := range []struct {
		name string
		cold bool
	}{{"cold", true}, {"warm", false}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if bc.cold {
					verifyCache.Lock()
					verifyCache.m = nil
					verifyCache.Unlock()
					parseCache.Lock()
					parseCache.m = nil
					parseCache.Unlock()
				}
				if r, err := certFacts(chain, nil, nil, "localhost", roots, now); err != nil || !r.Trusted {
					b.Fatalf("not trusted: %v %+v", err, r)
				}
			}
		})
	}
}
