package vuln

import (
	"context"
	"crypto/tls"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// runChecks runs every check against addr through dial, one after the
// other when serial is set.
func runChecks(t *testing.T, addr netip.AddrPort, dial tlswarden.DialFunc, serial bool) *tlswarden.VulnResult {
	t.Helper()
	r := testRun(addr, dial)
	r.serial = serial
	return runAll(t, r)
}

// testRun is a run of every check against addr through dial, as the tests
// make it: the host localhost, a second's wait for answers.
func testRun(addr netip.AddrPort, dial tlswarden.DialFunc) *run {
	return &run{cfg: Config{AnswerWait: time.Second}.withDefaults(), ep: tlswarden.Endpoint{Host: "localhost", Addr: addr},
		dial: dial, start: time.Now()}
}

// runAll runs r's checks within a minute and fails the test on an error.
func runAll(t *testing.T, r *run) *tlswarden.VulnResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res, err := r.all(ctx)
	if err != nil {
		t.Fatalf("probe: %v", err)
	}
	return res
}

// TestChecksAtOnceSameFacts checks that the checks run at once find what
// they find one after the other, connections included, under a cap of 4
// connections and of 1 (which a shared cap must not deadlock), on servers
// where each check has something to find: Heartbleed beside the others on
// the feature connection, a ROBOT oracle, CCS injection, Ticketbleed after
// resumption, TLS 1.3 resumption with 0-RTT, client-initiated
// renegotiation, and a TLS 1.3-only server.
func TestChecksAtOnceSameFacts(t *testing.T) {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
	servers := map[string]netip.AddrPort{
		"fake heartbleed":  fakeServer{heartbleed: true, fallback: true}.start(t),
		"fake heartbeat":   fakeServer{heartbeat: true}.start(t),
		"fake ROBOT, CCS":  fakeServer{rsa: cert, robot: true, ccs: true}.start(t),
		"F5-like":          ticketbleedServer(t, true),
		"openssl":          tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Interactive: true, Args: []string{"-early_data", "-client_renegotiation"}}),
		"openssl TLS 1.3":  tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS13}}),
		"nginx":            tlstest.NginxServer(t, tlstest.NginxConfig{Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}, Directives: []string{"ssl_early_data on;"}}),
		"gnutls":           tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:+VERS-TLS1.1:+RSA"}),
		"go TLS 1.2 and 3": tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}}),
	}
	for name, addr := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			serial := runChecks(t, addr, tlstest.NewDialer(addr).Dial, true)
			for _, maxConns := range []int{4, 1} {
				d := tlstest.NewDialer(addr)
				d.MaxConns = maxConns
				if diff := cmp.Diff(serial, runChecks(t, addr, d.Dial, false)); diff != "" {
					t.Errorf("at once under a cap of %d (-one after the other +at once):\n%s", maxConns, diff)
				}
			}
		})
	}
}
