package policy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// now is the clock every test judges at.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// accepts is a version the server accepted, with suites by IANA name, in
// the server's order.
func accepts(v tlswarden.Version, pref tlswarden.Preference, names ...string) tlswarden.VersionResult {
	vr := tlswarden.VersionResult{Version: v, Supported: true, Status: tlswarden.StatusOK, Preference: pref}
	for _, n := range names {
		code, ok := suiteCode(n)
		if !ok && v != tlswarden.SSLv2 {
			panic("unknown suite " + n)
		}
		vr.Suites = append(vr.Suites, tlswarden.Suite{Code: code, Name: n})
	}
	return vr
}

// refuses is a version the server was tested for and refused.
func refuses(v tlswarden.Version) tlswarden.VersionResult {
	return tlswarden.VersionResult{Version: v, Status: tlswarden.StatusOK}
}

// untested is a version whose test did not complete.
func untested(v tlswarden.Version) tlswarden.VersionResult {
	return tlswarden.VersionResult{Version: v, Status: tlswarden.StatusTimeout, Error: "i/o timeout"}
}

// tlsResult fills in every version the caller did not give as refused.
func tlsResult(vs ...tlswarden.VersionResult) *tlswarden.TLSResult {
	tr := &tlswarden.TLSResult{}
	for _, v := range tlswarden.AllVersions {
		vr := refuses(v)
		for _, given := range vs {
			if given.Version == v {
				vr = given
			}
		}
		tr.Versions = append(tr.Versions, vr)
	}
	return tr
}

// groups adds groups to the TLS 1.3 enumeration (which the old fields
// hold too).
func groups(tr *tlswarden.TLSResult, names ...string) *tlswarden.TLSResult {
	gs := groupsOver(tr, tlswarden.TLS13)
	for _, n := range names {
		tr.Groups = append(tr.Groups, tlswarden.Group{Name: n})
		gs.Groups = append(gs.Groups, tlswarden.Group{Name: n})
	}
	tr.GroupsTestedWith = tlswarden.TLS13
	return tr
}

// groupsOver returns the group enumeration over v, added if missing.
func groupsOver(tr *tlswarden.TLSResult, v tlswarden.Version) *tlswarden.GroupScan {
	for i := range tr.GroupsByVersion {
		if tr.GroupsByVersion[i].Version == v {
			return &tr.GroupsByVersion[i]
		}
	}
	tr.GroupsByVersion = append(tr.GroupsByVersion, tlswarden.GroupScan{Version: v})
	return &tr.GroupsByVersion[len(tr.GroupsByVersion)-1]
}

// legacyGroups adds curves to the TLS 1.2 enumeration.
func legacyGroups(tr *tlswarden.TLSResult, names ...string) *tlswarden.TLSResult {
	gs := groupsOver(tr, tlswarden.TLS12)
	for _, n := range names {
		gs.Groups = append(gs.Groups, tlswarden.Group{Name: n})
	}
	return tr
}

// modernTLS is what a well-configured server accepts: TLS 1.2 with ECDHE
// AEAD suites and TLS 1.3.
func modernTLS() *tlswarden.TLSResult {
	return legacyGroups(groups(tlsResult(
		accepts(tlswarden.TLS12, tlswarden.PreferServer,
			"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
		accepts(tlswarden.TLS13, tlswarden.PreferClient,
			"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"),
	), "X25519MLKEM768", "x25519", "secp256r1", "secp384r1"), "x25519", "secp256r1", "secp384r1")
}

// goodCert is a trusted 90-day ECDSA P-256 certificate issued 30 days
// before now.
func goodCert() *tlswarden.CertResult {
	issued := now.AddDate(0, 0, -30)
	leaf := tlswarden.Certificate{
		Subject: "CN=www.example.nhs.uk", Issuer: "CN=Example CA",
		NotBefore: issued, NotAfter: issued.Add(90*24*time.Hour - time.Second),
		KeyType: "ECDSA", KeyBits: 256, Curve: "P-256", SignatureAlgorithm: "ECDSA-SHA256",
	}
	inter := tlswarden.Certificate{
		Subject: "CN=Example CA", Issuer: "CN=Example Root",
		NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(3, 0, 0),
		KeyType: "RSA", KeyBits: 4096, SignatureAlgorithm: "SHA384-RSA", IsCA: true,
	}
	return &tlswarden.CertResult{
		ServerName: "www.example.nhs.uk", Chain: []tlswarden.Certificate{leaf, inter},
		ChainLength: 2, ChainOrderCorrect: true, ChainComplete: true, Trusted: true,
		HostnameChecked: "www.example.nhs.uk", HostnameMatches: true, HostnameMatchedBy: "www.example.nhs.uk",
		Anchor: tlswarden.AnchorPublic, SCTs: tlswarden.SCTCounts{Embedded: 2},
	}
}

// corsOrigin is the Origin the fixtures' CORS preflight sent.
const corsOrigin = "https://cors-check.tlswarden.invalid"

// goodHTTP is an HTTPS response with a two-year HSTS header, a strict
// CSP and the usual headers, a CORS preflight refused with 405, and port
// 80 redirecting to HTTPS.
func goodHTTP() *tlswarden.HTTPResult {
	none := ""
	return &tlswarden.HTTPResult{
		URL: "https://www.example.nhs.uk/", FinalURL: "https://www.example.nhs.uk/", StatusCode: 200,
		HSTS: &tlswarden.HSTS{Valid: true, MaxAge: 63072000, IncludeSubDomains: true, Headers: 1},
		CSP: []tlswarden.CSPPolicy{{
			Directives:      map[string][]string{"default-src": {"'none'"}, "frame-ancestors": {"'none'"}},
			ScriptDirective: "default-src", ObjectDirective: "default-src", FrameAncestors: &none,
		}},
		XContentTypeOptions: &tlswarden.XContentTypeOptions{Value: "nosniff", Nosniff: true},
		ReferrerPolicy:      &tlswarden.ReferrerPolicy{Tokens: []string{"no-referrer"}, Policy: "no-referrer", Valid: true},
		CORS:                &tlswarden.CORSResult{URL: "https://www.example.nhs.uk/", Origin: corsOrigin, Status: tlswarden.StatusOK, StatusCode: 405},
		Plain: &tlswarden.PlainHTTPResult{
			URL: "http://www.example.nhs.uk/", Listening: true, Status: tlswarden.StatusOK, StatusCode: 301,
			Redirects: []tlswarden.HTTPRedirect{{URL: "http://www.example.nhs.uk/", StatusCode: 301,
				Location: "https://www.example.nhs.uk/", Target: "https://www.example.nhs.uk/"}},
			FirstRedirectHTTPSSameHost: true, ReachesHTTPS: true,
		},
	}
}

var testTarget = tlswarden.Target{Host: "www.example.nhs.uk", Port: 443, Kind: tlswarden.KindHTTPS}

// endpoint wraps facts in an endpoint report whose probes all succeeded.
func endpoint(tr *tlswarden.TLSResult, cr *tlswarden.CertResult, hr *tlswarden.HTTPResult) *tlswarden.EndpointReport {
	return &tlswarden.EndpointReport{
		Endpoint: tlswarden.Endpoint{Host: testTarget.Host, Addr: netip.MustParseAddrPort("192.0.2.10:443")},
		Status:   tlswarden.StatusOK, TLS: tr, Cert: cr, HTTP: hr,
	}
}

// report wraps endpoints in a scanned report of testTarget.
func report(eps ...*tlswarden.EndpointReport) *tlswarden.Report {
	r := &tlswarden.Report{
		Schema: tlswarden.ReportSchema, Target: testTarget, Status: tlswarden.StatusOK,
		Started: now.Add(-time.Minute), Finished: now,
	}
	for _, e := range eps {
		r.Endpoints = append(r.Endpoints, *e)
	}
	return r
}

// mustBuiltin returns a built-in profile or fails the test.
func mustBuiltin(t *testing.T, name string) *Profile {
	t.Helper()
	p, ok := Builtin(name)
	if !ok {
		t.Fatalf("no built-in profile %q", name)
	}
	return p
}

// run checks one rule against an endpoint with a profile's parameters.
func run(t *testing.T, rule *Rule, p *Profile, e *tlswarden.EndpointReport) Result {
	t.Helper()
	return rule.Check(&Input{Target: testTarget, Endpoint: e, Params: &p.Params, Now: now})
}
