package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
)

// legacyReport is a report of the lab's legacy server (TLS 1.0, RC4,
// 3DES), as scan --json saved it.
const legacyReport = "../../policy/testdata/lab/legacy.report.json"

func TestEvaluate(t *testing.T) {
	raw, err := os.ReadFile(legacyReport)
	if err != nil {
		t.Fatal(err)
	}
	// A waiver of every rule mozilla-old fails the legacy server on, lapsing
	// the day after the scan: compliant as of the scan, not two days on.
	var rep tlswarden.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	old, _ := policy.Builtin("mozilla-old")
	ev := policy.Evaluate(&rep, old, policy.Options{})
	yaml := "name: waived\nextends: mozilla-old\nwaivers:\n"
	for _, f := range ev.Endpoints[0].Findings {
		if f.Counts(old.FailAt) {
			yaml += fmt.Sprintf("  - target: %s\n    rule: %s\n    reason: vendor appliance\n    expires: %s\n", rep.Target.Host, f.RuleID, rep.Finished.AddDate(0, 0, 1).Format("2006-01-02"))
		}
	}
	waived := writeFile(t, "waived.yaml", yaml)
	// The same waivers as a file of their own, applied with another profile.
	waiversOnly := writeFile(t, "waivers.yaml", yaml[strings.Index(yaml, "waivers:"):])
	waiverList := writeFile(t, "list.yaml", strings.ReplaceAll(yaml[strings.Index(yaml, "waivers:\n")+len("waivers:"):], "\n  ", "\n"))
	noWaivers := writeFile(t, "none.yaml", "")
	badWaiver := writeFile(t, "bad.yaml", "waivers:\n  - target: "+rep.Target.Host+"\n    rule: no.such.rule\n    reason: x\n    expires: 2030-01-01\n")
	later := rep.Finished.AddDate(0, 0, 3).Format(time.RFC3339)
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
		{"waiver lapsed since", "", []string{"evaluate", "--profile", waived, "--at", later, legacyReport}, exitNonCompliant, []string{"NON-COMPLIANT"}},
		{"waivers file", "", []string{"evaluate", "--profile", "mozilla-old", "--waivers", waiversOnly, "--at", "scan", legacyReport}, exitOK, []string{"mozilla-old 5.7: compliant", "WAIVED"}},
		{"waivers file as a bare list", "", []string{"evaluate", "--profile", "mozilla-old", "--waivers", waiverList, "--at", "scan", legacyReport}, exitOK, []string{"mozilla-old 5.7: compliant", "WAIVED"}},
		{"empty waivers file replaces the profile's", "", []string{"evaluate", "--profile", waived, "--waivers", noWaivers, "--at", "scan", legacyReport}, exitNonCompliant, []string{"NON-COMPLIANT"}},
		{"waiver of an unknown rule", "", []string{"evaluate", "--waivers", badWaiver, legacyReport}, exitNotScanned, []string{"bad.yaml:3:", `rule "no.such.rule"`}},
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
	var rep0 tlswarden.Report
	if err := json.Unmarshal(raw, &rep0); err != nil {
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
		if r.Evaluation.Profile.Name != "ncsc" || r.Target.String() != rep0.Target.String() || len(r.Evaluation.Endpoints) != 1 {
			t.Errorf("line judged as %q for %s with %d endpoint evaluations", r.Evaluation.Profile.Name, r.Target, len(r.Evaluation.Endpoints))
		}
	}
}
