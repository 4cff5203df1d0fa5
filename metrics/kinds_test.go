package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/metrics"
	"github.com/tlswarden/tlswarden/store"
)

// TestEndpointLabelKinds: targets that differ only by kind (a mail domain
// and an SMTP server on one name's port 25; https and tls on one port)
// get endpoint labels of their own, the kind's scheme before host:port
// for every kind but https, so their series never collide.
func TestEndpointLabelKinds(t *testing.T) {
	s := sqliteStore(t)
	for _, tg := range []tlswarden.Target{
		{Host: "example.org", Port: 25, Kind: tlswarden.KindMail},
		{Host: "example.org", Port: 25, Kind: tlswarden.KindSMTP},
		{Host: "example.org", Port: 443, Kind: tlswarden.KindHTTPS},
		{Host: "example.org", Port: 443, Kind: tlswarden.KindTLS},
	} {
		tg.Owner = "mail"
		if _, err := s.CreateTarget(t.Context(), store.Target{Target: tg, Enabled: true}); err != nil {
			t.Fatalf("CreateTarget %s %s: %v", tg.Kind, tg, err)
		}
	}
	rec := httptest.NewRecorder()
	postureHandler(t, s, metrics.PostureConfig{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^tlswarden_endpoint_info\{endpoint="([^"]*)"`).FindAllStringSubmatch(rec.Body.String(), -1) {
		got = append(got, m[1])
	}
	slices.Sort(got)
	want := []string{"example.org:443", "mail://example.org:25", "smtp://example.org:25", "tls://example.org:443"}
	if !slices.Equal(got, want) {
		t.Errorf("endpoint labels %q, want %q", got, want)
	}
}
