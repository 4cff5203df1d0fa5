package probes

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/cpu"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// runTLS runs the TLS probe against addr through a counting dialer capped at
// four connections, like the scanner's default, and checks the count.
func runTLS(t testing.TB, addr netip.AddrPort, host string, cfg TLSConfig) (*tlswarden.TLSResult, error) {
	t.Helper()
	d := tlstest.NewDialer(addr)
	d.MaxConns = 4
	obs, err := TLS(cfg).Run(t.Context(), tlswarden.Endpoint{Host: host, Addr: addr}, d.Dial)
	if obs.TLS == nil {
		t.Fatalf("no TLS result (err %v)", err)
	}
	if obs.TLS.Connections != d.Count() {
		t.Errorf("result counts %d connections, the dialer %d", obs.TLS.Connections, d.Count())
	}
	return obs.TLS, err
}

// found maps each supported version to its suite codes, in reported order.
func found(res *tlswarden.TLSResult) map[tlswarden.Version][]uint16 {
	m := map[tlswarden.Version][]uint16{}
	for _, v := range res.Versions {
		if v.Supported {
			m[v.Version] = suiteCodes(v.Suites)
		}
	}
	return m
}

// sortedSets returns m with every list sorted, to compare sets.
func sortedSets(m map[tlswarden.Version][]uint16) map[tlswarden.Version][]uint16 {
	out := map[tlswarden.Version][]uint16{}
	for v, s := range m {
		out[v] = slices.Sorted(slices.Values(s))
	}
	return out
}

// checkTested fails unless every version was tested to the end.
func checkTested(t *testing.T, res *tlswarden.TLSResult, versions ...tlswarden.Version) {
	t.Helper()
	if len(versions) == 0 {
		versions = tlswarden.AllVersions
	}
	var got []tlswarden.Version
	for _, v := range res.Versions {
		got = append(got, v.Version)
		if v.Status != tlswarden.StatusOK || v.Error != "" {
			t.Errorf("%s: status %s, error %q", v.Version, v.Status, v.Error)
		}
	}
	if diff := cmp.Diff(versions, got); diff != "" {
		t.Errorf("versions reported (-want +got):\n%s", diff)
	}
}

// groupScan returns the group enumeration over v, if there was one.
func groupScan(res *tlswarden.TLSResult, v tlswarden.Version) tlswarden.GroupScan {
	for _, gs := range res.GroupsByVersion {
		if gs.Version == v {
			return gs
		}
	}
	return tlswarden.GroupScan{}
}

func version(res *tlswarden.TLSResult, v tlswarden.Version) tlswarden.VersionResult {
	for _, vr := range res.Versions {
		if vr.Version == v {
			return vr
		}
	}
	return tlswarden.VersionResult{}
}

// maxVersion is the newest version a ClientHello offers that Go knows (none
// for an SSLv3 hello).
func maxVersion(chi *tls.ClientHelloInfo) uint16 {
	if len(chi.SupportedVersions) == 0 {
		return 0
	}
	return slices.Max(chi.SupportedVersions)
}

type certs struct{ rsa, ecdsa tls.Certificate }

func newCerts(t testing.TB) certs {
	return certs{
		rsa:   tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate(),
		ecdsa: tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate(),
	}
}

func TestTLSEachVersion(t *testing.T) {
	c := newCerts(t)
	legacy := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA}
	modern := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256}
	tests := []struct {
		name   string
		v      uint16
		suites []uint16
		want   map[tlswarden.Version][]uint16
	}{
		{"TLS 1.0", tls.VersionTLS10, legacy, map[tlswarden.Version][]uint16{tlswarden.TLS10: legacy}},
		{"TLS 1.1", tls.VersionTLS11, legacy, map[tlswarden.Version][]uint16{tlswarden.TLS11: legacy}},
		{"TLS 1.2", tls.VersionTLS12, modern, map[tlswarden.Version][]uint16{tlswarden.TLS12: modern}},
		{"TLS 1.3", tls.VersionTLS13, nil, map[tlswarden.Version][]uint16{tlswarden.TLS13: {0x1301, 0x1302, 0x1303}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tlstest.GoServer(t, &tls.Config{MinVersion: tt.v, MaxVersion: tt.v, CipherSuites: tt.suites, Certificates: []tls.Certificate{c.rsa}})
			res, err := runTLS(t, addr, "localhost", TLSConfig{})
			if err != nil {
				t.Fatal(err)
			}
			checkTested(t, res)
			if diff := cmp.Diff(sortedSets(tt.want), sortedSets(found(res))); diff != "" {
				t.Errorf("suites per version (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTLSInsecureSuites serves legacy suites that Go only offers when asked
// explicitly, across TLS 1.0 to 1.2: the SHA-256 CBC and GCM suites exist
// only in TLS 1.2.
func TestTLSInsecureSuites(t *testing.T) {
	c := newCerts(t)
	old := []uint16{tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
		tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}
	tls12Only := []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	for _, s := range []uint16{tls.TLS_RSA_WITH_RC4_128_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA} {
		if !slices.ContainsFunc(tls.InsecureCipherSuites(), func(cs *tls.CipherSuite) bool { return cs.ID == s }) {
			t.Fatalf("0x%04X is not among Go's insecure suites; the fixture is wrong", s)
		}
	}
	addr := tlstest.GoServer(t, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
		CipherSuites: append(slices.Clone(old), tls12Only...), Certificates: []tls.Certificate{c.rsa}})
	res, err := runTLS(t, addr, "localhost", TLSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res)
	want := map[tlswarden.Version][]uint16{tlswarden.TLS10: old, tlswarden.TLS11: old, tlswarden.TLS12: append(slices.Clone(old), tls12Only...)}
	if diff := cmp.Diff(sortedSets(want), sortedSets(found(res))); diff != "" {
		t.Errorf("suites per version (-want +got):\n%s", diff)
	}
	for _, s := range version(res, tlswarden.TLS12).Suites {
		if wantGroup := isECDHE(s.Code); (s.Group == "x25519") != wantGroup {
			t.Errorf("%s: group %q", s.Name, s.Group)
		}
	}
}

// TestTLSVersionGap serves TLS 1.0 and 1.2 but not 1.1 on one endpoint: a
// TLS 1.1 hello is answered with TLS 1.0, or refused with a protocol_version
// alert, as real servers do.
func TestTLSVersionGap(t *testing.T) {
	c := newCerts(t)
	for _, mode := range []string{"downgrade", "alert"} {
		t.Run(mode, func(t *testing.T) {
			suites := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
			base := &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: suites, Certificates: []tls.Certificate{c.rsa}}
			base.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
				if maxVersion(chi) != tls.VersionTLS11 {
					return nil, nil
				}
				cfg := base.Clone()
				cfg.GetConfigForClient = nil
				cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
				if mode == "alert" {
					cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
				}
				return cfg, nil
			}
			res, err := runTLS(t, tlstest.GoServer(t, base), "localhost", TLSConfig{})
			if err != nil {
				t.Fatal(err)
			}
			checkTested(t, res)
			want := map[tlswarden.Version][]uint16{tlswarden.TLS10: suites[:1], tlswarden.TLS12: suites}
			if diff := cmp.Diff(sortedSets(want), sortedSets(found(res))); diff != "" {
				t.Errorf("suites per version (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTLSECDSACertificate configures ECDSA and RSA suites with an ECDSA
// certificate: only the ECDSA suites can be negotiated.
func TestTLSECDSACertificate(t *testing.T) {
	c := newCerts(t)
	ecdsaSuites := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
	rsaSuites := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA}
	addr := tlstest.GoServer(t, &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
		CipherSuites: append(slices.Clone(ecdsaSuites), rsaSuites...), Certificates: []tls.Certificate{c.ecdsa}})
	res, err := runTLS(t, addr, "localhost", TLSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res)
	if diff := cmp.Diff(sortedSets(map[tlswarden.Version][]uint16{tlswarden.TLS12: ecdsaSuites}), sortedSets(found(res))); diff != "" {
		t.Errorf("suites per version (-want +got):\n%s", diff)
	}
	for _, s := range version(res, tlswarden.TLS12).Suites {
		if s.Group != "x25519" {
			t.Errorf("%s: group %q, want x25519", s.Name, s.Group)
		}
	}
}

// goPrefersAESGCM reports whether crypto/tls puts AES-GCM before ChaCha20 on
// this machine: it does when the CPU has AES-GCM instructions and the client
// lists an AES-GCM suite first.
func goPrefersAESGCM(t *testing.T) bool {
	switch runtime.GOARCH {
	case "amd64":
		return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ
	case "arm64":
		return cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	}
	t.Skipf("AES-GCM preference of crypto/tls not modelled on %s", runtime.GOARCH)
	return false
}

// TestTLSGoServerPreference records what a crypto/tls server does, which
// ignores the configured order (and PreferServerCipherSuites) and picks by
// its own fixed order, except that a client listing ChaCha20 (or anything
// but AES-GCM) first makes it prefer ChaCha20 when the CPU lacks AES, or
// always. With ChaCha20 among the suites its choice thus depends on the
// client's first suite, which the probe reports as indeterminate.
func TestTLSGoServerPreference(t *testing.T) {
	c := newCerts(t)
	aes := goPrefersAESGCM(t)
	serve := func(t *testing.T, minV, maxV uint16, suites []uint16) *tlswarden.TLSResult {
		cfg := &tls.Config{MinVersion: minV, MaxVersion: maxV, CipherSuites: suites, Certificates: []tls.Certificate{c.rsa}}
		//lint:ignore SA1019 set to show that Go ignores it: the order found is Go's either way
		cfg.PreferServerCipherSuites = false
		addr := tlstest.GoServer(t, cfg)
		res, err := runTLS(t, addr, "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}})
		if err != nil {
			t.Fatal(err)
		}
		checkTested(t, res, tlswarden.TLS12, tlswarden.TLS13)
		return res
	}
	t.Run("without ChaCha20: Go's own order", func(t *testing.T) {
		// Configured in an order Go ignores.
		res := serve(t, tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384})
		v := version(res, tlswarden.TLS12)
		want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA}
		if diff := cmp.Diff(want, suiteCodes(v.Suites)); diff != "" || v.Preference != tlswarden.PreferServer {
			t.Errorf("preference %q, order (-want +got):\n%s", v.Preference, diff)
		}
	})
	t.Run("with ChaCha20", func(t *testing.T) {
		res := serve(t, tls.VersionTLS12, tls.VersionTLS12, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256})
		v := version(res, tlswarden.TLS12)
		want, pref := []uint16{0xC02F, 0xCCA8, 0xC013}, tlswarden.PreferIndeterminate
		if !aes {
			want, pref = []uint16{0xCCA8, 0xC02F, 0xC013}, tlswarden.PreferServer
		}
		if diff := cmp.Diff(want, suiteCodes(v.Suites)); diff != "" || v.Preference != pref {
			t.Errorf("preference %q (want %q), order (-want +got):\n%s", v.Preference, pref, diff)
		}
	})
	t.Run("TLS 1.3", func(t *testing.T) {
		res := serve(t, tls.VersionTLS13, tls.VersionTLS13, nil)
		v := version(res, tlswarden.TLS13)
		want, pref := []uint16{0x1301, 0x1302, 0x1303}, tlswarden.PreferIndeterminate
		if !aes {
			want, pref = []uint16{0x1303, 0x1301, 0x1302}, tlswarden.PreferServer
		}
		if diff := cmp.Diff(want, suiteCodes(v.Suites)); diff != "" || v.Preference != pref {
			t.Errorf("preference %q (want %q), order (-want +got):\n%s", v.Preference, pref, diff)
		}
	})
}

// TestTLSPreference uses the scripted server, which can follow either order.
func TestTLSPreference(t *testing.T) {
	serverOrder := []uint16{0x002F, 0xC013, 0x009C, 0xC02F}
	tests := []struct {
		name        string
		clientOrder bool
		want        []uint16
		pref        tlswarden.Preference
	}{
		{"server", false, serverOrder, tlswarden.PreferServer},
		// Our order: ECDHE AEAD, ECDHE CBC, RSA AEAD, RSA CBC.
		{"client", true, []uint16{0xC02F, 0xC013, 0x009C, 0x002F}, tlswarden.PreferClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := &fakeServer{suites: map[tlswarden.Version][]uint16{tlswarden.TLS12: serverOrder}, groups: []uint16{23}, clientOrder: tt.clientOrder}
			res, err := runTLS(t, tlstest.RawServer(t, fs.handle), "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS12}})
			if err != nil {
				t.Fatal(err)
			}
			checkTested(t, res, tlswarden.TLS12)
			v := version(res, tlswarden.TLS12)
			if diff := cmp.Diff(tt.want, suiteCodes(v.Suites)); diff != "" || v.Preference != tt.pref {
				t.Errorf("preference %q (want %q), order (-want +got):\n%s", v.Preference, tt.pref, diff)
			}
		})
	}
}

func TestTLSGroups(t *testing.T) {
	c := newCerts(t)
	ecdhe := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	tests := []struct {
		name       string
		cfg        *tls.Config
		want       []string
		testedWith tlswarden.Version
	}{
		{"TLS 1.3 defaults", &tls.Config{},
			[]string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "x25519", "secp256r1", "secp384r1", "secp521r1"}, tlswarden.TLS13},
		{"TLS 1.3 restricted", &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP384, tls.X25519}},
			[]string{"x25519", "secp384r1"}, tlswarden.TLS13},
		{"TLS 1.3 post-quantum only", &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519MLKEM768}},
			[]string{"X25519MLKEM768"}, tlswarden.TLS13},
		{"TLS 1.2 defaults", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: ecdhe},
			[]string{"x25519", "secp256r1", "secp384r1", "secp521r1"}, tlswarden.TLS12},
		{"TLS 1.2 restricted", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: ecdhe, CurvePreferences: []tls.CurveID{tls.CurveP256}},
			[]string{"secp256r1"}, tlswarden.TLS12},
		{"TLS 1.2 without ECDHE", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg.Clone()
			cfg.Certificates = []tls.Certificate{c.rsa}
			res, err := runTLS(t, tlstest.GoServer(t, cfg), "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}})
			if err != nil {
				t.Fatal(err)
			}
			checkTested(t, res, tlswarden.TLS12, tlswarden.TLS13)
			var got []string
			for _, g := range res.Groups {
				got = append(got, g.Name)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			wantPreferred := ""
			if len(tt.want) > 0 {
				wantPreferred = tt.want[0]
			}
			if res.GroupsTestedWith != tt.testedWith || res.PreferredGroup != wantPreferred || res.GroupsError != "" {
				t.Errorf("tested with %v, preferred %q, error %q; want %v, %q", res.GroupsTestedWith, res.PreferredGroup, res.GroupsError, tt.testedWith, wantPreferred)
			}
			if s := version(res, tlswarden.TLS13).Suites; len(s) > 0 && s[0].Group != wantPreferred {
				t.Errorf("TLS 1.3 suite group %q, want %q", s[0].Group, wantPreferred)
			}
		})
	}
}

// TestTLSScripted covers what Go cannot serve: SSLv2, SSLv3, DHE with its
// prime size, and a server whose newest version is below the TLS 1.0 hello.
// TestTLSNoGroups: without group enumeration the same versions and suites
// are found, with the same preference, no groups are listed, the TLS 1.3
// preferred group still comes from suite enumeration, and exactly the
// enumeration's connections are saved: one per group after the first (named
// by suite enumeration) and the refusal, less the TLS 1.3 preference
// offers its hellos carried (the first two, when the server accepted them).
// With one or two groups the preference test falls back on hellos of its
// own.
func TestTLSNoGroups(t *testing.T) {
	c := newCerts(t)
	vs := []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}
	for _, tt := range []struct {
		name   string
		curves []tls.CurveID
	}{
		{"one group", []tls.CurveID{tls.X25519}},
		{"two groups", []tls.CurveID{tls.X25519, tls.CurveP256}},
		{"Go's defaults", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{c.rsa}, CurvePreferences: tt.curves})
			full, err := runTLS(t, addr, "localhost", TLSConfig{Versions: vs})
			if err != nil {
				t.Fatal(err)
			}
			lean, err := runTLS(t, addr, "localhost", TLSConfig{Versions: vs, NoGroups: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(full.Versions, lean.Versions); diff != "" {
				t.Errorf("versions differ without groups (-full +lean):\n%s", diff)
			}
			if len(lean.Groups) != 0 || lean.GroupsTestedWith != 0 || lean.PreferredGroup != full.PreferredGroup {
				t.Errorf("without groups: groups %v, tested with %v, preferred %q; want none, 0, %q",
					lean.Groups, lean.GroupsTestedWith, lean.PreferredGroup, full.PreferredGroup)
			}
			// The TLS 1.3 groups cost one connection each (the first is
			// named by suite enumeration) and a refusal per chain (curves,
			// finite-field groups), less the preference test's offers that
			// rode on them (up to two: they ride when a group hello is
			// still to go once the suites are all found, tlsride.go). The
			// TLS 1.2 curves cost one each and the refusal.
			g, g12 := len(full.Groups), len(groupScan(full, tlswarden.TLS12).Groups)
			if saved := full.Connections - lean.Connections - g12; saved < g-1 || saved > g+1 {
				t.Errorf("%d connections saved over TLS 1.3 with %d groups, want %d to %d", saved, g, g-1, g+1)
			}
		})
	}
}

func TestTLSScripted(t *testing.T) {
	fs := &fakeServer{
		suites: map[tlswarden.Version][]uint16{
			tlswarden.SSLv3: {0x0016, 0x000A},
			tlswarden.TLS12: {0xC030, 0x009E},
		},
		groups: []uint16{24, 23},
		dhBits: 1024,
		sslv2:  []uint32{0x010080, 0x0700C0},
	}
	res, err := runTLS(t, tlstest.RawServer(t, fs.handle), "localhost", TLSConfig{})
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res)
	want := map[tlswarden.Version][]tlswarden.Suite{
		tlswarden.SSLv2: {{Code: 0x0100, Name: "SSL_CK_RC4_128_WITH_MD5"}, {Code: 0x0700, Name: "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"}},
		tlswarden.SSLv3: {{Code: 0x0016, Name: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", DHBits: 1024}, {Code: 0x000A, Name: "TLS_RSA_WITH_3DES_EDE_CBC_SHA"}},
		tlswarden.TLS12: {{Code: 0xC030, Name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", Group: "secp384r1"}, {Code: 0x009E, Name: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", DHBits: 1024}},
	}
	got := map[tlswarden.Version][]tlswarden.Suite{}
	for _, v := range res.Versions {
		if v.Supported {
			got[v.Version] = v.Suites
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]tlswarden.Group{{Code: 24, Name: "secp384r1"}, {Code: 23, Name: "secp256r1"}}, res.Groups); diff != "" || res.GroupsTestedWith != tlswarden.TLS12 {
		t.Errorf("groups over %v (-want +got):\n%s", res.GroupsTestedWith, diff)
	}
	for _, h := range fs.hellos() {
		if h.version == 0x0300 && (h.serverName != "" || h.groups != nil) {
			t.Errorf("SSLv3 hello carries extensions: %+v", h)
		}
	}
}

// TestTLSBundles offers suites a few at a time: the set and the server's
// order must come out the same as with one hello for all.
func TestTLSBundles(t *testing.T) {
	serverOrder := []uint16{0x002F, 0xC013, 0x009C, 0xC02F, 0x0035, 0xC014}
	fs := &fakeServer{suites: map[tlswarden.Version][]uint16{tlswarden.TLS12: serverOrder}, groups: []uint16{29}}
	addr := tlstest.RawServer(t, fs.handle)
	all, err := runTLS(t, addr, "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS12}})
	if err != nil {
		t.Fatal(err)
	}
	bundled, err := runTLS(t, addr, "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS12}, MaxHelloSuites: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range []*tlswarden.TLSResult{all, bundled} {
		checkTested(t, res, tlswarden.TLS12)
		v := version(res, tlswarden.TLS12)
		if diff := cmp.Diff(serverOrder, suiteCodes(v.Suites)); diff != "" || v.Preference != tlswarden.PreferServer {
			t.Errorf("preference %q, order (-want +got):\n%s", v.Preference, diff)
		}
	}
	if bundled.Connections <= all.Connections {
		t.Errorf("bundles of 4 took %d connections, one hello for all %d", bundled.Connections, all.Connections)
	}
	t.Logf("connections: %d with all suites per hello, %d with bundles of 4", all.Connections, bundled.Connections)
}

// TestTLSFallbackToBundles serves a server that closes the connection on
// large hellos, as some middleboxes do: the probe must notice and offer
// suites in bundles.
func TestTLSFallbackToBundles(t *testing.T) {
	fs := &fakeServer{
		suites:   map[tlswarden.Version][]uint16{tlswarden.TLS12: {0xC02F, 0x002F}, tlswarden.TLS13: {0x1301}},
		groups:   []uint16{29},
		maxHello: 600,
	}
	res, err := runTLS(t, tlstest.RawServer(t, fs.handle), "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}})
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res, tlswarden.TLS12, tlswarden.TLS13)
	want := map[tlswarden.Version][]uint16{tlswarden.TLS12: {0xC02F, 0x002F}, tlswarden.TLS13: {0x1301}}
	if diff := cmp.Diff(want, found(res)); diff != "" {
		t.Errorf("suites (-want +got):\n%s", diff)
	}
	var large int
	for _, h := range fs.hellos() {
		if h.recordLen > fs.maxHello {
			large++
		}
	}
	if large != 1 {
		t.Errorf("%d hellos over %d bytes, want just the first", large, fs.maxHello)
	}
}

// TestTLSServerName checks the SNI of every TLS hello.
func TestTLSServerName(t *testing.T) {
	c := newCerts(t)
	for _, tt := range []struct{ host, want string }{{"localhost", "localhost"}, {"", ""}, {"127.0.0.1", ""}} {
		t.Run(tt.host, func(t *testing.T) {
			var (
				mu    sync.Mutex
				names []string
			)
			cfg := &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{c.rsa}}
			cfg.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
				if maxVersion(chi) >= tls.VersionTLS10 {
					mu.Lock()
					names = append(names, chi.ServerName)
					mu.Unlock()
				}
				return nil, nil
			}
			if _, err := runTLS(t, tlstest.GoServer(t, cfg), tt.host, TLSConfig{}); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(names) < 5 || slices.ContainsFunc(names, func(n string) bool { return n != tt.want }) {
				t.Errorf("server names seen %q, want only %q", names, tt.want)
			}
		})
	}
}

// TestTLSConnectionBudget checks the number of connections against the
// budget of docs/scanning.md: the sequential enumeration's S + V + P + G + 1
// for S suites over V versions, P preference tests and G groups, and at
// most a fifth more for the parallel chains.
func TestTLSConnectionBudget(t *testing.T) {
	c := newCerts(t)
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"modern", &tls.Config{Certificates: []tls.Certificate{c.rsa}}},
		{"legacy", &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{c.rsa}, CipherSuites: []uint16{
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runTLS(t, tlstest.GoServer(t, tt.cfg), "localhost", TLSConfig{})
			if err != nil {
				t.Fatal(err)
			}
			s, p := 0, 0
			for _, v := range res.Versions {
				s += len(v.Suites)
				if len(v.Suites) > 1 {
					p++
				}
			}
			g := 0
			for _, gs := range res.GroupsByVersion {
				g += len(gs.Groups)
			}
			budget := (s + len(res.Versions) + p + g + 1) * 6 / 5
			if res.Connections > budget || res.Connections < s+len(res.Versions) {
				t.Errorf("%d connections for %d suites, %d versions, %d groups: budget %d", res.Connections, s, len(res.Versions), g, budget)
			}
			t.Logf("%d connections: %d suites, %d versions, %d preference tests, %d groups", res.Connections, s, len(res.Versions), p, g)
		})
	}
}

func TestTLSVersionsSubset(t *testing.T) {
	c := newCerts(t)
	addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{c.rsa}})
	res, err := runTLS(t, addr, "localhost", TLSConfig{Versions: []tlswarden.Version{tlswarden.TLS13, tlswarden.TLS12, tlswarden.TLS13}})
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res, tlswarden.TLS12, tlswarden.TLS13)
}

func TestTLSRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	res, err := runTLS(t, addr, "", TLSConfig{})
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.HasPrefix(err.Error(), "tls probe "+addr.String()+": ") {
		t.Fatalf("err = %v, want connection refused with context", err)
	}
	for _, v := range res.Versions {
		if v.Supported || v.Status != tlswarden.StatusRefused || v.Error == "" {
			t.Errorf("%s: supported %v, status %s, error %q", v.Version, v.Supported, v.Status, v.Error)
		}
	}
}

func TestTLSConfigErrors(t *testing.T) {
	d := tlstest.NewDialer(netip.MustParseAddrPort("127.0.0.1:1"))
	_, err := TLS(TLSConfig{Timeout: -1, MaxHelloSuites: -1, Versions: []tlswarden.Version{0x0305}}).Run(t.Context(), tlswarden.Endpoint{}, d.Dial)
	if err == nil || d.Count() != 0 {
		t.Fatalf("err = %v after %d dials, want an error and no dial", err, d.Count())
	}
	for _, want := range []string{"timeout", "max hello suites", "version unknown(0x0305)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestTLSCanceled(t *testing.T) {
	c := newCerts(t)
	addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{c.rsa}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := tlstest.NewDialer(addr)
	obs, err := TLS(TLSConfig{}).Run(ctx, tlswarden.Endpoint{Addr: addr}, d.Dial)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for _, v := range obs.TLS.Versions {
		if v.Supported || v.Status != tlswarden.StatusCanceled {
			t.Errorf("%s: supported %v, status %s", v.Version, v.Supported, v.Status)
		}
	}
}

func BenchmarkTLSProbe(b *testing.B) {
	c := newCerts(b)
	addr := tlstest.GoServer(b, &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{c.rsa}})
	d := tlstest.NewDialer(addr)
	d.MaxConns = 4
	probe := TLS(TLSConfig{})
	for b.Loop() {
		if _, err := probe.Run(b.Context(), tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(d.Count())/float64(b.N), "conns/op")
}
