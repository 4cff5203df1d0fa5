package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// legacyReport is a report of the lab's legacy server (TLS 1.0, RC4,
// 3DES), as scan --json saved it.
const legacyReport = "../../policy/testdata/lab/legacy.report.json"

func TestEvaluate(t *testing.T) {
	raw, err := os.ReadFile(legacyReport)
	if err != nil {
		t.Fatal(err)
	}
	// mozilla-old fails the legacy server on two high rules only (its
	// suites are outside the list, and one is RC4); waivers lapsing between
	// the scan (2026-11-25) and today take them away.
	waived := writeFile(t, "waived.yaml", "name: waived\nextends: mozilla-old\nwaivers:\n"+
		"  - target: 127.0.0.1\n    rule: cipher.tls12_allowlist\n    reason: vendor appliance\n    expires: 2026-12-01\n"+
		"  - target: 127.0.0.1\n    rule: vuln.rc4\n    reason: vendor appliance\n    expires: 2026-12-01\n")
	wrapped := writeFile(t, "result.json", `{"report": `+string(raw)+`, "evaluation": null, "events": []}`)
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
	}{
		{"default profile", "", []string{"evaluate", legacyReport}, exitNonCompliant, []string{"nhs-internet-first 2.01: NON-COMPLIANT", "FAIL", "tls.version.min"}},
		{"another profile", "", []string{"evaluate", "--profile", "mozilla-old", legacyReport}, exitNonCompliant, []string{"mozilla-old 5.7: NON-COMPLIANT", "cipher.tls12_allowlist"}},
		{"waiver as of the scan", "", []string{"evaluate", "--profile", waived, "--at", "scan", legacyReport}, exitOK, []string{"waived custom: compliant", "WAIVED"}},
		{"waiver lapsed since", "", []string{"evaluate", "--profile", waived, "--at", "2026-12-02T00:00:00Z", legacyReport}, exitNonCompliant, []string{"NON-COMPLIANT"}},
		{"stored scan result on stdin", `{"report": ` + string(raw) + `}`, []string{"evaluate", "-"}, exitNonCompliant, []string{"tls.version.min"}},
		{"stored scan result file", "", []string{"evaluate", wrapped}, exitNonCompliant, []string{"tls.version.min"}},
		{"not a report", `{"schema": "other/v9"}`, []string{"evaluate", "-"}, exitNotScanned, []string{`schema "other/v9"`}},
		{"bad --at", "", []string{"evaluate", "--at", "yesterday", legacyReport}, exitNotScanned, []string{"--at \"yesterday\""}},
		{"no report", "", []string{"evaluate"}, exitNotScanned, []string{"Usage: tlswarden evaluate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.stdin, tc.args...)
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

func TestEvaluateJSONLines(t *testing.T) {
	raw, err := os.ReadFile(legacyReport)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		t.Fatal(err)
	}
	lines := compact.String() + "\n" + compact.String() + "\n"
	code, stdout, stderr := runCmd(t, lines, "evaluate", "--json", "--profile", "ncsc", "-")
	if code != exitNonCompliant {
		t.Fatalf("exit %d; stderr %s", code, stderr)
	}
	out := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(out) != 2 {
		t.Fatalf("%d lines out for 2 reports in:\n%s", len(out), stdout)
	}
	for _, l := range out {
		var r struct {
			tlswarden.Report
			Evaluation tlswarden.Evaluation `json:"evaluation"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Evaluation.Profile.Name != "ncsc" || r.Target.Port != 35401 || len(r.Evaluation.Endpoints) != 1 {
			t.Errorf("line judged as %q for %s with %d endpoint evaluations", r.Evaluation.Profile.Name, r.Target, len(r.Evaluation.Endpoints))
		}
	}
}
