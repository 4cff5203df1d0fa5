package probes_test

import (
	"crypto/tls"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// groupNames maps each version's group enumeration to the names found, in
// the order found.
func groupNames(res *tlswarden.TLSResult) map[tlswarden.Version][]string {
	m := map[tlswarden.Version][]string{}
	for _, gs := range res.GroupsByVersion {
		m[gs.Version] = []string{}
		for _, g := range gs.Groups {
			m[gs.Version] = append(m[gs.Version], g.Name)
		}
		if gs.Error != "" {
			m[gs.Version] = append(m[gs.Version], "error: "+gs.Error)
		}
	}
	return m
}

// TestTLSGroupsPerVersion: the groups are enumerated over TLS 1.3 and over
// TLS 1.2 even when the server speaks TLS 1.3, since OpenSSL accepts
// curves over TLS 1.2 that TLS 1.3 does not allow (secp224r1 and the
// TLS 1.2 brainpool curve): with only the TLS 1.3 enumeration they went
// unseen. The old fields still hold the TLS 1.3 enumeration.
func TestTLSGroupsPerVersion(t *testing.T) {
	const tls12, tls13 = tlswarden.TLS12, tlswarden.TLS13
	for _, tt := range []struct {
		name string
		cfg  tlstest.OpenSSLConfig
		want map[tlswarden.Version][]string
	}{
		{"TLS 1.2 and 1.3",
			tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tls12, tls13}, Cipher: "ECDHE-RSA-AES128-GCM-SHA256",
				Groups: "X25519:secp224r1:brainpoolP256r1"},
			map[tlswarden.Version][]string{tls12: {"x25519", "secp224r1", "brainpoolP256r1"}, tls13: {"x25519"}}},
		{"TLS 1.2 and 1.3, server order, with FFDHE",
			tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tls12, tls13}, Cipher: "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256",
				Groups: "secp384r1:X25519:secp224r1:ffdhe2048", DHBits: 2048, ServerPref: true},
			map[tlswarden.Version][]string{tls12: {"secp384r1", "x25519", "secp224r1", "ffdhe2048"}, tls13: {"secp384r1", "x25519", "ffdhe2048"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := runTLSProbe(t, tlstest.OpenSSLServer(t, tt.cfg))
			if diff := cmp.Diff(tt.want, groupNames(res)); diff != "" {
				t.Errorf("groups per version (-want +got):\n%s", diff)
			}
			if res.GroupsTestedWith != tls13 || len(res.Groups) != len(tt.want[tls13]) || res.PreferredGroup != tt.want[tls13][0] {
				t.Errorf("old fields: %v over %v, preferred %q; want the TLS 1.3 enumeration", res.Groups, res.GroupsTestedWith, res.PreferredGroup)
			}
			for _, gs := range res.GroupsByVersion {
				if gs.Preferred != tt.want[gs.Version][0] {
					t.Errorf("%v: preferred %q, want %q", gs.Version, gs.Preferred, tt.want[gs.Version][0])
				}
			}
		})
	}
}

// TestTLSGroupsPerVersionGo: a Go server offers the same curves over both
// versions; without TLS 1.3 there is one enumeration, without ECDHE none.
func TestTLSGroupsPerVersionGo(t *testing.T) {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	ecdhe := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
		want map[tlswarden.Version][]string
	}{
		{"TLS 1.2 and 1.3", &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}},
			map[tlswarden.Version][]string{tlswarden.TLS12: {"x25519", "secp256r1"}, tlswarden.TLS13: {"x25519", "secp256r1"}}},
		{"TLS 1.2 only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: ecdhe, CurvePreferences: []tls.CurveID{tls.CurveP384}},
			map[tlswarden.Version][]string{tlswarden.TLS12: {"secp384r1"}}},
		{"TLS 1.2 without ECDHE", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}},
			map[tlswarden.Version][]string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg.Clone()
			cfg.Certificates = []tls.Certificate{cert}
			res := runTLSProbe(t, tlstest.GoServer(t, cfg))
			if diff := cmp.Diff(tt.want, groupNames(res)); diff != "" {
				t.Errorf("groups per version (-want +got):\n%s", diff)
			}
		})
	}
}
