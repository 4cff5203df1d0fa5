package probes

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// latencyServers are the servers of the latency benchmark and test: a
// client-order server and server-order ones, with few suites and many.
func latencyServers(tb testing.TB) []struct {
	name string
	fs   *fakeServer
} {
	return []struct {
		name string
		fs   *fakeServer
	}{
		{"client-order-9", mozillaIntermediate(true)},
		{"server-order-9", mozillaIntermediate(false)},
		{"server-order-26", mozillaOld()},
		{"client-order-26", func() *fakeServer { fs := mozillaOld(); fs.clientOrder = true; return fs }()},
		{"server-order-interleaved-21", strengthSorted()},
		{"server-order-strength-blocks-4", strengthBlocks()},
		{"server-order-strength-blocks-chacha-6", strengthBlocksChaCha()},
		{"server-order-kx-blocks-18", kxBlocks()},
	}
}

// kxBlocks scripts GnuTLS's NORMAL:%SERVER_PRECEDENCE with an RSA
// certificate, as the fleet's gnutls-serv serves it: at TLS 1.2 every
// ECDHE suite, then RSA key exchange, then DHE, each by the cipher's
// strength, then family and mode. Neither of the class guesses: its order
// is found by the key exchange blocks' guess (kxBlockGuess).
func kxBlocks() *fakeServer {
	return &fakeServer{
		suites: map[tlswarden.Version][]uint16{
			tlswarden.TLS12: {0xC030, 0xCCA8, 0xC014, 0xC02F, 0xC013,
				0x009D, 0xC09D, 0x0035, 0x009C, 0xC09C, 0x002F,
				0x009F, 0xCCAA, 0xC09F, 0x0039, 0x009E, 0xC09E, 0x0033},
			tlswarden.TLS13: {0x1302, 0x1303, 0x1301, 0x1304},
		},
		groups: []uint16{29, 23, 24}, dhBits: 2048,
	}
}

// strengthBlocksChaCha scripts a server like strengthBlocks whose blocks
// also hold ChaCha20 between the AES-GCM suites, as OpenSSL's sort puts
// it: its chains look like OpenSSL's default sort, whose interleaving is
// guessed first and found wrong, and the classes apart are guessed second.
func strengthBlocksChaCha() *fakeServer {
	return &fakeServer{
		suites: map[tlswarden.Version][]uint16{
			tlswarden.TLS12: {0xC030, 0xCCA8, 0xC02F, 0x009F, 0xCCAA, 0x009E},
			tlswarden.TLS13: {0x1302, 0x1303, 0x1301},
		},
		groups: []uint16{29, 23, 24}, dhBits: 2048,
	}
}

// strengthBlocks scripts a server whose own order keeps ECDHE and DHE
// apart but sorts each by strength, as OpenSSL expands
// "ECDHE+AESGCM:DHE+AESGCM": one cipher family, so not taken for
// OpenSSL's default sort; the classes apart are the first guess.
func strengthBlocks() *fakeServer {
	return &fakeServer{
		suites: map[tlswarden.Version][]uint16{
			tlswarden.TLS12: {0xC030, 0xC02F, 0x009F, 0x009E},
			tlswarden.TLS13: {0x1302, 0x1303, 0x1301},
		},
		groups: []uint16{29, 23, 24}, dhBits: 2048,
	}
}

// strengthSorted scripts a server whose own order is OpenSSL's default
// sort: forward-secret AEAD first, ECDHE and DHE interleaved by strength,
// then forward-secret CBC likewise, then RSA key exchange AEAD, then the
// rest by strength.
func strengthSorted() *fakeServer {
	return &fakeServer{
		suites: map[tlswarden.Version][]uint16{
			tlswarden.TLS12: {0xC030, 0x009F, 0xCCA8, 0xCCAA, 0xC02F, 0x009E, 0xC028, 0x006B, 0xC014, 0x0039,
				0xC027, 0x0067, 0xC013, 0x0033, 0x009D, 0x009C, 0x003D, 0x0035, 0x003C, 0x002F, 0x000A},
			tlswarden.TLS13: {0x1302, 0x1303, 0x1301},
		},
		groups: []uint16{29, 23, 24}, dhBits: 2048,
	}
}

// mozillaIntermediate scripts the suites of Mozilla's intermediate
// configuration with an RSA certificate: six at TLS 1.2, three at 1.3.
func mozillaIntermediate(clientOrder bool) *fakeServer {
	return &fakeServer{
		suites: map[tlswarden.Version][]uint16{
			tlswarden.TLS12: {0xC02F, 0xC030, 0xCCA8, 0x009E, 0x009F, 0xCCAA},
			tlswarden.TLS13: {0x1301, 0x1302, 0x1303},
		},
		groups: []uint16{29, 23, 24}, dhBits: 2048, clientOrder: clientOrder,
	}
}

// mozillaOld scripts Mozilla's old configuration with an RSA certificate
// at TLS 1.2, in its order (the server's), and TLS 1.3.
func mozillaOld() *fakeServer {
	return &fakeServer{
		suites: map[tlswarden.Version][]uint16{
			tlswarden.TLS12: {0xC02F, 0xC030, 0xCCA8, 0x009E, 0x009F, 0xCCAA, 0xC027, 0xC013, 0xC028, 0xC014,
				0x0067, 0x006B, 0x009C, 0x009D, 0x003C, 0x003D, 0x002F, 0x0035, 0x000A},
			tlswarden.TLS13: {0x1301, 0x1302, 0x1303},
		},
		groups: []uint16{29, 23, 24}, dhBits: 2048,
	}
}

// runLatency runs the TLS probe once through d and returns the result and
// the critical path in round trips.
func runLatency(tb testing.TB, d *tlstest.RTTDialer, addr netip.AddrPort) (*tlswarden.TLSResult, float64) {
	tb.Helper()
	start := time.Now()
	obs, err := TLS(TLSConfig{}).Run(tb.Context(), tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial)
	if err != nil {
		tb.Fatal(err)
	}
	return obs.TLS, time.Since(start).Seconds() / d.RTT.Seconds()
}

// BenchmarkTLSLatency runs the TLS probe against scripted servers through
// a 50 ms round trip (four connections at a time, as the scanner's
// default) and reports the connections and the critical path in round
// trips (rtts/op: wall time over the round trip; a connection's hello
// costs two, the connect's and the hello's).
func BenchmarkTLSLatency(b *testing.B) {
	for _, tt := range latencyServers(b) {
		b.Run(tt.name, func(b *testing.B) {
			addr := tlstest.RawServer(b, tt.fs.handle)
			var rtts []float64
			conns := 0
			for b.Loop() {
				d := tlstest.NewRTTDialer(addr, 50*time.Millisecond, 4)
				_, r := runLatency(b, d, addr)
				rtts = append(rtts, r)
				conns = d.Count()
			}
			slices.Sort(rtts)
			b.ReportMetric(float64(conns), "conns/op")
			b.ReportMetric(rtts[len(rtts)/2], "rtts/op")
			b.ReportMetric(rtts[0], "min-rtts")
			b.ReportMetric(rtts[len(rtts)-1], "max-rtts")
		})
	}
}

// TestTLSLatencySameFacts checks that a round trip does not change what
// the probe finds: the suites in order, the preference and the groups of
// scripted servers of either preference, and of a Go server, are the same
// through a 20 ms round trip as on loopback.
func TestTLSLatencySameFacts(t *testing.T) {
	c := newCerts(t)
	addrs := map[string]netip.AddrPort{"go": tlstest.GoServer(t, &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{c.rsa}})}
	for _, tt := range latencyServers(t) {
		addrs[tt.name] = tlstest.RawServer(t, tt.fs.handle)
	}
	for name, addr := range addrs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base, _ := runLatency(t, tlstest.NewRTTDialer(addr, 0, 4), addr)
			got, rtts := runLatency(t, tlstest.NewRTTDialer(addr, 20*time.Millisecond, 4), addr)
			if diff := cmp.Diff(facts(base), facts(got)); diff != "" {
				t.Errorf("facts through 20 ms differ from loopback's (-loopback +20ms):\n%s", diff)
			}
			t.Logf("%d connections, %.1f round trips", got.Connections, rtts)
		})
	}
}

// facts is what TestTLSLatencySameFacts compares: the result without its
// connection count.
func facts(res *tlswarden.TLSResult) tlswarden.TLSResult {
	r := *res
	r.Connections = 0
	return r
}

// BenchmarkEndpointLatency runs the TLS, certificate and HTTP probes at
// once, as the scanner does (the first two sharing, as the command's do), against nginx with Mozilla's intermediate
// configuration (client order, nine suites, an RSA certificate, ffdhe2048),
// through a 50 ms round trip shared under a per-endpoint cap of 4 and of 6
// connections. It reports the wall time of the endpoint (s/op's median as
// median-s, with min-s and max-s), its critical path in round trips and
// its connections.
func BenchmarkEndpointLatency(b *testing.B) {
	ca := tlstest.NewCA(b, "Latency Root")
	leaf := ca.Issue(b, tlstest.CertSpec{DNSNames: []string{"localhost"}, Key: tlstest.RSA2048})
	addr := tlstest.NginxServer(b, tlstest.NginxConfig{
		Cert: leaf, Chain: []*tlstest.Cert{&ca.Cert}, Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13},
		Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" +
			"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
		DHBits: 2048, ECDHCurve: "X25519:prime256v1:secp384r1",
	})
	shared := NewShared()
	ps := []tlswarden.Probe{
		TLS(TLSConfig{Shared: shared}),
		Cert(CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}, Shared: shared}),
		HTTP(HTTPConfig{SkipPlainHTTP: true}),
	}
	ep := tlswarden.Endpoint{Host: "localhost", Addr: addr}
	for _, maxConns := range []int{4, 6} {
		b.Run(fmt.Sprintf("cap=%d", maxConns), func(b *testing.B) {
			const rtt = 50 * time.Millisecond
			var walls []time.Duration
			conns := 0
			for b.Loop() {
				d := tlstest.NewRTTDialer(addr, rtt, maxConns)
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

// TestTLSChainsFindTheOrder checks the order the parallel chains settle on
// against the scripted servers': the server's own, whether its order keeps
// the classes apart or interleaves them, or ours for a server that follows
// the client.
func TestTLSChainsFindTheOrder(t *testing.T) {
	for _, tt := range latencyServers(t) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := tlstest.RawServer(t, tt.fs.handle)
			res, _ := runLatency(t, tlstest.NewRTTDialer(addr, 0, 4), addr)
			for _, v := range []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13} {
				want := slices.Clone(tt.fs.suites[v])
				pref := tlswarden.PreferServer
				if tt.fs.clientOrder {
					order := legacySuiteOrder()
					if v == tlswarden.TLS13 {
						order = tls13SuiteOrder()
					}
					slices.SortFunc(want, func(a, b uint16) int { return slices.Index(order, a) - slices.Index(order, b) })
					pref = tlswarden.PreferClient
				}
				got := version(res, v)
				if diff := cmp.Diff(want, suiteCodes(got.Suites)); diff != "" || got.Preference != pref {
					t.Errorf("%s: preference %q, want %q; order (-want +got):\n%s", v, got.Preference, pref, diff)
				}
			}
			t.Logf("%d connections", res.Connections)
		})
	}
}

// BenchmarkTLSLatencyOpenSSL runs the TLS probe through a 50 ms round trip
// against openssl s_server offering everything an RSA certificate can
// serve ("ALL") in its own order, OpenSSL's default sort: the case where
// the chains' guess is wrong inside class groups. "tls12" is TLS 1.2 alone
// (about 60 suites, groups enumerated too); "tls10-12" is the fleet's
// slowest endpoint (nginx "ALL:@SECLEVEL=0" at TLS 1.0 to 1.2, suites
// without groups, as the fleet benchmark scans).
func BenchmarkTLSLatencyOpenSSL(b *testing.B) {
	for _, tc := range []struct {
		name     string
		versions []tlswarden.Version
		cipher   string
		noGroups bool
	}{
		{"tls12", []tlswarden.Version{tlswarden.TLS12}, "ALL:!aECDSA:!aDSS:!PSK:!SRP:@SECLEVEL=0", false},
		{"tls10-12", []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12}, "ALL:@SECLEVEL=0", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			addr := tlstest.OpenSSLServer(b, tlstest.OpenSSLConfig{Versions: tc.versions, Cipher: tc.cipher, ServerPref: true})
			var rtts []float64
			conns := 0
			for b.Loop() {
				d := tlstest.NewRTTDialer(addr, 50*time.Millisecond, 4)
				start := time.Now()
				obs, err := TLS(TLSConfig{NoGroups: tc.noGroups}).Run(b.Context(), tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial)
				if err != nil {
					b.Fatal(err)
				}
				rtts = append(rtts, time.Since(start).Seconds()/d.RTT.Seconds())
				conns = obs.TLS.Connections
			}
			slices.Sort(rtts)
			b.ReportMetric(float64(conns), "conns/op")
			b.ReportMetric(rtts[len(rtts)/2], "rtts/op")
		})
	}
}

// TestTLSGroupChains checks the TLS 1.3 groups found in two chains (the
// curves, the finite-field groups) against the server's order, whether
// it keeps the kinds apart, puts a finite-field group first, or
// interleaves them (merged).
func TestTLSGroupChains(t *testing.T) {
	for _, groups := range [][]uint16{
		{29, 23, 24},
		{29, 23, 24, 256, 257},
		{256, 257, 29, 23},
		{29, 256, 23, 257, 24},
	} {
		fs := &fakeServer{suites: map[tlswarden.Version][]uint16{tlswarden.TLS13: {0x1301, 0x1302}}, groups: groups}
		addr := tlstest.RawServer(t, fs.handle)
		res, err := runTLS(t, addr, "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS13}})
		if err != nil {
			t.Fatal(err)
		}
		var got []uint16
		for _, g := range res.Groups {
			got = append(got, g.Code)
		}
		if diff := cmp.Diff(groups, got); diff != "" || res.GroupsError != "" {
			t.Errorf("groups %v: error %q, found (-want +got):\n%s", groups, res.GroupsError, diff)
		}
	}
}

// TestTLSKeyExchangeBlocks: a server order that keeps key exchanges
// apart, each by cipher (GnuTLS's, kxBlocks), is neither class guess;
// the key exchange blocks' guess checked in one round of border pairs
// settles it instead of a merge a hello per suite, one after the other:
// through 50 ms at 4 connections at a time, 54 connections and about 39
// round trips, where the merge took 59 and 65 (the round trips' margin is
// for a busy machine).
func TestTLSKeyExchangeBlocks(t *testing.T) {
	fs := kxBlocks()
	addr := tlstest.RawServer(t, fs.handle)
	res, rtts := runLatency(t, tlstest.NewRTTDialer(addr, 50*time.Millisecond, 4), addr)
	got := version(res, tlswarden.TLS12)
	if diff := cmp.Diff(fs.suites[tlswarden.TLS12], suiteCodes(got.Suites)); diff != "" || got.Preference != tlswarden.PreferServer {
		t.Errorf("TLS 1.2: preference %q; order (-want +got):\n%s", got.Preference, diff)
	}
	t.Logf("%d connections, %.1f round trips", res.Connections, rtts)
	if res.Connections > 56 {
		t.Errorf("%d connections, want at most 56 (54; 59 merging a hello per suite)", res.Connections)
	}
	if rtts > 52 {
		t.Errorf("%.1f round trips, want at most 52 (about 39; 65 merging a hello per suite)", rtts)
	}
}

// TestTLSBorderPairsProveServerOrder: a server with its own order whose
// border pairs all pick their second suite has its preference proved by
// them: no hello offers the found suites reversed (the preference test),
// and the order found is the server's.
func TestTLSBorderPairsProveServerOrder(t *testing.T) {
	fs := mozillaOld()
	addr := tlstest.RawServer(t, fs.handle)
	res, err := runTLS(t, addr, "localhost", TLSConfig{NoGroups: true})
	if err != nil {
		t.Fatal(err)
	}
	want := fs.suites[tlswarden.TLS12]
	got := version(res, tlswarden.TLS12)
	if diff := cmp.Diff(want, suiteCodes(got.Suites)); diff != "" || got.Preference != tlswarden.PreferServer {
		t.Fatalf("preference %q, want %q; order (-want +got):\n%s", got.Preference, tlswarden.PreferServer, diff)
	}
	rev := slices.Clone(want)
	slices.Reverse(rev)
	for _, h := range fs.hellos() {
		if h.version == 0x0303 && slices.Equal(h.suites, rev) {
			t.Errorf("the reversed offer went out (%d connections in all): the border pairs proved the order", res.Connections)
		}
	}
}
