package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

func TestGradeTLS(t *testing.T) {
	tls12 := func(pref tlswarden.Preference, names ...string) tlswarden.VersionResult {
		return accepts(tlswarden.TLS12, pref, names...)
	}
	aead := "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
	tests := []struct {
		name     string
		ep       func() *tlswarden.EndpointReport
		letter   string
		ignoring string
		cap      string // a reason among the caps
	}{
		{"modern with HSTS", good(nil), "A+", "", ""},
		{"modern without HTTP facts", good(func(e *tlswarden.EndpointReport) { e.HTTP = nil }), "A", "", ""},
		{"modern with short HSTS", good(func(e *tlswarden.EndpointReport) { e.HTTP.HSTS.MaxAge = 300 }), "A", "", ""},
		{"TLS 1.3 only", withTLS(v13), "A+", "", ""},
		{"no TLS 1.3", withTLS(v12ECDHE), "A-", "", "TLS 1.3 not accepted"},
		{"TLS 1.0", withTLS(accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE, v13), "B", "", "TLS 1.0 or 1.1 accepted"},
		{"RC4 with TLS 1.2", withTLS(tls12(tlswarden.PreferClient, aead, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"), v13), "C", "", "RC4 accepted with TLS 1.1 or later"},
		{"3DES after AES, client order", withTLS(tls12(tlswarden.PreferClient, aead, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"), v13), "B", "", ""}, // B by its cipher score (3DES counts 112 bits), not capped
		{"3DES last in the server's order", withTLS(tls12(tlswarden.PreferServer, aead, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"), v13), "B", "", ""},
		{"3DES first in the server's order", withTLS(tls12(tlswarden.PreferServer, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", aead), v13), "C", "", "64-bit block cipher TLS_RSA_WITH_3DES_EDE_CBC_SHA with TLSv1.2 (the server's order"},
		{"3DES before RSA AES in the server's order", withTLS(tls12(tlswarden.PreferServer, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA"), v13), "C", "", "64-bit block"},
		{"3DES beside a suite modern clients do not offer", withTLS(tls12(tlswarden.PreferClient, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"), v13), "C", "", "(the client's order; Sweet32)"},
		{"3DES order undetermined", withTLS(tls12(tlswarden.PreferIndeterminate, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", aead), v13), "C", "", "preference undetermined"},
		{"3DES only with TLS 1.1 beside TLS 1.2", withTLS(accepts(tlswarden.TLS11, tlswarden.PreferServer, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"), tls12(tlswarden.PreferServer, aead), v13), "B", "", "TLS 1.0 or 1.1 accepted"},
		{"3DES first with TLS 1.1 as the best", withTLS(accepts(tlswarden.TLS11, tlswarden.PreferServer, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")), "C", "", "with TLSv1.1"},
		{"SSLv3 beside TLS 1.2", withTLS(accepts(tlswarden.SSLv3, "", "TLS_RSA_WITH_RC4_128_SHA"), v12ECDHE, v13), "B", "", "SSLv3 accepted"},
		{"POODLE", withTLS(accepts(tlswarden.SSLv3, "", "TLS_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE, v13), "C", "", "POODLE"},
		{"SSLv3 only", withTLS(accepts(tlswarden.SSLv3, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")), "F", "", "SSLv3 is the best version accepted"},
		{"SSLv2", withTLS(accepts(tlswarden.SSLv2, "", "SSL_CK_RC4_128_WITH_MD5"), v12ECDHE, v13), "F", "", "SSLv2 accepted"},
		{"no forward secrecy", withTLS(tls12(tlswarden.PreferServer, "TLS_RSA_WITH_AES_128_GCM_SHA256")), "B", "", "no forward secrecy"},
		{"RSA preferred", withTLS(tls12(tlswarden.PreferServer, "TLS_RSA_WITH_AES_128_GCM_SHA256", aead)), "B", "", "the server prefers TLS_RSA_WITH_AES_128_GCM_SHA256, without forward secrecy"},
		{"no AEAD", withTLS(tls12(tlswarden.PreferClient, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")), "B", "", "no AEAD suite"},
		{"export", withTLS(accepts(tlswarden.TLS10, "", "TLS_RSA_EXPORT_WITH_RC4_40_MD5"), v12ECDHE), "F", "", "export suites accepted"},
		{"anonymous", withTLS(tls12(tlswarden.PreferClient, aead, "TLS_DH_anon_WITH_AES_128_GCM_SHA256"), v13), "F", "", "anonymous"},
		{"DH 1024", withTLS(func() tlswarden.VersionResult {
			v := tls12(tlswarden.PreferClient, aead, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256")
			v.Suites[1].DHBits = 1024
			return v
		}(), v13), "B", "", "key exchange below 2048 bits"},
		{"untrusted", good(func(e *tlswarden.EndpointReport) { e.Cert.Trusted = false }), "T", "A+", "certificate not trusted: no path to a trusted root"},
		{"expired and TLS 1.0", good(func(e *tlswarden.EndpointReport) {
			e.Cert.Chain[0].NotAfter = now.AddDate(0, 0, -1)
			e.TLS = groups(tlsResult(accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), "x25519")
		}), "T", "B", "certificate expired on 2026-11-24"},
		{"revoked", good(func(e *tlswarden.EndpointReport) {
			e.Cert.OCSPStapled, e.Cert.OCSP = true, &tlswarden.OCSPStaple{Status: tlswarden.OCSPRevoked, SignatureVerified: true}
		}), "T", "A+", "certificate revoked"},
		{"name mismatch", good(func(e *tlswarden.EndpointReport) { e.Cert.HostnameMatches = false }), "T", "A+", "certificate does not name www.example.nhs.uk"},
		{"SHA-1 intermediate", good(func(e *tlswarden.EndpointReport) { e.Cert.Chain[1].SignatureAlgorithm = "SHA1-RSA" }), "T", "A+", "certificate signed with SHA1-RSA"},
		{"MD5 leaf", good(func(e *tlswarden.EndpointReport) { e.Cert.Chain[0].SignatureAlgorithm = "MD5-RSA" }), "F", "", "certificate signed with MD5-RSA"},
		{"untested version", withTLS(v12ECDHE, untested(tlswarden.SSLv3)), "", "", ""},
		{"no TLS", good(func(e *tlswarden.EndpointReport) { e.TLS = nil }), "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := GradeTLS(tc.ep(), now)
			if g.Letter != tc.letter || g.IgnoringTrust != tc.ignoring {
				t.Errorf("grade %q (ignoring trust %q), want %q (%q); caps %+v; incomplete %q",
					g.Letter, g.IgnoringTrust, tc.letter, tc.ignoring, g.Caps, g.Incomplete)
			}
			if tc.cap != "" && !slices.ContainsFunc(g.Caps, func(c tlswarden.GradeCap) bool { return strings.Contains(c.Reason, tc.cap) }) {
				t.Errorf("caps %+v lack %q", g.Caps, tc.cap)
			}
		})
	}
}

func TestGradeScores(t *testing.T) {
	g := GradeTLS(good(nil)(), now)
	got := [4]int{g.Protocol, g.KeyExchange, g.Cipher, g.Score}
	// TLS 1.2/1.3: 100; P-256 and x25519 (3072-bit equivalent): 90; AES-128
	// to 256: (80+100)/2 = 90; 0.3*100 + 0.3*90 + 0.4*90 = 93.
	if diff := cmp.Diff([4]int{100, 90, 90, 93}, got); diff != "" {
		t.Errorf("protocol, key exchange, cipher, score (-want +got):\n%s", diff)
	}
}
