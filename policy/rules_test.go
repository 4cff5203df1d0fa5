package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// ruleCase is one rule judged on one endpoint built in the test.
type ruleCase struct {
	name    string
	rule    *Rule
	profile string // default nhs-internet-first
	ep      func() *tlswarden.EndpointReport
	want    tlswarden.RuleOutcome
	msg     string // a substring of the message
}

// good is an endpoint that passes everything, changed by edit.
func good(edit func(e *tlswarden.EndpointReport)) func() *tlswarden.EndpointReport {
	return func() *tlswarden.EndpointReport {
		e := endpoint(modernTLS(), goodCert(), goodHTTP())
		if edit != nil {
			edit(e)
		}
		return e
	}
}

func withTLS(vs ...tlswarden.VersionResult) func() *tlswarden.EndpointReport {
	return good(func(e *tlswarden.EndpointReport) { e.TLS = groups(tlsResult(vs...), "x25519") })
}

const (
	pass_ = tlswarden.RulePass
	fail_ = tlswarden.RuleFail
	na    = tlswarden.RuleNotApplicable
	ne    = tlswarden.RuleNotEvaluated
)

var (
	v12ECDHE = accepts(tlswarden.TLS12, tlswarden.PreferServer, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
	v13      = accepts(tlswarden.TLS13, tlswarden.PreferClient, "TLS_AES_128_GCM_SHA256")
)

func versionCases() []ruleCase {
	return []ruleCase{
		{"modern passes", &ruleMinVersion, "", good(nil), pass_, "nothing below TLSv1.2"},
		{"TLS 1.0 fails", &ruleMinVersion, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), fail_, "accepts TLSv1.0"},
		{"TLS 1.1 fails", &ruleMinVersion, "", withTLS(accepts(tlswarden.TLS11, "", "TLS_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), fail_, "TLSv1.1"},
		{"TLS 1.0 passes mozilla-old", &ruleMinVersion, "mozilla-old", withTLS(accepts(tlswarden.TLS10, "", "TLS_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), pass_, ""},
		{"TLS 1.2 fails modern", &ruleMinVersion, "mozilla-modern", withTLS(v12ECDHE, v13), fail_, "minimum is TLSv1.3"},
		{"untested SSLv3 not evaluated", &ruleMinVersion, "", withTLS(untested(tlswarden.SSLv3), v12ECDHE), ne, "could not test SSLv3"},
		{"fail beats untested", &ruleMinVersion, "", withTLS(untested(tlswarden.SSLv3), accepts(tlswarden.TLS10, "", "TLS_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), fail_, "TLSv1.0"},
		{"no TLS facts", &ruleMinVersion, "", good(func(e *tlswarden.EndpointReport) { e.TLS = nil }), ne, "no TLS facts"},
		{"nothing negotiated", &ruleMinVersion, "", withTLS(), ne, "no protocol version"},
		{"SSLv3 fails no_ssl", &ruleNoSSL, "", withTLS(accepts(tlswarden.SSLv3, "", "TLS_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), fail_, "SSLv3"},
		{"SSLv2 fails no_ssl", &ruleNoSSL, "", withTLS(accepts(tlswarden.SSLv2, "", "SSL_CK_RC4_128_WITH_MD5"), v12ECDHE), fail_, "SSLv2"},
		{"no SSL passes", &ruleNoSSL, "", good(nil), pass_, ""},
		{"untested SSLv2", &ruleNoSSL, "", withTLS(untested(tlswarden.SSLv2), v12ECDHE), ne, "SSLv2"},
		{"TLS 1.3 accepted", &ruleTLS13, "", good(nil), pass_, ""},
		{"TLS 1.3 refused", &ruleTLS13, "", withTLS(v12ECDHE), fail_, "does not accept TLSv1.3"},
		{"TLS 1.3 untested", &ruleTLS13, "", withTLS(v12ECDHE, untested(tlswarden.TLS13)), ne, ""},
		{"TLS 1.2 refused", &ruleTLS12, "", withTLS(v13), fail_, ""},
	}
}

func cipherCases() []ruleCase {
	rc4 := accepts(tlswarden.TLS12, tlswarden.PreferServer, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_RC4_128_SHA")
	rsaFirst := accepts(tlswarden.TLS12, tlswarden.PreferServer, "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
	rsaOnly := accepts(tlswarden.TLS12, tlswarden.PreferServer, "TLS_RSA_WITH_AES_128_GCM_SHA256")
	cbc := accepts(tlswarden.TLS12, tlswarden.PreferClient, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
	return []ruleCase{
		{"modern has no broken suites", &ruleNoBroken, "", good(nil), pass_, ""},
		{"RC4", &ruleNoBroken, "", withTLS(rc4), fail_, "TLS_RSA_WITH_RC4_128_SHA"},
		{"3DES", &ruleNoBroken, "", withTLS(accepts(tlswarden.TLS12, "", "TLS_RSA_WITH_3DES_EDE_CBC_SHA")), fail_, "3DES"},
		{"NULL", &ruleNoBroken, "", withTLS(accepts(tlswarden.TLS12, "", "TLS_RSA_WITH_NULL_SHA256")), fail_, "NULL"},
		{"anonymous", &ruleNoBroken, "", withTLS(accepts(tlswarden.TLS12, "", "TLS_DH_anon_WITH_AES_128_GCM_SHA256")), fail_, "anon"},
		{"export", &ruleNoBroken, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_RSA_EXPORT_WITH_RC4_40_MD5"), v12ECDHE), fail_, "EXPORT"},
		{"SSLv2 specs are broken", &ruleNoBroken, "", withTLS(accepts(tlswarden.SSLv2, "", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"), v12ECDHE), fail_, "SSLv2"},
		{"untested version", &ruleNoBroken, "", withTLS(v12ECDHE, untested(tlswarden.TLS11)), ne, "TLSv1.1"},
		{"fs_only passes", &ruleFSOnly, "", good(nil), pass_, ""},
		{"fs_only fails on RSA kex", &ruleFSOnly, "", withTLS(rsaFirst), fail_, "TLS_RSA_WITH_AES_128_GCM_SHA256"},
		{"fs_only ignores TLS 1.3", &ruleFSOnly, "", withTLS(v13), pass_, ""},
		{"fs_preferred passes", &ruleFSPreferred, "", good(nil), pass_, ""},
		{"fs_preferred: RSA preferred", &ruleFSPreferred, "", withTLS(rsaFirst), fail_, "server prefers TLS_RSA_WITH_AES_128_GCM_SHA256"},
		{"fs_preferred: no FS", &ruleFSPreferred, "", withTLS(rsaOnly), fail_, "no forward-secret suite"},
		{"fs_preferred: client order is fine", &ruleFSPreferred, "", withTLS(accepts(tlswarden.TLS12, tlswarden.PreferClient, "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")), pass_, ""},
		{"aead_only fails on CBC", &ruleAEADOnly, "", withTLS(cbc), fail_, "CBC"},
		{"aead_only passes", &ruleAEADOnly, "", good(nil), pass_, ""},
		{"tls12 allowlist (intermediate) passes", &ruleTLS12Allowlist, "mozilla-intermediate", good(nil), pass_, ""},
		{"tls12 allowlist rejects CBC", &ruleTLS12Allowlist, "mozilla-intermediate", withTLS(cbc), fail_, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
		{"tls12 allowlist (old) allows CBC", &ruleTLS12Allowlist, "mozilla-old", withTLS(cbc), pass_, ""},
		{"tls12 allowlist: no list", &ruleTLS12Allowlist, "ncsc", good(nil), na, ""},
		{"tls13 allowlist nist rejects ChaCha20", &ruleTLS13Allowlist, "nist-800-52r2", good(nil), fail_, "CHACHA20"},
		{"tls13 allowlist mozilla passes", &ruleTLS13Allowlist, "mozilla-modern", good(nil), pass_, ""},
	}
}

func kexCases() []ruleCase {
	dhe := func(bits int) tlswarden.VersionResult {
		v := accepts(tlswarden.TLS12, tlswarden.PreferServer, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256")
		v.Suites[0].DHBits = bits
		return v
	}
	return []ruleCase{
		{"no DHE", &ruleDHMinBits, "", good(nil), na, ""},
		{"DHE 2048", &ruleDHMinBits, "", withTLS(dhe(2048)), pass_, ""},
		{"DHE 1024", &ruleDHMinBits, "", withTLS(dhe(1024)), fail_, "1024 bits"},
		{"DHE 1024 passes old", &ruleDHMinBits, "mozilla-old", withTLS(dhe(1024)), pass_, ""},
		{"DHE size unknown", &ruleDHMinBits, "", withTLS(dhe(0)), ne, "not recorded"},
		{"curves fine", &ruleECDHMinBits, "", good(nil), pass_, ""},
		{"secp224r1", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) { groups(e.TLS, "secp224r1") }), fail_, "secp224r1 (224 bits)"},
		{"ECDHE without group facts", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) { e.TLS.Groups, e.TLS.GroupsByVersion = nil, nil }), ne, "not enumerated"},
		{"secp224r1 over TLS 1.2 only", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) { legacyGroups(e.TLS, "secp224r1") }), fail_, "secp224r1 (224 bits)"},
		{"TLS 1.2 groups cut short", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) { groupsOver(e.TLS, tlswarden.TLS12).Error = "i/o timeout" }), ne, "TLSv1.2: i/o timeout"},
		{"a report with the TLS 1.3 groups only, and ECDHE over TLS 1.2", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) { e.TLS.GroupsByVersion = nil }), ne, "before groups_by_version"},
		{"a report with the TLS 1.3 groups only, and no ECDHE over TLS 1.2", &ruleECDHMinBits, "", func() *tlswarden.EndpointReport {
			tr := groups(tlsResult(accepts(tlswarden.TLS12, "", "TLS_RSA_WITH_AES_128_GCM_SHA256"), v13), "x25519")
			tr.GroupsByVersion = nil
			return endpoint(tr, goodCert(), goodHTTP())
		}, pass_, ""},
		{"no ECDHE", &ruleECDHMinBits, "", func() *tlswarden.EndpointReport {
			return endpoint(tlsResult(accepts(tlswarden.TLS12, "", "TLS_RSA_WITH_AES_128_GCM_SHA256")), goodCert(), goodHTTP())
		}, na, ""},
		{"groups cut short", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) { e.TLS.GroupsError = "i/o timeout" }), ne, "stopped early"},
		{"groups not enumerated, one seen with a suite", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) {
			e.TLS.Groups, e.TLS.GroupsTestedWith, e.TLS.GroupsByVersion = nil, 0, nil
			e.TLS.Versions[len(e.TLS.Versions)-1].Suites[0].Group = "x25519"
		}), ne, "only seen with suites: x25519"},
		{"a weak curve seen with a suite fails even unenumerated", &ruleECDHMinBits, "", good(func(e *tlswarden.EndpointReport) {
			e.TLS.Groups, e.TLS.GroupsTestedWith, e.TLS.GroupsByVersion = nil, 0, nil
			e.TLS.Versions[len(e.TLS.Versions)-1].Suites[0].Group = "secp224r1"
		}), fail_, "secp224r1"},
		{"hybrid accepted", &rulePQCHybrid, "", good(nil), pass_, "X25519MLKEM768"},
		{"no hybrid", &rulePQCHybrid, "", withTLS(v12ECDHE, v13), fail_, "no post-quantum"},
		{"no TLS 1.3, no hybrid", &rulePQCHybrid, "", withTLS(v12ECDHE), fail_, "no TLS 1.3"},
	}
}

func certCases() []ruleCase {
	edit := func(f func(c *tlswarden.CertResult)) func() *tlswarden.EndpointReport {
		return good(func(e *tlswarden.EndpointReport) { f(e.Cert) })
	}
	leaf := func(f func(c *tlswarden.Certificate)) func() *tlswarden.EndpointReport {
		return edit(func(c *tlswarden.CertResult) { f(&c.Chain[0]) })
	}
	return []ruleCase{
		{"trusted", &ruleCertTrusted, "", good(nil), pass_, ""},
		{"untrusted", &ruleCertTrusted, "", edit(func(c *tlswarden.CertResult) {
			c.Trusted, c.VerificationError = false, "x509: certificate signed by unknown authority"
		}), fail_, "unknown authority"},
		{"no cert facts", &ruleCertTrusted, "", good(func(e *tlswarden.EndpointReport) {
			e.Cert = nil
			e.Probes = []tlswarden.ProbeStatus{{Name: "certificate", Status: tlswarden.StatusTimeout, Error: "i/o timeout"}}
		}), ne, "certificate probe ended with timeout"},
		{"unparsable leaf", &ruleCertTrusted, "", leaf(func(c *tlswarden.Certificate) { c.ParseError = "asn1" }), ne, ""},
		{"hostname mismatch", &ruleCertHostname, "", edit(func(c *tlswarden.CertResult) { c.HostnameMatches = false }), fail_, "does not name www.example.nhs.uk"},
		{"hostname ok", &ruleCertHostname, "", good(nil), pass_, ""},
		{"valid now", &ruleCertValidNow, "", good(nil), pass_, ""},
		{"expired", &ruleCertValidNow, "", leaf(func(c *tlswarden.Certificate) { c.NotAfter = now.AddDate(0, 0, -1) }), fail_, "expired on 2026-11-24"},
		{"not yet valid", &ruleCertValidNow, "", leaf(func(c *tlswarden.Certificate) { c.NotBefore = now.AddDate(0, 0, 1) }), fail_, "not valid until"},
		{"expiry far", &ruleCertExpiry, "", good(nil), pass_, "expires in 59 days"},
		{"expiry in 10 days", &ruleCertExpiry, "", leaf(func(c *tlswarden.Certificate) { c.NotAfter = now.Add(10*24*time.Hour + time.Hour) }), fail_, "expires in 10 days"},
		{"lifetime left fine", &ruleCertLifetimeLeft, "", good(nil), pass_, ""},
		{"lifetime left low", &ruleCertLifetimeLeft, "", leaf(func(c *tlswarden.Certificate) {
			c.NotBefore, c.NotAfter = now.AddDate(0, 0, -85), now.AddDate(0, 0, 5)
		}), fail_, "6% of its lifetime left"},
		{"ECDSA P-256 key", &ruleCertKey, "", good(nil), pass_, "ECDSA P-256"},
		{"RSA 1024", &ruleCertKey, "", leaf(func(c *tlswarden.Certificate) { c.KeyType, c.KeyBits, c.Curve = "RSA", 1024, "" }), fail_, "at least 2048"},
		{"RSA 2047", &ruleCertKey, "", leaf(func(c *tlswarden.Certificate) { c.KeyType, c.KeyBits, c.Curve = "RSA", 2047, "" }), fail_, "multiple of 8"},
		{"RSA in modern", &ruleCertKey, "mozilla-modern", leaf(func(c *tlswarden.Certificate) { c.KeyType, c.KeyBits, c.Curve = "RSA", 2048, "" }), fail_, "allows ECDSA"},
		{"P-521 in intermediate", &ruleCertKey, "mozilla-intermediate", leaf(func(c *tlswarden.Certificate) { c.Curve = "P-521" }), fail_, "curves"},
		{"Ed25519 by default", &ruleCertKey, "", leaf(func(c *tlswarden.Certificate) { c.KeyType, c.Curve = "Ed25519", "" }), fail_, "only RSA and ECDSA"},
		{"SHA-256 signatures", &ruleCertSigAlg, "", good(nil), pass_, ""},
		{"SHA-1 intermediate", &ruleCertSigAlg, "", edit(func(c *tlswarden.CertResult) { c.Chain[1].SignatureAlgorithm = "SHA1-RSA" }), fail_, "certificate 2"},
		{"SHA-1 self-signed root ignored", &ruleCertSigAlg, "", edit(func(c *tlswarden.CertResult) {
			c.Chain[1].SignatureAlgorithm, c.Chain[1].SelfSigned = "SHA1-RSA", true
		}), pass_, ""},
		{"MD5 leaf", &ruleCertSigAlg, "", leaf(func(c *tlswarden.Certificate) { c.SignatureAlgorithm = "MD5-RSA" }), fail_, "MD5"},
		{"sig allowlist intermediate", &ruleCertSigAllowlist, "mozilla-intermediate", leaf(func(c *tlswarden.Certificate) { c.SignatureAlgorithm = "SHA384-RSA" }), fail_, "SHA384-RSA"},
		{"sig allowlist absent", &ruleCertSigAllowlist, "", good(nil), na, ""},
		{"90 days fits modern", &ruleCertLifespanMozilla, "mozilla-modern", good(nil), pass_, "90 days"},
		{"91 days too long for modern", &ruleCertLifespanMozilla, "mozilla-modern", leaf(func(c *tlswarden.Certificate) { c.NotAfter = c.NotAfter.Add(time.Second) }), fail_, "90 days and 1s"},
		{"BR 200 days after March 2026", &ruleCertLifespanBR, "", leaf(func(c *tlswarden.Certificate) {
			c.NotBefore = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
			c.NotAfter = c.NotBefore.Add(200*24*time.Hour - time.Second)
		}), pass_, "200 days (maximum 200 days)"},
		{"BR 200 days plus a second", &ruleCertLifespanBR, "", leaf(func(c *tlswarden.Certificate) {
			c.NotBefore = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
			c.NotAfter = c.NotBefore.Add(200 * 24 * time.Hour)
		}), fail_, "maximum is 200 days"},
		{"BR 398 days before March 2026", &ruleCertLifespanBR, "", leaf(func(c *tlswarden.Certificate) {
			c.NotBefore = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
			c.NotAfter = c.NotBefore.Add(398*24*time.Hour - time.Second)
		}), pass_, ""},
		{"BR skips untrusted certificates", &ruleCertLifespanBR, "", edit(func(c *tlswarden.CertResult) { c.Trusted = false }), na, "not a publicly-trusted"},
		{"BR skips an organisation's CA", &ruleCertLifespanBR, "", privateTenYears, na, "anchored only at the organisation's own root"},
		{"BR judges public roots", &ruleCertLifespanBR, "", edit(func(c *tlswarden.CertResult) {
			c.Anchor = tlswarden.AnchorPublic
			c.Chain[0].NotAfter = c.Chain[0].NotBefore.AddDate(10, 0, 0)
		}), fail_, "the maximum is"},
		{"chain complete", &ruleCertChainComplete, "", good(nil), pass_, ""},
		{"chain incomplete", &ruleCertChainComplete, "", edit(func(c *tlswarden.CertResult) { c.ChainComplete = false }), fail_, ""},
		{"expired intermediate", &ruleCertChainNoExpired, "", edit(func(c *tlswarden.CertResult) { c.Chain[1].NotAfter = now.AddDate(0, -1, 0) }), fail_, "certificate 2"},
		{"leaf only", &ruleCertChainNoExpired, "", edit(func(c *tlswarden.CertResult) { c.Chain = c.Chain[:1] }), na, ""},
		{"no staple", &ruleCertOCSPStapled, "", good(nil), fail_, "informational"},
		{"revoked staple", &ruleCertNotRevoked, "", edit(func(c *tlswarden.CertResult) {
			c.OCSPStapled, c.OCSP = true, &tlswarden.OCSPStaple{Status: tlswarden.OCSPRevoked, RevokedAt: now.AddDate(0, 0, -2), SignatureVerified: true}
		}), fail_, "revoked on 2026-11-23, says the stapled OCSP response"},
		{"revoked online", &ruleCertNotRevoked, "", edit(func(c *tlswarden.CertResult) {
			c.OCSPStapled, c.OCSP = true, &tlswarden.OCSPStaple{Status: tlswarden.OCSPGood, SignatureVerified: true}
			c.Revocation = &tlswarden.RevocationCheck{URL: "http://ocsp.example/", Status: tlswarden.OCSPRevoked, RevokedAt: now}
		}), fail_, "says the OCSP responder http://ocsp.example/ (its signature could not be verified)"},
		{"good staple", &ruleCertNotRevoked, "", edit(func(c *tlswarden.CertResult) {
			c.OCSPStapled, c.OCSP = true, &tlswarden.OCSPStaple{Status: tlswarden.OCSPGood, SignatureVerified: true}
		}), pass_, "stapled"},
		{"responder failed", &ruleCertNotRevoked, "", edit(func(c *tlswarden.CertResult) {
			c.Revocation = &tlswarden.RevocationCheck{URL: "http://ocsp.example/", Error: "timeout"}
		}), ne, "timeout"},
		{"no revocation status", &ruleCertNotRevoked, "", good(nil), na, "online checks are off"},
		{"no responder named", &ruleCertNotRevoked, "", edit(func(c *tlswarden.CertResult) { c.Revocation = &tlswarden.RevocationCheck{} }), na, "names no OCSP responder"},
		{"must staple without staple", &ruleCertMustStaple, "", leaf(func(c *tlswarden.Certificate) { c.MustStaple = true }), fail_, "none was stapled"},
		{"must staple with staple", &ruleCertMustStaple, "", edit(func(c *tlswarden.CertResult) { c.Chain[0].MustStaple, c.OCSPStapled = true, true }), pass_, ""},
		{"no must staple", &ruleCertMustStaple, "", good(nil), na, ""},
		{"two embedded SCTs for 90 days", &ruleCertSCTCount, "", good(nil), pass_, "2 embedded"},
		{"two embedded SCTs for a year", &ruleCertSCTCount, "", leaf(func(c *tlswarden.Certificate) { c.NotAfter = c.NotBefore.AddDate(1, 0, 0) }), fail_, "require 3 embedded"},
		{"two SCTs in the TLS extension", &ruleCertSCTCount, "", edit(func(c *tlswarden.CertResult) { c.SCTs = tlswarden.SCTCounts{TLSExtension: 1, OCSP: 1} }), pass_, "2 SCTs in the TLS extension"},
		{"SCTs of an organisation's CA", &ruleCertSCTCount, "", edit(func(c *tlswarden.CertResult) { c.SCTs, c.Anchor = tlswarden.SCTCounts{}, tlswarden.AnchorOrganisation }), na, "organisation"},
		{"BR lint error", &ruleCertLintErrors, "", leaf(func(c *tlswarden.Certificate) {
			c.Lints = &tlswarden.Lints{Errors: []string{"e_sub_cert_aia_missing", "e_community_x"}, Warnings: []string{"w_y"},
				Sources: map[string]string{"e_sub_cert_aia_missing": "CABF_BR", "e_community_x": "Community", "w_y": "RFC5280"}}
		}), fail_, "1: certificate 1: e_sub_cert_aia_missing (CABF_BR)"},
		{"lint warnings and community errors", &ruleCertLintWarnings, "", leaf(func(c *tlswarden.Certificate) {
			c.Lints = &tlswarden.Lints{Errors: []string{"e_sub_cert_aia_missing", "e_community_x"}, Warnings: []string{"w_y"},
				Sources: map[string]string{"e_sub_cert_aia_missing": "CABF_BR", "e_community_x": "Community", "w_y": "RFC5280"}}
		}), fail_, "2: certificate 1: e_community_x (Community); certificate 1: w_y (RFC5280)"},
		{"no lints", &ruleCertLintErrors, "", good(nil), pass_, "none"},
		{"lints of an organisation's CA", &ruleCertLintErrors, "", edit(func(c *tlswarden.CertResult) {
			c.Anchor, c.Chain[0].Lints = tlswarden.AnchorOrganisation, &tlswarden.Lints{Errors: []string{"e_x"}, Sources: map[string]string{"e_x": "CABF_BR"}}
		}), na, "organisation"},
	}
}

// privateTenYears is a trusted 10-year leaf anchored at an organisation's
// own root.
func privateTenYears() *tlswarden.EndpointReport {
	return good(func(e *tlswarden.EndpointReport) {
		e.Cert.Anchor = tlswarden.AnchorOrganisation
		e.Cert.Chain[0].NotAfter = e.Cert.Chain[0].NotBefore.AddDate(10, 0, 0)
	})()
}

// TestBRForPrivateRoots: a profile may apply the BR rules to an
// organisation's CA explicitly.
func TestBRForPrivateRoots(t *testing.T) {
	p := mustBuiltin(t, DefaultProfile)
	p.Params.BRForPrivateRoots = true
	if got := run(t, &ruleCertLifespanBR, p, privateTenYears()); got.Outcome != tlswarden.RuleFail {
		t.Errorf("with br_rules_for_private_roots: %s %q, want fail", got.Outcome, got.Message)
	}
	f, err := Parse("x.yaml", []byte("extends: nhs-internet-first\nparams:\n  br_rules_for_private_roots: true\n"))
	if err != nil || !f.Params.BRForPrivateRoots {
		t.Errorf("profile file: %v, params %+v", err, f.Params)
	}
}

func httpCases() []ruleCase {
	edit := func(f func(h *tlswarden.HTTPResult)) func() *tlswarden.EndpointReport {
		return good(func(e *tlswarden.EndpointReport) { f(e.HTTP) })
	}
	return []ruleCase{
		{"HSTS two years", &ruleHSTS, "", good(nil), pass_, ""},
		{"HSTS missing", &ruleHSTS, "", edit(func(h *tlswarden.HTTPResult) { h.HSTS = nil }), fail_, "no Strict-Transport-Security"},
		{"HSTS short", &ruleHSTS, "", edit(func(h *tlswarden.HTTPResult) { h.HSTS.MaxAge = 300 }), fail_, "max-age=300, below 31536000"},
		{"HSTS one year short for Mozilla", &ruleHSTS, "mozilla-intermediate", edit(func(h *tlswarden.HTTPResult) { h.HSTS.MaxAge = 31536000 }), fail_, "below 63072000"},
		{"HSTS invalid", &ruleHSTS, "", edit(func(h *tlswarden.HTTPResult) { h.HSTS.Valid, h.HSTS.Problems = false, []string{"max-age missing"} }), fail_, "max-age missing"},
		{"no HTTP facts", &ruleHSTS, "", good(func(e *tlswarden.EndpointReport) { e.HTTP = nil }), ne, ""},
		{"no HTTP response", &ruleHSTS, "", edit(func(h *tlswarden.HTTPResult) { h.StatusCode = 0 }), ne, ""},
		{"redirect ok", &ruleHTTPSRedirect, "", good(nil), pass_, ""},
		{"no port 80", &ruleHTTPSRedirect, "", edit(func(h *tlswarden.HTTPResult) { h.Plain = &tlswarden.PlainHTTPResult{Status: tlswarden.StatusRefused} }), pass_, "nothing listens"},
		{"plain HTTP served", &ruleHTTPSRedirect, "", edit(func(h *tlswarden.HTTPResult) {
			h.Plain = &tlswarden.PlainHTTPResult{URL: "http://www.example.nhs.uk/", Listening: true, Status: tlswarden.StatusOK, StatusCode: 200}
		}), fail_, "answers 200"},
		{"plain HTTP not checked", &ruleHTTPSRedirect, "", edit(func(h *tlswarden.HTTPResult) { h.Plain = nil }), ne, ""},
		{"preload ready lacks preload", &ruleHSTSPreload, "", good(nil), fail_, "lacks preload"},
		{"header score good", &ruleHeaderScore, "", good(nil), pass_, ""},
		{"header score bad", &ruleHeaderScore, "", edit(func(h *tlswarden.HTTPResult) {
			h.HSTS, h.CSP, h.XContentTypeOptions, h.ReferrerPolicy = nil, nil, nil, nil
		}), fail_, "below 70"},
	}
}

func TestRules(t *testing.T) {
	var all []ruleCase
	for _, group := range [][]ruleCase{versionCases(), cipherCases(), kexCases(), certCases(), httpCases()} {
		all = append(all, group...)
	}
	for _, tc := range all {
		t.Run(tc.rule.ID+"/"+tc.name, func(t *testing.T) {
			name := tc.profile
			if name == "" {
				name = DefaultProfile
			}
			got := run(t, tc.rule, mustBuiltin(t, name), tc.ep())
			if got.Outcome != tc.want || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("got %s %q, want %s with %q", got.Outcome, got.Message, tc.want, tc.msg)
			}
		})
	}
}
