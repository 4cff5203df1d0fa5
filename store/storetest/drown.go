package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// withSSLv2 makes endpoint i of r accept SSLv2 with an RSA leaf of the
// given key and certificate hashes, and an ECDSA chain beside it.
func withSSLv2(r *store.ScanResult, i int, key, cert string) {
	e := &r.Report.Endpoints[i]
	e.TLS.Versions = append([]tlswarden.VersionResult{{Version: tlswarden.SSLv2, Supported: true, Status: tlswarden.StatusOK,
		Suites: []tlswarden.Suite{{Name: "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"}}}}, e.TLS.Versions...)
	e.Cert.Chain[0].KeyType, e.Cert.Chain[0].SPKISHA256, e.Cert.Chain[0].SHA256 = "RSA", key, cert
	ec := *e.Cert
	ec.Chain = []tlswarden.Certificate{{SHA256: "ec-" + cert, KeyType: "ECDSA", SPKISHA256: "ec-" + key}}
	ec.OtherChains = nil
	e.Cert.OtherChains = []tlswarden.CertResult{ec}
}

// testSSLv2Keys checks the estate's SSLv2 RSA keys come from each
// target's latest scan only, from its SSLv2 endpoints only, every RSA
// chain of them, and that store.SSLv2Leaves leaves the judged target out.
func testSSLv2Keys(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	if _, ok := s.(store.SSLv2KeyStore); !ok {
		t.Fatalf("%T does not implement store.SSLv2KeyStore", s)
	}
	a := createTarget(t, s, "a.example.org", "web")
	b := createTarget(t, s, "b.example.org", "web")
	c := createTarget(t, s, "c.example.org", "web")

	old := result(day(0).Add(time.Hour), 2, 0)
	withSSLv2(&old, 0, "key-a-old", "cert-a-old")
	scanWith(t, s, a.ID, day(0), old)
	latestA := result(day(1).Add(time.Hour), 3, 0)
	withSSLv2(&latestA, 2, "key-a", "cert-a")
	scA := scanWith(t, s, a.ID, day(1), latestA)
	scanWith(t, s, b.ID, day(1), result(day(1).Add(time.Hour), 2, 0)) // no SSLv2
	latestC := result(day(1).Add(time.Hour), 1, 0)
	withSSLv2(&latestC, 0, "", "cert-c") // a report from before SPKI hashes
	scC := scanWith(t, s, c.ID, day(1), latestC)

	keys, err := s.(store.SSLv2KeyStore).ListSSLv2Keys(ctx)
	check(t, "ListSSLv2Keys", err)
	diff(t, "SSLv2 keys", []store.SSLv2Key{
		{TargetID: a.ID, ScanID: scA.ID, Endpoint: latestA.Report.Endpoints[2].Endpoint, KeySHA256: "key-a", CertSHA256: "cert-a"},
		{TargetID: c.ID, ScanID: scC.ID, Endpoint: latestC.Report.Endpoints[0].Endpoint, CertSHA256: "cert-c"},
	}, keys)

	leaves, err := store.SSLv2Leaves(ctx, s, c.ID)
	check(t, "SSLv2Leaves", err)
	where := fmt.Sprintf("%s (target %d)", latestA.Report.Endpoints[2].Endpoint, a.ID)
	diff(t, "SSLv2 leaves except target c", map[string]string{"key-a": where, "cert-a": where}, leaves)
}
