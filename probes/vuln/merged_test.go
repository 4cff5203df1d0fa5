package vuln

import (
	"crypto/tls"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// runMerged runs every check against addr, CCS injection,
// client-initiated renegotiation and Ticketbleed on connections of their
// own when separate is set.
func runMerged(t *testing.T, addr netip.AddrPort, separate bool) *tlswarden.VulnResult {
	t.Helper()
	d := tlstest.NewDialer(addr)
	d.MaxConns = 4
	r := testRun(addr, d.Dial)
	r.separate = separate
	return runAll(t, r)
}

// TestMergedHandshakesSameFacts checks that the checks that follow on
// another check's connection find what they found on connections of their
// own, with fewer connections: CCS injection on the feature connection
// (one fewer unless the heartbeat extension is answered, when Heartbleed
// holds it), client-initiated renegotiation on resumption's first
// handshake (one fewer where the server negotiates TLS 1.2 with an AEAD
// suite), and Ticketbleed's hello as resumption's second (one fewer where
// the server issues a ticket), and the TLS 1.2 signature schemes' first
// answer read from the feature hello's flight (one fewer where the server
// chose a suite with a signed key exchange there). The servers
// renegotiate and refuse to,
// issue tickets and do not, leak the session ID (F5-like), require a
// client certificate (the first handshake fails: the renegotiation has a
// connection of its own, and fails as before), have only CBC suites (it
// cannot ride), take the early ChangeCipherSpec, choose deflate, and
// answer the heartbeat extension, sign with two schemes only, hold an
// ECDSA and an RSA certificate, and choose by their own order RSA key
// exchange first (the chain asks for its first answer) or ECDHE.
func TestMergedHandshakesSameFacts(t *testing.T) {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
	ecCert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA384})
	tests := []struct {
		name  string
		addr  netip.AddrPort
		saved int
	}{
		{"openssl -client_renegotiation", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{"-client_renegotiation"}}), 4},
		{"openssl TLS 1.2 interactive", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12}, Interactive: true}), 4},
		{"openssl -Verify 1", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{"-Verify", "1"}}), 2},
		{"openssl CBC only", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12},
			Cipher: "ECDHE-RSA-AES128-SHA:AES128-SHA"}), 3},
		{"openssl TLS 1.0", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS10},
			Cipher: "DEFAULT:@SECLEVEL=0"}), 2},
		{"nginx", tlstest.NginxServer(t, tlstest.NginxConfig{Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13},
			Directives: []string{"ssl_session_cache shared:SSL:1m;"}}), 4},
		{"nginx no tickets", tlstest.NginxServer(t, tlstest.NginxConfig{Directives: []string{"ssl_session_tickets off;"}}), 3},
		{"gnutls", tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:+VERS-TLS1.1:+RSA"}), 4},
		{"go TLS 1.2 and 3", tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}}), 4},
		{"go ECDSA and RSA", tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{ecCert.TLSCertificate(), cert.TLSCertificate()},
			MaxVersion: tls.VersionTLS12}), 4},
		{"openssl -sigalgs", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{"-sigalgs", "RSA-PSS+SHA256:RSA+SHA384"}}), 4},
		{"openssl -serverpref RSA key exchange first", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12},
			ServerPref: true, Cipher: "AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"}), 3},
		{"openssl -serverpref ECDHE", tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12},
			ServerPref: true, Cipher: "ECDHE-RSA-AES256-SHA384:AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"}), 4},
		{"F5-like", ticketbleedServer(t, true), 4},
		{"fake CCS injection", fakeServer{ccs: true, fallback: true}.start(t), 1},
		{"fake deflate", fakeServer{deflate: true, fallback: true}.start(t), 1},
		{"fake heartbleed", fakeServer{heartbleed: true, fallback: true}.start(t), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before, after := runMerged(t, tc.addr, true), runMerged(t, tc.addr, false)
			if diff := cmp.Diff(before, after, cmpopts.IgnoreFields(tlswarden.VulnResult{}, "Connections")); diff != "" {
				t.Errorf("facts (-separate +merged):\n%s", diff)
			}
			if saved := before.Connections - after.Connections; saved != tc.saved {
				t.Errorf("%d connections merged, %d separate: %d saved, want %d", after.Connections, before.Connections, saved, tc.saved)
			}
			t.Logf("%d connections instead of %d; resumption %+v; ticketbleed %+v; renegotiation %+v; CCS %+v",
				after.Connections, before.Connections, after.Resumption, after.Ticketbleed, after.ClientRenegotiation, after.CCSInjection)
		})
	}
}
