package probes

import (
	"crypto/tls"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// runRiding runs the TLS probe once against addr through a 20 ms round
// trip at four connections at a time, the TLS 1.3 preference test riding
// on the group hellos or not.
func runRiding(t *testing.T, addr netip.AddrPort, rtt time.Duration, noRiding bool) *tlswarden.TLSResult {
	t.Helper()
	d := tlstest.NewRTTDialer(addr, rtt, 4)
	obs, err := TLS(TLSConfig{noRiding: noRiding}).Run(t.Context(), tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial)
	if err != nil || obs.TLS == nil {
		t.Fatalf("TLS probe (riding %v): %v", !noRiding, err)
	}
	return obs.TLS
}

// TestTLSRidingSameFacts checks that the TLS 1.3 preference test finds
// the same when its offers ride on the group enumeration's hellos as in
// hellos of its own, and the groups too: every field of the result but the
// connection count, for servers of either suite preference and either
// group order, with curves only and with finite-field groups: Go servers
// with various CurvePreferences, openssl s_server with -groups in server
// and client order, nginx with OpenSSL's default groups (ten for TLS 1.3)
// and with a list, gnutls-serv in the client's order and in its own, and
// the scripted servers of the latency tests.
func TestTLSRidingSameFacts(t *testing.T) {
	c := newCerts(t)
	const tls12, tls13 = tlswarden.TLS12, tlswarden.TLS13
	vs := func(v ...tlswarden.Version) []tlswarden.Version { return v }
	goServer := func(curves ...tls.CurveID) netip.AddrPort {
		return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{c.rsa}, CurvePreferences: curves})
	}
	servers := map[string]netip.AddrPort{
		"go default":        goServer(),
		"go P-384 X25519":   goServer(tls.CurveP384, tls.X25519),
		"go X25519MLKEM768": goServer(tls.X25519MLKEM768),
		"go ECDSA": tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{c.ecdsa}, MinVersion: tls.VersionTLS13,
			CurvePreferences: []tls.CurveID{tls.CurveP256, tls.CurveP521, tls.X25519}}),
		"openssl server order": tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: vs(tls12, tls13), ServerPref: true,
			Groups: "secp384r1:X25519:ffdhe2048:prime256v1:ffdhe3072", DHBits: 2048}),
		"openssl client order": tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: vs(tls13),
			Ciphersuites: "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_SHA256",
			Groups:       "X25519:secp384r1:ffdhe2048"}),
		"openssl one suite": tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: vs(tls13),
			Ciphersuites: "TLS_CHACHA20_POLY1305_SHA256", Groups: "ffdhe3072:X25519", ServerPref: true}),
		"nginx OpenSSL's groups": tlstest.NginxServer(t, tlstest.NginxConfig{Versions: vs(tls12, tls13), DHBits: 2048,
			Ciphers: mozillaIntermediateCiphers}),
		"nginx server order, curves": tlstest.NginxServer(t, tlstest.NginxConfig{Versions: vs(tls12, tls13), PreferServerCiphers: true,
			Ciphers: mozillaIntermediateCiphers, ECDHCurve: "secp384r1:X25519:prime256v1"}),
		"gnutls normal": tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:-ECDHE-ECDSA", DHBits: 2048}),
		"gnutls server precedence": tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{
			Priority: "NORMAL:-ECDHE-ECDSA:-GROUP-ALL:+GROUP-SECP384R1:+GROUP-X25519:+GROUP-FFDHE3072:+GROUP-SECP256R1:%SERVER_PRECEDENCE", DHBits: 2048}),
	}
	for _, tt := range latencyServers(t) {
		servers["scripted "+tt.name] = tlstest.RawServer(t, tt.fs.handle)
	}
	for name, addr := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			before := runRiding(t, addr, 20*time.Millisecond, true)
			after := runRiding(t, addr, 20*time.Millisecond, false)
			if diff := cmp.Diff(facts(before), facts(after)); diff != "" {
				t.Errorf("facts (-own hellos +riding):\n%s", diff)
			}
			if !version(after, tls13).Supported {
				t.Errorf("TLS 1.3 not found: the test tests nothing here")
			}
			t.Logf("%d connections riding, %d without; TLS 1.3 preference %s, groups %v", after.Connections, before.Connections,
				version(after, tls13).Preference, after.GroupsByVersion)
		})
	}
}

// mozillaIntermediateCiphers is Mozilla's intermediate TLS 1.2 list.
const mozillaIntermediateCiphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" +
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"

// TestTLSRidingSavesConnections counts the connections the riding saves
// through a 50 ms round trip at four connections at a time: against nginx
// with Mozilla's intermediate suites (the client's order) and OpenSSL's
// ten TLS 1.3 groups, both offers of the TLS 1.3 preference test can ride
// (two connections fewer); against a server with its own order only the
// reversed offer is needed (one fewer). An offer rides only on group
// hellos still to go when the suites are found, and the endpoint's slots
// serve hellos by priority, so at least one offer rides: at least one
// connection fewer, never more than the offers.
func TestTLSRidingSavesConnections(t *testing.T) {
	const tls12, tls13 = tlswarden.TLS12, tlswarden.TLS13
	for _, tc := range []struct {
		name  string
		cfg   tlstest.NginxConfig
		saved int
	}{
		{"client order", tlstest.NginxConfig{Versions: []tlswarden.Version{tls12, tls13}, DHBits: 2048, Ciphers: mozillaIntermediateCiphers}, 2},
		{"server order", tlstest.NginxConfig{Versions: []tlswarden.Version{tls12, tls13}, DHBits: 2048, Ciphers: mozillaIntermediateCiphers,
			Ciphersuites: "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256", PreferServerCiphers: true}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := tlstest.NginxServer(t, tc.cfg)
			before := runRiding(t, addr, 50*time.Millisecond, true)
			after := runRiding(t, addr, 50*time.Millisecond, false)
			if saved := before.Connections - after.Connections; saved < 1 || saved > tc.saved {
				t.Errorf("%d connections riding, %d without: %d saved, want 1 to %d", after.Connections, before.Connections, saved, tc.saved)
			}
			t.Logf("%d connections riding, %d without", after.Connections, before.Connections)
		})
	}
}
