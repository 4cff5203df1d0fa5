package scanner

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// serialServer is `openssl s_server` without -www: it serves one
// connection at a time and holds each until the client closes it, so the
// HTTP probe's request, which it never answers, keeps every hello waiting.
func serialServer(t *testing.T) netip.AddrPort {
	return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Interactive: true, ServerPref: true,
		Versions: []tlswarden.Version{tlswarden.TLS10},
		Cipher:   "ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA:@SECLEVEL=0"})
}

// serialScanner runs the TLS, certificate and HTTP probes as the scan
// command does (the certificate probe's timeout three times the TLS
// probe's, the HTTP probe's twice), with timeouts a loaded machine meets.
func serialScanner(t *testing.T, endpointTimeout time.Duration) *Scanner {
	t.Helper()
	var s *Scanner
	s, err := New(Config{
		EndpointTimeout: endpointTimeout,
		Probes: []tlswarden.Probe{
			probes.TLS(probes.TLSConfig{Timeout: 3 * time.Second}),
			probes.Cert(probes.CertConfig{Timeout: 9 * time.Second}),
			probes.HTTP(probes.HTTPConfig{Timeout: 6 * time.Second, PlainPort: 1,
				DialPlain: func(ctx context.Context, a netip.AddrPort) (net.Conn, error) { return s.Dial(ctx, a) }}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScanServerTakingOneConnectionAtATime: hellos that time out while the
// HTTP probe holds the server's only slot are retried alone, the endpoint
// is served one connection at a time from then on, and every suite is
// found; the report says the endpoint took one connection at a time.
func TestScanServerTakingOneConnectionAtATime(t *testing.T) {
	addr := serialServer(t)
	r := serialScanner(t, time.Minute).Scan(t.Context(), tlswarden.Target{Host: addr.Addr().String(), Port: int(addr.Port())})
	if len(r.Endpoints) != 1 || r.Endpoints[0].TLS == nil {
		t.Fatalf("no TLS result: %+v", r)
	}
	e := r.Endpoints[0]
	v := e.TLS.Versions
	var tls10 tlswarden.VersionResult
	for _, vr := range v {
		if vr.Version == tlswarden.TLS10 {
			tls10 = vr
		}
		if vr.Status != tlswarden.StatusOK {
			t.Errorf("%s: %s %s", vr.Version, vr.Status, vr.Error)
		}
	}
	var got []string
	for _, s := range tls10.Suites {
		got = append(got, s.Name)
	}
	want := []string{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"}
	if len(got) != len(want) || tls10.Preference != tlswarden.PreferServer {
		t.Errorf("TLSv1.0 suites %v (preference %q), want %v in the server's order", got, tls10.Preference, want)
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("TLSv1.0 suite %d: %s, want %s", i, got[i], want[i])
		}
	}
	if !e.OneConnectionAtATime {
		t.Errorf("the report does not say the endpoint took one connection at a time")
	}
	t.Logf("%d connections in %d ms; probes %+v", e.Connections, e.DurationMS, e.Probes)
}

// TestScanServerTakingOneConnectionAtATimeOutlasted: a server that takes
// one connection at a time outlasts the endpoint's deadline, the HTTP
// probe's connection holding it to the end (its timeout is longer). The
// report says exactly what is partial: each version is complete or
// carries its error (with the suites found so far; a preference test cut
// short too), and each group enumeration says whether it ended.
func TestScanServerTakingOneConnectionAtATimeOutlasted(t *testing.T) {
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Interactive: true, ServerPref: true,
		Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}, Cipher: "ALL:@SECLEVEL=0"})
	var s *Scanner
	s, err := New(Config{
		EndpointTimeout: 4 * time.Second,
		Probes: []tlswarden.Probe{
			probes.TLS(probes.TLSConfig{Timeout: time.Second}),
			probes.HTTP(probes.HTTPConfig{Timeout: time.Minute, PlainPort: 1,
				DialPlain: func(ctx context.Context, a netip.AddrPort) (net.Conn, error) { return s.Dial(ctx, a) }}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), tlswarden.Target{Host: addr.Addr().String(), Port: int(addr.Port())})
	if len(r.Endpoints) != 1 || r.Endpoints[0].TLS == nil {
		t.Fatalf("no TLS result: %+v", r)
	}
	e := r.Endpoints[0]
	partial := 0
	for _, vr := range e.TLS.Versions {
		complete := vr.Status == tlswarden.StatusOK && vr.Error == "" &&
			(!vr.Supported || len(vr.Suites) < 2 || vr.Preference != tlswarden.PreferIndeterminate)
		marked := vr.Status != tlswarden.StatusOK && vr.Error != ""
		if !complete && !marked {
			t.Errorf("%s: status %s, error %q, %d suites, preference %q: neither complete nor marked partial",
				vr.Version, vr.Status, vr.Error, len(vr.Suites), vr.Preference)
		}
		if marked {
			partial++
		}
		t.Logf("%s: supported %v, %d suites, preference %q, status %s %s", vr.Version, vr.Supported, len(vr.Suites), vr.Preference, vr.Status, vr.Error)
	}
	for _, gs := range e.TLS.GroupsByVersion {
		t.Logf("groups over %s: %d, error %q", gs.Version, len(gs.Groups), gs.Error)
	}
	if partial == 0 && e.TLS.GroupsError == "" {
		t.Errorf("the scan finished within the endpoint's deadline: the test no longer outlasts it")
	}
	if e.Status == tlswarden.StatusOK {
		t.Errorf("endpoint status %s, want a timeout", e.Status)
	}
}
