package store_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// postureEndpoint is an endpoint report and evaluation with something in
// every field a posture keeps, and in some it drops.
func postureEndpoint() (tlswarden.EndpointReport, tlswarden.EndpointEvaluation) {
	t0 := time.Date(2026, 11, 1, 2, 0, 0, 500, time.UTC)
	ep := tlswarden.Endpoint{Host: "a.example.org", Addr: netip.MustParseAddrPort("[2001:db8::1]:8443")}
	rep := tlswarden.EndpointReport{Endpoint: ep, Status: tlswarden.StatusOK, Connections: 9,
		Probes: []tlswarden.ProbeStatus{{Name: "tls", Status: tlswarden.StatusOK}},
		TLS: &tlswarden.TLSResult{Versions: []tlswarden.VersionResult{
			{Version: tlswarden.SSLv3, Error: "timeout", Status: tlswarden.StatusTimeout},
			{Version: tlswarden.TLS10, Status: tlswarden.StatusOK},
			{Version: tlswarden.TLS12, Supported: true, Preference: tlswarden.PreferServer, Suites: []tlswarden.Suite{
				{Code: 0xc02f, Name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", Group: "x25519"}, {Code: 0x000a, DHBits: 1024}}},
		}, Groups: []tlswarden.Group{{Code: 29, Name: "x25519"}}, Connections: 7},
		Cert: &tlswarden.CertResult{ServerName: "a.example.org", Chain: []tlswarden.Certificate{
			{SHA256: "leaf", Subject: "CN=a.example.org", NotBefore: t0, NotAfter: t0.AddDate(0, 3, 0), Expired: true,
				NotYetValid: true, DNSNames: []string{"a.example.org"}},
			{SHA256: "junk", Size: 12, ParseError: "asn1: syntax error"},
			{SHA256: "root", NotAfter: t0.AddDate(10, 0, 0), SelfSigned: true, IsCA: true},
		}, ChainComplete: true, Trusted: true, HostnameMatches: true, OCSPStapled: true,
			OtherChains: []tlswarden.CertResult{{Chain: []tlswarden.Certificate{
				{SHA256: "ecleaf", KeyType: "ECDSA", NotBefore: t0, NotAfter: t0.AddDate(0, 1, 0), Expired: true},
			}, HostnameMatches: true}}},
		HTTP: &tlswarden.HTTPResult{},
	}
	ee := tlswarden.EndpointEvaluation{Endpoint: ep, Compliance: tlswarden.NonCompliant,
		Grade:   &tlswarden.Grade{Letter: "B", Score: 80, Caps: []tlswarden.GradeCap{{Max: "B", Reason: "3DES"}}},
		Headers: &tlswarden.HeaderScore{Algorithm: "mdn-v6", Score: -5, Grade: "F", Error: "no response"},
		Findings: []tlswarden.Finding{
			{RuleID: "tls-min-version", Title: "TLS 1.0", Severity: tlswarden.SeverityHigh, Outcome: tlswarden.RuleFail, Message: "m"},
			{RuleID: "hsts", Severity: tlswarden.SeverityLow, Outcome: tlswarden.RuleFail, Waived: true,
				Waiver: &tlswarden.Waiver{Reason: "legacy"}},
			{RuleID: "ocsp", Severity: tlswarden.SeverityMedium, Outcome: tlswarden.RulePass},
			{RuleID: "ct", Severity: tlswarden.SeverityMedium, Outcome: tlswarden.RuleNotEvaluated},
		}}
	return rep, ee
}

// TestPostureOf checks which fields of the documents a posture keeps.
func TestPostureOf(t *testing.T) {
	rep, ee := postureEndpoint()
	t0 := rep.Cert.Chain[0].NotBefore
	want := store.EndpointPosture{Addr: rep.Endpoint.Addr, Status: tlswarden.StatusOK,
		TLS: &store.TLSPosture{Versions: []store.VersionPosture{
			{Version: tlswarden.SSLv3, Failed: true},
			{Version: tlswarden.TLS10},
			{Version: tlswarden.TLS12, Supported: true, Suites: []uint16{0xc02f, 0x000a}},
		}},
		Cert: &store.CertPosture{LeafSHA256: "leaf", Chain: []store.ChainCertPosture{
			{NotBefore: t0, NotAfter: t0.AddDate(0, 3, 0), Expired: true, NotYetValid: true},
			{ParseFailed: true},
			{NotAfter: t0.AddDate(10, 0, 0), SelfSigned: true},
		}, ChainComplete: true, Trusted: true, HostnameMatches: true, Others: []store.CertPosture{
			{LeafSHA256: "ecleaf", LeafKeyType: "ECDSA", Chain: []store.ChainCertPosture{
				{NotBefore: t0, NotAfter: t0.AddDate(0, 1, 0), Expired: true}}, HostnameMatches: true},
		}},
		Evaluation: &store.EvaluationPosture{Profile: "p", Compliance: tlswarden.NonCompliant, Graded: true, Grade: "B",
			Headers: &store.HeadersPosture{Score: -5, Grade: "F", Failed: true},
			Failed: []store.FailedRule{{RuleID: "tls-min-version", Severity: tlswarden.SeverityHigh},
				{RuleID: "hsts", Severity: tlswarden.SeverityLow, Waived: true}}},
	}
	opt := cmpopts.EquateComparable(netip.AddrPort{})
	if d := cmp.Diff(want, store.PostureOf(&rep, &ee, "p"), opt); d != "" {
		t.Errorf("PostureOf mismatch (-want +got):\n%s", d)
	}

	bare := tlswarden.EndpointReport{Endpoint: rep.Endpoint, Status: tlswarden.StatusRefused,
		TLS: &tlswarden.TLSResult{}, Cert: &tlswarden.CertResult{}}
	want = store.EndpointPosture{Addr: rep.Endpoint.Addr, Status: tlswarden.StatusRefused,
		TLS: &store.TLSPosture{Versions: []store.VersionPosture{}}, Cert: &store.CertPosture{}}
	if d := cmp.Diff(want, store.PostureOf(&bare, nil, "p"), opt); d != "" {
		t.Errorf("PostureOf of a bare report mismatch (-want +got):\n%s", d)
	}
	ee.Grade, ee.Headers, ee.Findings = &tlswarden.Grade{}, nil, nil
	got := store.PostureOf(&rep, &ee, "")
	if e := got.Evaluation; !e.Graded || e.Grade != "" || e.Headers != nil || e.Failed != nil {
		t.Errorf("PostureOf of an evaluation with an empty grade: %+v", e)
	}
}
