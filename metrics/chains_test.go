package metrics_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/metrics"
)

// metricLine returns the one sample line of the named family in a scrape.
func metricLine(t *testing.T, scrape, name string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(l, name+"{") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d samples of %s in:\n%s", len(found), name, scrape)
	}
	return found[0]
}

// TestPostureEveryChain: an endpoint serving a second chain (another key
// type) that expires before its primary one and does not verify reports
// that chain's expiry and is not verified, on both stores.
func TestPostureEveryChain(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(testing.TB) postureStore
	}{{"sqlite", sqliteStore}, {"postgres", postgresStore}} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			r := result("dual.example.org", base, modern("192.0.2.9:443"))
			cert := r.Report.Endpoints[0].Cert
			second := base.AddDate(0, 0, 3)
			cert.OtherChains = []tlswarden.CertResult{{Chain: []tlswarden.Certificate{
				{SHA256: "ec", KeyType: "ECDSA", NotBefore: base.AddDate(0, 0, -87), NotAfter: second},
			}, ChainLength: 1, HostnameMatches: true}}
			tg := addTarget(t, s, "dual.example.org", "org-a")
			addScan(t, s, tg.ID, r)
			got := scrape(t, postureHandler(t, s, metrics.PostureConfig{Detail: metrics.DetailFull}))
			wantExpiry := fmt.Sprintf(" %g", float64(second.Unix()))
			if l := metricLine(t, got, "tlswarden_certificate_not_after_timestamp_seconds"); !strings.HasSuffix(l, wantExpiry) {
				t.Errorf("%s, want the second chain's expiry%s", l, wantExpiry)
			}
			if l := metricLine(t, got, "tlswarden_certificate_verified"); !strings.HasSuffix(l, " 0") {
				t.Errorf("%s, want 0: the second chain does not verify", l)
			}
		})
	}
}
