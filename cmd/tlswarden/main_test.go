package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func suiteCodes(v tlswarden.VersionResult) map[uint16]bool {
	m := map[uint16]bool{}
	for _, s := range v.Suites {
		m[s.Code] = true
	}
	return m
}

func TestScanDemoJSON(t *testing.T) {
	// The testbed's legacy endpoints break the default profile.
	code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--demo")
	if code != exitNonCompliant {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitNonCompliant, stderr)
	}
	byPort := map[int]*tlswarden.Report{}
	mail := map[bool]*tlswarden.Report{} // by STARTTLS offered
	compliant := 0
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			tlswarden.Report
			Evaluation *tlswarden.Evaluation `json:"evaluation"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line is not a JSON report: %v\n%s", err, sc.Text())
		}
		if r.Schema != tlswarden.ReportSchema {
			t.Errorf("schema %q", r.Schema)
		}
		if ev := r.Evaluation; ev == nil || ev.Profile.Name != "nhs-internet-first" || len(ev.Endpoints) != len(r.Endpoints) {
			t.Errorf("report for %s lacks an nhs-internet-first evaluation per endpoint: %+v", r.Target, ev)
		}
		if r.Target.Kind == tlswarden.KindSMTP {
			mail[r.Endpoints[0].Service != nil && r.Endpoints[0].Service.StartTLS] = &r.Report
			continue
		}
		byPort[r.Target.Port] = &r.Report
		if r.Evaluation != nil && r.Evaluation.Compliance == tlswarden.Compliant {
			compliant++
		}
	}
	// The two mail servers: one offers STARTTLS, with TLS 1.0; one does not.
	if m := mail[true]; m == nil || !m.Endpoints[0].TLS.Supported(tlswarden.TLS10) {
		t.Errorf("no testbed mail server with STARTTLS and TLS 1.0: %+v", m)
	}
	if m := mail[false]; m == nil || m.Endpoints[0].Status != tlswarden.StatusOK || m.Endpoints[0].Service == nil {
		t.Errorf("no testbed mail server that does not offer STARTTLS (with the facts saying so): %+v", m)
	}
	// With the testbed's CA trusted, only "modern" and "tls13-only" comply.
	if compliant != 2 {
		t.Errorf("%d testbed endpoints compliant, want 2", compliant)
	}
	if len(byPort) != 7 {
		t.Fatalf("got %d reports, want 7 (one per testbed endpoint)", len(byPort))
	}
	var legacy, modern *tlswarden.TLSResult
	for _, r := range byPort {
		tr := r.Endpoints[0].TLS
		if tr == nil {
			t.Fatalf("report for %s has no TLS result", r.Target)
		}
		if tr.Supported(tlswarden.TLS10) {
			legacy = tr
		} else if len(tr.Versions) > 0 && tr.Supported(tlswarden.TLS12) && tr.Supported(tlswarden.TLS13) && len(tr.Versions[4].Suites) == 3 {
			modern = tr
		}
	}
	if legacy == nil || modern == nil {
		t.Fatalf("did not find the legacy and modern endpoints in the reports")
	}
	// The plain-HTTP check goes to the testbed's own redirecting listener,
	// never to 127.0.0.1:80, where a developer's web server may answer.
	for _, r := range byPort {
		h := r.Endpoints[0].HTTP
		if h == nil || h.Plain == nil {
			t.Fatalf("report for %s has no plain-HTTP result", r.Target)
		}
		if p := h.Plain; strings.Contains(p.URL, "127.0.0.1/") || !p.Listening || !p.FirstRedirectHTTPSSameHost {
			t.Errorf("%s: plain-HTTP check %+v, want the testbed's listener redirecting to HTTPS", r.Target, p)
		}
	}
	for _, v := range legacy.Versions {
		if v.Version == tlswarden.TLS10 && !suiteCodes(v)[0x000A] {
			t.Errorf("legacy endpoint: TLS 1.0 suites %v lack TLS_RSA_WITH_3DES_EDE_CBC_SHA", v.Suites)
		}
	}
	if modern.Supported(tlswarden.TLS11) || modern.Supported(tlswarden.SSLv3) {
		t.Errorf("modern endpoint reported with a legacy version: %+v", modern.Versions)
	}
}

func TestScanTable(t *testing.T) {
	code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--demo")
	if code != exitNonCompliant {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitNonCompliant, stderr)
	}
	for _, want := range []string{`testbed endpoint "legacy"`, "TLSv1.0", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "server preference", "groups",
		"policy", "nhs-internet-first 2.01: NON-COMPLIANT", "grade", "FAIL", "critical tls.version.min: accepts TLSv1.0",
		"EXPIRED", "self-signed", "SANs localhost, 127.0.0.1", "missing",
		"max-age 730 days, includeSubDomains", "nosniff", "plain HTTP"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+HSTS\s+missing$`).MatchString(stdout) {
		t.Errorf("table does not show a missing HSTS header for the legacy endpoint")
	}
}

func TestScanBadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	file := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(file, []byte("# estate\n127.0.0.1:1\nbad host name\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badProfile := writeFile(t, "bad.yaml", "extends: nhs-internet-first\nrules:\n  tls.no_tls10: off\n")
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
	}{
		{"no targets", []string{"scan"}, "", "no targets"},
		{"malformed name", []string{"scan", "exa mple.org"}, "", "not a letter"},
		{"bad port", []string{"scan", "example.org:99999"}, "", "port must be"},
		{"url with a path", []string{"scan", "https://example.org/index.html"}, "", "without a path"},
		{"unknown scheme", []string{"scan", "gopher://example.org"}, "", "unknown URL scheme"},
		{"bad line in file", []string{"scan", "-f", file}, "", "targets.txt:3"},
		{"bad line on stdin", []string{"scan", "-f", "-"}, "ok.example\n-bad-.example\n", "-:2"},
		{"refused", []string{"scan", "--progress=false", closed}, "", ""},
		{"unknown command", []string{"frobnicate"}, "", "unknown command"},
		{"unknown profile", []string{"scan", "--profile", "nosuch", "127.0.0.1:1"}, "", `no built-in profile or file "nosuch"`},
		{"invalid profile file", []string{"scan", "--profile", badProfile, "127.0.0.1:1"}, "", "bad.yaml:3: unknown rule"},
		{"missing CA file", []string{"scan", "--ca-file", file + ".missing", "127.0.0.1:1"}, "", "--ca-file: open "},
		{"CA file without certificates", []string{"scan", "--ca-file", file, "127.0.0.1:1"}, "", "--ca-file: no PEM certificate in"},
		{"CA file only without a CA file", []string{"scan", "--ca-file-only", "127.0.0.1:1"}, "", "--ca-file-only needs --ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tt.stdin, tt.args...)
			if code != exitNotScanned {
				t.Errorf("exit %d, want %d", code, exitNotScanned)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.wantErr)
			}
			if tt.name == "refused" && !strings.Contains(stdout, "refused") {
				t.Errorf("table does not say refused:\n%s", stdout)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitStatus(t *testing.T) {
	scanned := &tlswarden.Report{Status: tlswarden.StatusOK, Endpoints: []tlswarden.EndpointReport{{Status: tlswarden.StatusOK}}}
	refused := &tlswarden.Report{Status: tlswarden.StatusOK, Endpoints: []tlswarden.EndpointReport{{Status: tlswarden.StatusRefused}}}
	tests := []struct {
		name       string
		r          *tlswarden.Report
		compliance tlswarden.Compliance
		want       int
	}{
		{"compliant", scanned, tlswarden.Compliant, exitOK},
		{"non-compliant", scanned, tlswarden.NonCompliant, exitNonCompliant},
		{"compliance unknown", scanned, tlswarden.ComplianceUnknown, exitNotScanned},
		{"not scanned", refused, tlswarden.ComplianceUnknown, exitNotScanned},
		{"non-compliant though partly unscanned", refused, tlswarden.NonCompliant, exitNonCompliant},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitFor(tc.r, &tlswarden.Evaluation{Compliance: tc.compliance}); got != tc.want {
				t.Errorf("exit %d, want %d", got, tc.want)
			}
		})
	}
	// Across targets: non-compliance outranks "could not scan", which
	// outranks OK, in any order.
	for _, seq := range [][]int{{exitOK, exitNotScanned, exitNonCompliant}, {exitNonCompliant, exitNotScanned, exitOK}, {exitNotScanned, exitNonCompliant}} {
		code := exitOK
		for _, c := range seq {
			code = worseExit(code, c)
		}
		if code != exitNonCompliant {
			t.Errorf("sequence %v gave %d", seq, code)
		}
	}
	if got := worseExit(worseExit(exitOK, exitNotScanned), exitOK); got != exitNotScanned {
		t.Errorf("OK after could-not-scan gave %d", got)
	}
}

func TestProfilesCommand(t *testing.T) {
	custom := writeFile(t, "estate.yaml", "name: estate\nextends: mozilla-intermediate\nrules:\n  kex.pqc_hybrid: medium\n"+
		"waivers:\n  - target: old.example.nhs.uk\n    rule: tls.version.tls13\n    reason: vendor appliance\n    expires: 2027-03-31\n")
	bad := writeFile(t, "bad.yaml", "extends: ncsc\nparams:\n  hsts_min_max_age: forever\n")
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"all", []string{"profiles"}, exitOK, []string{
			"nhs-internet-first 2.01", "mozilla-intermediate 6.0", "mozilla-modern 6.0", "mozilla-old 5.7",
			"ncsc ", "nist-800-52r2 Rev. 2", "tls.version.min", "cert.lifespan_br", "http.hsts",
		}},
		{"one built-in", []string{"profiles", "mozilla-old"}, exitOK, []string{"removed this configuration in 6.0", "tls12_suites: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "min_dh_bits 1024"}},
		{"custom file", []string{"profiles", custom}, exitOK, []string{"estate custom", "extends: mozilla-intermediate 6.0", "kex.pqc_hybrid", "medium", "waiver: tls.version.tls13 on old.example.nhs.uk until 2027-03-31: vendor appliance"}},
		{"invalid file", []string{"profiles", bad}, exitNotScanned, []string{"bad.yaml:3: want a whole number"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "", tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output lacks %q:\n%s%s", w, stdout, stderr)
				}
			}
		})
	}
}

func TestTableFindings(t *testing.T) {
	r := &tlswarden.Report{
		Target: tlswarden.Target{Host: "www.example.nhs.uk", Port: 443}, Status: tlswarden.StatusOK,
		Endpoints: []tlswarden.EndpointReport{{Status: tlswarden.StatusOK}},
	}
	ev := &tlswarden.Evaluation{
		Profile:    tlswarden.ProfileInfo{Name: "nhs-internet-first", Version: "2.01", FailAt: tlswarden.SeverityHigh},
		Compliance: tlswarden.ComplianceUnknown,
		Endpoints: []tlswarden.EndpointEvaluation{{
			Compliance: tlswarden.ComplianceUnknown,
			Grade:      &tlswarden.Grade{Letter: "T", IgnoringTrust: "A", Score: 93, Caps: []tlswarden.GradeCap{{Max: "T", Reason: "certificate not trusted"}}},
			Findings: []tlswarden.Finding{
				{RuleID: "tls.version.min", Severity: tlswarden.SeverityCritical, Outcome: tlswarden.RuleFail, Message: "accepts TLSv1.0", Waived: true,
					Waiver: &tlswarden.Waiver{Reason: "kiosks", Expires: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}},
				{RuleID: "cipher.aead_only", Severity: tlswarden.SeverityMedium, Outcome: tlswarden.RuleFail, Message: "CBC"},
				{RuleID: "cert.ocsp_stapled", Severity: tlswarden.SeverityInfo, Outcome: tlswarden.RuleFail, Message: "no staple"},
				{RuleID: "http.hsts", Severity: tlswarden.SeverityHigh, Outcome: tlswarden.RuleNotEvaluated, Message: "no HTTP facts"},
				{RuleID: "http.header_score", Severity: tlswarden.SeverityMedium, Outcome: tlswarden.RuleNotEvaluated, Message: "no HTTP facts"},
				{RuleID: "tls.version.no_ssl", Severity: tlswarden.SeverityCritical, Outcome: tlswarden.RulePass},
			},
		}},
	}
	var out bytes.Buffer
	if err := writeTable(&out, r, ev); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"nhs-internet-first 2.01: compliance unknown",
		"T (score 93", "A if the certificate were trusted",
		"WAIVED", "critical tls.version.min: accepts TLSv1.0", "waiver until 2027-01-31: kiosks",
		"WARN", "medium cipher.aead_only: CBC",
		"INFO", "info cert.ocsp_stapled: no staple",
		"NOT EVALUATED", "http.hsts, http.header_score: no HTTP facts",
		"1 other rules passed",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestScanNoGroups: --no-groups scans without group enumeration: versions
// and suites are there, groups are not, and fewer connections are made.
func TestScanNoGroups(t *testing.T) {
	conns := func(args ...string) (n int, groups int) {
		t.Helper()
		_, stdout, stderr := runCmd(t, "", append([]string{"scan", "--json", "--progress=false", "--no-http", "--demo"}, args...)...)
		sc := bufio.NewScanner(strings.NewReader(stdout))
		sc.Buffer(nil, 1<<20)
		reports := 0
		for sc.Scan() {
			var r tlswarden.Report
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("line is not a JSON report: %v\n%s", err, sc.Text())
			}
			reports++
			for _, e := range r.Endpoints {
				if e.Service != nil && !e.Service.StartTLS {
					continue // the testbed's mail server without STARTTLS: no TLS at all
				}
				if e.TLS == nil {
					t.Fatalf("%s: no TLS result; stderr:\n%s", r.Target, stderr)
				}
				n += e.TLS.Connections
				groups += len(e.TLS.Groups)
			}
		}
		if reports == 0 {
			t.Fatalf("no reports; stderr:\n%s", stderr)
		}
		return n, groups
	}
	fullConns, fullGroups := conns()
	leanConns, leanGroups := conns("--no-groups")
	if fullGroups == 0 || leanGroups != 0 {
		t.Errorf("groups listed: %d with enumeration, %d without; want some, then none", fullGroups, leanGroups)
	}
	if leanConns >= fullConns {
		t.Errorf("TLS connections: %d without group enumeration, %d with; want fewer", leanConns, fullConns)
	}
}
