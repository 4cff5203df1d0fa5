package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

func finding(t *testing.T, ee *tlswarden.EndpointEvaluation, id string) tlswarden.Finding {
	t.Helper()
	for _, f := range ee.Findings {
		if f.RuleID == id {
			return f
		}
	}
	t.Fatalf("no finding for %s", id)
	return tlswarden.Finding{}
}

func TestEvaluateCompliance(t *testing.T) {
	tls10 := accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")
	tests := []struct {
		name string
		ep   func() *tlswarden.EndpointReport
		want tlswarden.Compliance
	}{
		{"everything good", good(nil), tlswarden.Compliant},
		{"TLS 1.0 (critical)", withTLS(tls10, v12ECDHE, v13), tlswarden.NonCompliant},
		{"only warnings: no TLS 1.3, CBC", withTLS(accepts(tlswarden.TLS12, tlswarden.PreferServer,
			"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")), tlswarden.Compliant},
		{"certificate probe failed", good(func(e *tlswarden.EndpointReport) { e.Cert = nil }), tlswarden.ComplianceUnknown},
		{"a failure outranks the unknown", good(func(e *tlswarden.EndpointReport) {
			e.Cert = nil
			e.TLS = groups(tlsResult(tls10, v12ECDHE), "x25519")
		}), tlswarden.NonCompliant},
		{"endpoint not scanned", func() *tlswarden.EndpointReport {
			e := endpoint(nil, nil, nil)
			e.Status, e.Error = tlswarden.StatusRefused, "connection refused"
			return e
		}, tlswarden.ComplianceUnknown},
	}
	p := mustBuiltin(t, DefaultProfile)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := Evaluate(report(tc.ep()), p, Options{})
			if got := ev.Endpoints[0].Compliance; got != tc.want {
				t.Errorf("endpoint %s, want %s; findings:\n%s", got, tc.want, describe(ev.Endpoints[0].Findings))
			}
			if ev.Compliance != tc.want {
				t.Errorf("report %s, want %s", ev.Compliance, tc.want)
			}
		})
	}
}

func describe(fs []tlswarden.Finding) string {
	s := ""
	for _, f := range fs {
		s += fmt.Sprintf("  %s %s %s: %s\n", f.RuleID, f.Severity, f.Outcome, f.Message)
	}
	return s
}

func TestEvaluateReportNotScanned(t *testing.T) {
	r := report()
	r.Status, r.Error = tlswarden.StatusDNSError, "nxdomain"
	ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
	if ev.Compliance != tlswarden.ComplianceUnknown || len(ev.Endpoints) != 0 {
		t.Errorf("unresolvable target: %+v", ev)
	}
	want := tlswarden.ProfileInfo{Name: "nhs-internet-first", Version: "2.01", FailAt: tlswarden.SeverityHigh}
	if diff := cmp.Diff(want, ev.Profile, cmpIgnoreSource); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
}

var cmpIgnoreSource = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Source" }, cmp.Ignore())

func TestWaivers(t *testing.T) {
	legacy := withTLS(accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE, v13)
	waiver := func(target string, expires time.Time) tlswarden.Waiver {
		return tlswarden.Waiver{Target: target, Rule: "tls.version.min", Reason: "supplier upgrade INC123", Expires: expires}
	}
	tests := []struct {
		name       string
		w          tlswarden.Waiver
		waived     bool
		attached   bool
		compliance tlswarden.Compliance
	}{
		{"active, by host", waiver("www.example.nhs.uk", now.AddDate(0, 1, 0)), true, true, tlswarden.Compliant},
		{"active, by host:port", waiver("www.example.nhs.uk:443", now.AddDate(0, 1, 0)), true, true, tlswarden.Compliant},
		{"last day still holds", waiver("www.example.nhs.uk", now.Truncate(24*time.Hour)), true, true, tlswarden.Compliant},
		{"expired yesterday", waiver("www.example.nhs.uk", now.AddDate(0, 0, -1).Truncate(24*time.Hour)), false, true, tlswarden.NonCompliant},
		{"other port", waiver("www.example.nhs.uk:8443", now.AddDate(0, 1, 0)), false, false, tlswarden.NonCompliant},
		{"other host", waiver("other.example.nhs.uk", now.AddDate(0, 1, 0)), false, false, tlswarden.NonCompliant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := Evaluate(report(legacy()), mustBuiltin(t, DefaultProfile), Options{Waivers: []tlswarden.Waiver{tc.w}})
			f := finding(t, &ev.Endpoints[0], "tls.version.min")
			if f.Outcome != tlswarden.RuleFail {
				t.Fatalf("waiving changed the outcome: %s", f.Outcome)
			}
			if f.Waived != tc.waived || (f.Waiver != nil) != tc.attached {
				t.Errorf("waived %v, waiver %+v; want waived %v, attached %v", f.Waived, f.Waiver, tc.waived, tc.attached)
			}
			if ev.Compliance != tc.compliance {
				t.Errorf("compliance %s, want %s", ev.Compliance, tc.compliance)
			}
		})
	}
}

// TestNotEvaluatedIsNeverPass checks every rule of the catalogue, under
// every built-in profile's parameters, on endpoints whose facts are
// missing: none may pass or fail.
func TestNotEvaluatedIsNeverPass(t *testing.T) {
	tests := []struct {
		name string
		ep   func() *tlswarden.EndpointReport
		// missing lists the rule families whose facts are absent.
		missing []string
	}{
		{"nothing gathered", func() *tlswarden.EndpointReport {
			e := endpoint(nil, nil, nil)
			e.Status, e.Error = tlswarden.StatusTimeout, "i/o timeout"
			return e
		}, []string{"tls.", "cipher.", "kex.", "cert.", "http."}},
		{"every version untested", good(func(e *tlswarden.EndpointReport) {
			e.TLS = tlsResult()
			for i := range e.TLS.Versions {
				e.TLS.Versions[i] = untested(e.TLS.Versions[i].Version)
			}
		}), []string{"tls.", "cipher.", "kex."}},
		{"certificate and HTTP probes failed", good(func(e *tlswarden.EndpointReport) {
			e.Cert, e.HTTP = nil, nil
			e.Probes = []tlswarden.ProbeStatus{{Name: "certificate", Status: tlswarden.StatusTimeout}, {Name: "http", Status: tlswarden.StatusReset}}
		}), []string{"cert.", "http."}},
		{"no HTTP response", good(func(e *tlswarden.EndpointReport) {
			e.HTTP = &tlswarden.HTTPResult{URL: "https://www.example.nhs.uk/"}
		}), []string{"http."}},
	}
	for _, p := range Builtins() {
		for _, tc := range tests {
			missing := func(id string) bool {
				return slices.ContainsFunc(tc.missing, func(prefix string) bool { return strings.HasPrefix(id, prefix) })
			}
			for _, r := range Rules() {
				if !missing(r.ID) {
					continue
				}
				got := r.Check(&Input{Target: testTarget, Endpoint: tc.ep(), Params: &p.Params, Now: now})
				if got.Outcome != tlswarden.RuleNotEvaluated && got.Outcome != tlswarden.RuleNotApplicable {
					t.Errorf("%s, %s on %q: %s %q, want not_evaluated or not_applicable", p.Name, r.ID, tc.name, got.Outcome, got.Message)
				}
			}
			// A profile that requires a rule whose facts are missing never
			// calls the endpoint compliant.
			required := slices.ContainsFunc(p.Rules, func(r ProfileRule) bool { return r.Severity >= p.FailAt && missing(r.Rule.ID) })
			if ev := Evaluate(report(tc.ep()), p, Options{}); required && ev.Compliance == tlswarden.Compliant {
				t.Errorf("%s on %q: compliant without the facts", p.Name, tc.name)
			}
		}
	}
}

// TestTLS10NeverCompliantUnderInternetFirst varies every other fact of an
// endpoint that accepts TLS 1.0: nhs-internet-first never calls it
// compliant, with or without any other flaw.
func TestTLS10NeverCompliantUnderInternetFirst(t *testing.T) {
	p := mustBuiltin(t, "nhs-internet-first")
	tls10 := accepts(tlswarden.TLS10, tlswarden.PreferServer, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
	versionSets := [][]tlswarden.VersionResult{
		{tls10},
		{tls10, v12ECDHE},
		{tls10, v12ECDHE, v13},
		{tls10, accepts(tlswarden.TLS11, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE, v13},
		{tls10, untested(tlswarden.SSLv3), v12ECDHE, v13},
	}
	certs := []func() *tlswarden.CertResult{goodCert, func() *tlswarden.CertResult { return nil }}
	https := []func() *tlswarden.HTTPResult{goodHTTP, func() *tlswarden.HTTPResult { return nil }}
	for i, vs := range versionSets {
		for j, cert := range certs {
			for k, http := range https {
				e := endpoint(groups(tlsResult(vs...), "x25519"), cert(), http())
				ev := Evaluate(report(e), p, Options{})
				if ev.Compliance != tlswarden.NonCompliant || ev.Endpoints[0].Compliance != tlswarden.NonCompliant {
					t.Errorf("case %d/%d/%d: %s, want non_compliant; findings:\n%s", i, j, k, ev.Compliance, describe(ev.Endpoints[0].Findings))
				}
			}
		}
	}
	for _, name := range []string{"mozilla-intermediate", "mozilla-modern", "ncsc"} {
		e := endpoint(groups(tlsResult(tls10, v12ECDHE, v13), "x25519"), goodCert(), goodHTTP())
		if ev := Evaluate(report(e), mustBuiltin(t, name), Options{}); ev.Compliance != tlswarden.NonCompliant {
			t.Errorf("%s calls TLS 1.0 %s", name, ev.Compliance)
		}
	}
}

func TestBuiltinProfiles(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Builtins() {
		if seen[p.Name] || p.Version == "" || p.Source == "" || p.FailAt == 0 || len(p.Rules) == 0 {
			t.Errorf("profile %q: duplicate, or lacks a version, source, threshold or rules", p.Name)
		}
		seen[p.Name] = true
		for _, r := range p.Rules {
			if r.Severity == 0 || r.Rule.Rationale == "" || r.Rule.Title == "" {
				t.Errorf("%s: rule %s lacks a severity, title or rationale", p.Name, r.Rule.ID)
			}
		}
	}
	if Builtins()[0].Name != DefaultProfile {
		t.Errorf("the default profile is not listed first")
	}
	old := mustBuiltin(t, "mozilla-old")
	old.Rules = nil
	if again := mustBuiltin(t, "mozilla-old"); len(again.Rules) == 0 {
		t.Errorf("Builtin returned a shared profile")
	}
}

func TestBuiltinNames(t *testing.T) {
	for _, b := range builtins {
		if p := b.make(); p.Name != b.name {
			t.Errorf("built-in listed as %q is named %q", b.name, p.Name)
		}
	}
}
