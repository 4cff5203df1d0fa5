package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

const customYAML = `# Trust estate policy
name: trust-estate
version: "2026.1"
extends: nhs-internet-first
description: Stricter HSTS, no PQC nagging.
fail_at: high
params:
  expiry_warning_days: 21
  hsts_min_max_age: 63072000
  tls13_suites: [TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]
rules:
  kex.pqc_hybrid: off
  cert.ocsp_stapled: {enabled: false}
  tls.version.tls13: high
  cipher.aead_only: {severity: low}
  http.obs.cookies: on
waivers:
  - target: legacy.example.nhs.uk
    rule: tls.version.min
    reason: Supplier upgrade due Q3 (INC123)
    expires: 2026-09-30
  - target: "[2001:db8::1]:8443"
    rule: http.hsts
    reason: API only
    expires: 2027-01-31
`

func TestParse(t *testing.T) {
	p, err := Parse("trust.yaml", []byte(customYAML))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "trust-estate" || p.Version != "2026.1" || p.Extends != "nhs-internet-first 2.01" || p.FailAt != tlswarden.SeverityHigh {
		t.Errorf("header: %q %q %q %s", p.Name, p.Version, p.Extends, p.FailAt)
	}
	if p.Params.ExpiryWarningDays != 21 || p.Params.HSTSMinMaxAge != 63072000 || !cmp.Equal(p.Params.TLS13Suites, []uint16{0x1301, 0x1302}) {
		t.Errorf("params: %+v", p.Params)
	}
	for id, want := range map[string]tlswarden.Severity{
		"kex.pqc_hybrid": 0, "cert.ocsp_stapled": 0, "tls.version.tls13": tlswarden.SeverityHigh,
		"cipher.aead_only": tlswarden.SeverityLow, "http.obs.cookies": tlswarden.SeverityLow,
		"tls.version.min": tlswarden.SeverityCritical,
	} {
		pr, ok := p.Rule(id)
		if want == 0 && ok || want != 0 && (!ok || pr.Severity != want) {
			t.Errorf("rule %s: present %v %+v, want severity %s", id, ok, pr, want)
		}
	}
	want := []tlswarden.Waiver{
		{Target: "legacy.example.nhs.uk", Rule: "tls.version.min", Reason: "Supplier upgrade due Q3 (INC123)", Expires: time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)},
		{Target: "[2001:db8::1]:8443", Rule: "http.hsts", Reason: "API only", Expires: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
	}
	if diff := cmp.Diff(want, p.Waivers); diff != "" {
		t.Errorf("waivers (-want +got):\n%s", diff)
	}
	if base := mustBuiltin(t, DefaultProfile); base.Params.ExpiryWarningDays != 14 {
		t.Errorf("parsing changed the built-in profile")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // each a substring of one error, with its line
	}{
		{"empty", "", []string{"empty file"}},
		{"not YAML", "extends: ncsc\nrules: [\n", []string{"x.yaml:2: invalid YAML"}},
		{"no extends", "name: x\n", []string{`x.yaml:1: missing "extends"`}},
		{"unknown base", "extends: mozilla-ancient\n", []string{`x.yaml:1: unknown profile "mozilla-ancient"`}},
		{"unknown key", "extends: ncsc\nfailat: high\n", []string{`x.yaml:2: unknown key "failat"`}},
		{"duplicate key", "extends: ncsc\nfail_at: high\nfail_at: low\n", []string{`x.yaml:3: "fail_at" given twice (first on line 2)`}},
		{"bad severity", "extends: ncsc\nfail_at: severe\n", []string{`x.yaml:2: unknown severity "severe"`}},
		{"bad param", "extends: ncsc\nparams:\n  expiry_warning_days: soon\n  min_rsa_bits: 512\n  colour: blue\n", []string{
			`x.yaml:3: want a whole number from 0 to 365, not "soon"`,
			`x.yaml:4: want a whole number from 1024 to 16384, not "512"`,
			`x.yaml:5: unknown key "colour" in params`,
		}},
		{"bad suite", "extends: ncsc\nparams:\n  tls12_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_MADE_UP\n", []string{`x.yaml:5: "TLS_MADE_UP" is not a valid entry`}},
		{"bad version", "extends: ncsc\nparams:\n  min_version: TLSv1.4\n", []string{`x.yaml:3: unknown protocol version "TLSv1.4"`}},
		{"unknown rule", "extends: ncsc\nrules:\n  tls.no_tls10: off\n", []string{`x.yaml:3: unknown rule "tls.no_tls10"`}},
		{"bad rule value", "extends: ncsc\nrules:\n  cipher.fs_only: [off]\n", []string{`x.yaml:3: rule cipher.fs_only: want off`}},
		{"bad rule field", "extends: ncsc\nrules:\n  cipher.fs_only: {enabled: maybe, level: low}\n", []string{
			`x.yaml:3: want true or false, not "maybe"`, `x.yaml:3: unknown key "level" in rule cipher.fs_only`,
		}},
		{"waiver lacks reason", "extends: ncsc\nwaivers:\n  - target: a.example\n    rule: http.hsts\n    expires: 2027-01-01\n", []string{`x.yaml:3: waiver lacks "reason"`}},
		{"waiver bad date and target", "extends: ncsc\nwaivers:\n  - target: bad host\n    rule: http.hsts\n    reason: r\n    expires: 31/01/2027\n", []string{
			`x.yaml:3: bad waiver target`, `x.yaml:6: want a date as YYYY-MM-DD, not "31/01/2027"`,
		}},
		{"waiver for a rule not in the profile", "extends: ncsc\nwaivers:\n  - target: a.example\n    rule: cert.lifespan_br\n    reason: r\n    expires: 2027-01-01\n", []string{
			`x.yaml:4: rule "cert.lifespan_br" is not in profile ncsc+custom`,
		}},
		{"built-in name", "name: mozilla-modern\nextends: mozilla-modern\n", []string{`x.yaml:1: name "mozilla-modern" is a built-in profile's`}},
		// The Internet First rule itself is not for switching off.
		{"switch off the TLS minimum", "extends: nhs-internet-first\nrules:\n  tls.version.min: off\n", []string{`x.yaml:3: a profile extending nhs-internet-first must keep tls.version.min`}},
		{"demote the TLS minimum", "extends: nhs-internet-first\nrules:\n  tls.version.min: medium\n", []string{`x.yaml:3: a profile extending nhs-internet-first must keep tls.version.min`}},
		{"lower the minimum version", "extends: nhs-internet-first\nparams:\n  min_version: TLSv1.0\n", []string{`x.yaml:3: a profile extending nhs-internet-first cannot lower min_version`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
			var fe *FileError
			if strings.HasPrefix(tc.want[0], "x.yaml:") && !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FileError", err)
			}
		})
	}
}

// TestParseWeakeningNeverMakesTLS10Compliant loads the waiver route, the
// one allowed way to accept TLS 1.0 under an nhs-internet-first profile,
// and checks the finding stays a visible failure.
func TestParseWaiverKeepsFindingVisible(t *testing.T) {
	p, err := Parse("w.yaml", []byte("extends: nhs-internet-first\nwaivers:\n  - target: www.example.nhs.uk\n    rule: tls.version.min\n    reason: legacy kiosk clients\n    expires: 2027-01-31\n"))
	if err != nil {
		t.Fatal(err)
	}
	e := endpoint(groups(tlsResult(accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), v12ECDHE, v13), "x25519"), goodCert(), goodHTTP())
	ev := Evaluate(report(e), p, Options{})
	f := finding(t, &ev.Endpoints[0], "tls.version.min")
	if f.Outcome != tlswarden.RuleFail || !f.Waived || f.Waiver.Reason != "legacy kiosk clients" {
		t.Errorf("finding %+v", f)
	}
	if ev.Profile.Name != "nhs-internet-first+custom" || ev.Profile.Extends != "nhs-internet-first 2.01" {
		t.Errorf("evaluation does not say it used a custom profile: %+v", ev.Profile)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(customYAML))
	f.Add([]byte("extends: ncsc\nrules: {a: b}\nwaivers: [1, {target: x}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err == nil && (p == nil || len(p.Rules) == 0 && p.Extends == "") {
			t.Errorf("accepted without a profile: %+v", p)
		}
	})
}
