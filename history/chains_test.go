package history_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/store"
)

// chain is one served chain: the leaf's key type and fingerprint.
type chain struct {
	keyType, leaf string
	expired       bool
}

// withChains gives the first endpoint of a scan these chains, the first
// as the primary.
func withChains(r *store.ScanResult, chains ...chain) *store.ScanResult {
	res := func(c chain) tlswarden.CertResult {
		return tlswarden.CertResult{Chain: []tlswarden.Certificate{{SHA256: c.leaf, KeyType: c.keyType, Expired: c.expired,
			NotAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}, Trusted: !c.expired, HostnameMatches: true}
	}
	primary := res(chains[0])
	for _, c := range chains[1:] {
		primary.OtherChains = append(primary.OtherChains, res(c))
	}
	r.Report.Endpoints[0].Cert = &primary
	return r
}

// TestCompareChains: an endpoint's chains are compared by their leaf's
// key type, whichever one the full handshake happened to get.
func TestCompareChains(t *testing.T) {
	rsa, ec := chain{"RSA", "r1", false}, chain{"ECDSA", "e1", false}
	base := func() *store.ScanResult { return scan(ep{addr: a, versions: modern, grade: "A"}) }
	for _, tc := range []struct {
		name      string
		prev, cur *store.ScanResult
		want      []event
	}{
		{name: "primary swapped", prev: withChains(base(), rsa, ec), cur: withChains(base(), ec, rsa)},
		{
			name: "second chain replaced by an expired one",
			prev: withChains(base(), rsa, ec),
			cur:  withChains(base(), chain{"ECDSA", "e2", true}, rsa),
			want: []event{{store.EventCertReplaced, true, history.Details{
				Summary:   "ECDSA certificate replaced by one that is expired on 2026-01-01 on example.org@" + a,
				Endpoints: []string{"example.org@" + a}, From: "e1", To: "e2", Reason: "expired on 2026-01-01", KeyType: "ECDSA"}}},
		},
		{
			name: "RSA replaced by ECDSA",
			prev: withChains(base(), rsa),
			cur:  withChains(base(), ec),
			want: []event{{store.EventCertReplaced, false, history.Details{
				Summary:   "certificate replaced on example.org@" + a,
				Endpoints: []string{"example.org@" + a}, From: "r1", To: "e1", KeyType: "ECDSA"}}},
		},
		{name: "a chain added", prev: withChains(base(), rsa), cur: withChains(base(), rsa, ec)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, compare(t, tc.prev, tc.cur)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
