package probes

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ocsp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// runFlights runs the TLS and certificate probes at once on addr, sharing
// a Shared, with the certificate probe's primary chain read from the TLS
// probe's flights where it can be (own false) or from a handshake of its
// own (own true), and returns the certificate facts and each probe's
// connections. versions are the TLS probe's (nil: all).
func runFlights(t *testing.T, addr netip.AddrPort, roots []*x509.Certificate, now time.Time, own bool, versions []tlswarden.Version) (cert *tlswarden.CertResult, tlsConns, certConns int) {
	t.Helper()
	ep := tlswarden.Endpoint{Host: "localhost", Addr: addr}
	td, cd := tlstest.NewDialer(addr), tlstest.NewDialer(addr)
	shared := NewShared()
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := TLS(TLSConfig{Shared: shared, Versions: versions}).Run(t.Context(), ep, td.Dial); err != nil {
			t.Errorf("tls probe: %v", err)
		}
	})
	wg.Go(func() {
		cfg := CertConfig{Shared: shared, Roots: roots, Now: func() time.Time { return now }, ownHandshake: own}
		obs, err := Cert(cfg).Run(t.Context(), ep, cd.Dial)
		if err != nil {
			t.Errorf("certificate probe: %v", err)
		}
		cert = obs.Cert
	})
	wg.Wait()
	if cert == nil {
		t.Fatal("no certificate facts")
	}
	return cert, td.Count(), cd.Count()
}

// TestCertFromTLSFlight checks that the certificate probe reports the
// same facts whether its primary chain comes from a handshake of its own
// or from the TLS probe's flight, and that it spares the handshake's
// connection exactly where the server speaks no TLS 1.3: Go and OpenSSL
// servers at TLS 1.2 with an RSA and an ECDSA certificate, in the
// server's order and in the client's (which decide the certificate), with
// a stapled OCSP response and SCTs, OpenSSL at TLS 1.0 and at 1.0 to 1.2;
// a server whose order the TLS probe could not settle, and servers that
// speak TLS 1.3, still get the handshake, and their certificate.
func TestCertFromTLSFlight(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	ca := tlstest.NewCAValid(t, "Test CA", now.Add(-3650*day), now.Add(3650*day))
	roots := []*x509.Certificate{ca.Cert.Cert}
	rsaLeaf := ca.Issue(t, tlstest.CertSpec{})
	ecLeaf := stapledLeaf(t, ca, now)
	good := staple(t, ca, ecLeaf, ca.Key, ocsp.Response{Status: ocsp.Good, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(day)})
	goCerts := func() []tls.Certificate {
		ec := ecLeaf.TLSCertificate(&ca.Cert)
		ec.OCSPStaple, ec.SignedCertificateTimestamps = good, [][]byte{fakeSCT(7), fakeSCT(8)}
		return []tls.Certificate{ec, rsaLeaf.TLSCertificate(&ca.Cert)}
	}
	openssl := func(versions []tlswarden.Version, serverPref bool) func(t *testing.T) netip.AddrPort {
		return func(t *testing.T) netip.AddrPort {
			certFile, keyFile := ecLeaf.WritePEM(t, t.TempDir(), &ca.Cert)
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: rsaLeaf, Chain: []*tlstest.Cert{&ca.Cert}, Versions: versions,
				ServerPref: serverPref, Cipher: "DEFAULT:@SECLEVEL=0", Args: []string{"-dcert", certFile, "-dkey", keyFile}})
		}
	}
	tests := []struct {
		name  string
		addr  func(t *testing.T) netip.AddrPort
		leaf  *tlstest.Cert
		saved int
		// stapled: the server staples an OCSP response and sends SCTs.
		stapled bool
		// versions are the TLS probe's (nil: all).
		versions []tlswarden.Version
	}{
		{"Go TLS 1.2, one suite, stapled", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: goCerts(), MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
		}, ecLeaf, 1, true, nil},
		// Go's order gives way to a client that lists ChaCha20 first:
		// the TLS probe finds it indeterminate, and the handshake is made.
		{"Go TLS 1.2, order indeterminate", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: goCerts(), MaxVersion: tls.VersionTLS12})
		}, nil, 0, false, nil},
		{"OpenSSL TLS 1.2, client order", openssl([]tlswarden.Version{tlswarden.TLS12}, false), rsaLeaf, 1, false, nil},
		{"OpenSSL TLS 1.2, server order", openssl([]tlswarden.Version{tlswarden.TLS12}, true), nil, 1, false, nil},
		{"OpenSSL TLS 1.0", openssl([]tlswarden.Version{tlswarden.TLS10}, true), nil, 1, false, nil},
		{"OpenSSL TLS 1.0 to 1.2", openssl([]tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12}, false), rsaLeaf, 1, false, nil},
		{"Go TLS 1.3 only", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: goCerts(), MinVersion: tls.VersionTLS13})
		}, nil, 0, false, nil},
		{"Go TLS 1.2 and 1.3", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: goCerts()})
		}, nil, 0, false, nil},
		{"OpenSSL TLS 1.2 and 1.3", openssl([]tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}, false), nil, 0, false, nil},
		// A TLS probe that does not test TLS 1.3 cannot say the server
		// lacks it.
		{"OpenSSL TLS 1.2, TLS 1.3 not tested", openssl([]tlswarden.Version{tlswarden.TLS12}, false), rsaLeaf, 0, false,
			[]tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := tc.addr(t)
			own, _, ownConns := runFlights(t, addr, roots, now, true, tc.versions)
			got, _, conns := runFlights(t, addr, roots, now, false, tc.versions)
			if diff := cmp.Diff(own, got); diff != "" {
				t.Errorf("facts differ (-own handshake +from the TLS probe's flight):\n%s", diff)
			}
			if ownConns-conns != tc.saved {
				t.Errorf("certificate probe: %d connections with its handshake, %d without; want %d saved", ownConns, conns, tc.saved)
			}
			if len(got.Chain) == 0 || tc.leaf != nil && got.Leaf().SHA256 != fingerprint(tc.leaf.DER) {
				t.Errorf("primary leaf %s, want %s", got.Leaf().SHA256, fingerprint(tc.leaf.DER))
			}
			if tc.stapled && (!got.OCSPStapled || got.OCSP == nil || got.OCSP.Status != "good" || got.SCTs.TLSExtension != 2) {
				t.Errorf("stapled %v (%+v), %d SCTs in the extension; want a good staple and 2", got.OCSPStapled, got.OCSP, got.SCTs.TLSExtension)
			}
			t.Logf("primary %s %s, %d chains, %d connections (%d with its own handshake)", got.Version, got.CipherSuite.Name, 1+len(got.OtherChains), conns, ownConns)
		})
	}
}

// BenchmarkEndpointLatencyCertFlight runs the TLS, certificate and HTTP
// probes at once, as BenchmarkEndpointLatency does, against nginx with
// Mozilla's intermediate configuration at TLS 1.2 only and at TLS 1.2 and
// 1.3, through a 50 ms round trip under a per-endpoint cap of 4, with the
// certificate probe's primary chain from a handshake of its own and from
// the TLS probe's flight, one after the other in the same run. It reports the connections, the wall time's median (min-s,
// max-s) and the critical path in round trips.
func BenchmarkEndpointLatencyCertFlight(b *testing.B) {
	ca := tlstest.NewCA(b, "Latency Root")
	leaf := ca.Issue(b, tlstest.CertSpec{DNSNames: []string{"localhost"}, Key: tlstest.RSA2048})
	for _, versions := range [][]tlswarden.Version{{tlswarden.TLS12}, {tlswarden.TLS12, tlswarden.TLS13}} {
		addr := tlstest.NginxServer(b, tlstest.NginxConfig{
			Cert: leaf, Chain: []*tlstest.Cert{&ca.Cert}, Versions: versions,
			Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" +
				"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
			DHBits: 2048, ECDHCurve: "X25519:prime256v1:secp384r1",
		})
		ep := tlswarden.Endpoint{Host: "localhost", Addr: addr}
		name := "tls12"
		if len(versions) > 1 {
			name = "tls12+13"
		}
		for _, own := range []bool{true, false} {
			primary := "flight"
			if own {
				primary = "handshake"
			}
			b.Run(name+"/primary="+primary, func(b *testing.B) {
				const rtt = 50 * time.Millisecond
				var walls []time.Duration
				conns := 0
				for b.Loop() {
					shared := NewShared()
					ps := []tlswarden.Probe{
						TLS(TLSConfig{Shared: shared}),
						Cert(CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}, Shared: shared, ownHandshake: own}),
						HTTP(HTTPConfig{SkipPlainHTTP: true}),
					}
					d := tlstest.NewRTTDialer(addr, rtt, 4)
					start := time.Now()
					var wg sync.WaitGroup
					for _, p := range ps {
						wg.Go(func() {
							if _, err := p.Run(b.Context(), ep, d.Dial); err != nil {
								b.Errorf("%s: %v", p.Name, err)
							}
						})
					}
					wg.Wait()
					walls = append(walls, time.Since(start))
					conns = d.Count()
				}
				slices.Sort(walls)
				b.ReportMetric(float64(conns), "conns/op")
				b.ReportMetric(walls[len(walls)/2].Seconds(), "median-s")
				b.ReportMetric(walls[0].Seconds(), "min-s")
				b.ReportMetric(walls[len(walls)-1].Seconds(), "max-s")
				b.ReportMetric(walls[len(walls)/2].Seconds()/rtt.Seconds(), "rtts/op")
			})
		}
	}
}

// TestPrimaryOffer checks the offer read from zcrypto's ClientHello (its
// portable suites in its order, ECDHE_RSA with AES-128-GCM first, no
// TLS 1.3 suite; X25519 and P-256 among its curves) and the order a server
// considers it in: its own, restricted to the offer, or the offer's.
func TestPrimaryOffer(t *testing.T) {
	o, err := primaryOffer()
	if err != nil {
		t.Fatal(err)
	}
	if len(o.suites) < 10 || o.suites[0] != 0xC02F || o.suites[1] != 0xC02B || slices.Contains(o.suites, 0x1301) {
		t.Errorf("suites %04x: want zcrypto's portable ones, ECDHE-RSA-AES128-GCM first, none of TLS 1.3", o.suites)
	}
	if !slices.Contains(o.groups, 29) || !slices.Contains(o.groups, 23) {
		t.Errorf("groups %v: want X25519 and P-256 among them", o.groups)
	}
	scan := func(pref tlswarden.Preference, codes ...uint16) *versionScan {
		s := &versionScan{version: tlswarden.TLS12, supported: true, pref: pref}
		for _, c := range codes {
			s.suites = append(s.suites, tlswarden.Suite{Code: c})
		}
		return s
	}
	const aria = 0xC061 // ECDHE-RSA-ARIA256-GCM: not in zcrypto's offer
	for _, tc := range []struct {
		name string
		s    *versionScan
		want []uint16
	}{
		{"server order, unoffered first", scan(tlswarden.PreferServer, aria, 0xC030, 0xC02F), []uint16{0xC030, 0xC02F}},
		{"client order", scan(tlswarden.PreferClient, aria, 0xC030, 0xC02F), []uint16{0xC02F, 0xC030}},
		{"one suite", scan(tlswarden.PreferIndeterminate, 0xC030), []uint16{0xC030}},
		{"indeterminate", scan(tlswarden.PreferIndeterminate, 0xC030, 0xC02F), nil},
	} {
		if got := handshakeOrder(tc.s, o); !slices.Equal(got, tc.want) {
			t.Errorf("%s: order %04x, want %04x", tc.name, got, tc.want)
		}
	}
}
