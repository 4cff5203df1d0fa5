package tlswarden

import (
	"encoding/json"
	"testing"
	"time"
)

func TestSeverity(t *testing.T) {
	for _, name := range []string{"info", "low", "medium", "high", "critical"} {
		s, err := ParseSeverity(name)
		if err != nil || s.String() != name {
			t.Errorf("%s: got %v, %v", name, s, err)
		}
	}
	if s, err := ParseSeverity("HIGH"); err != nil || s != SeverityHigh {
		t.Errorf("case-insensitive parse: %v %v", s, err)
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Errorf("accepted an unknown severity")
	}
	if !(SeverityInfo < SeverityLow && SeverityLow < SeverityMedium && SeverityMedium < SeverityHigh && SeverityHigh < SeverityCritical) {
		t.Errorf("severities out of order")
	}
	var f Finding
	if err := json.Unmarshal([]byte(`{"rule":"x","severity":"critical","outcome":"fail"}`), &f); err != nil || f.Severity != SeverityCritical {
		t.Errorf("JSON round trip: %+v %v", f, err)
	}
}

func TestFindingCounts(t *testing.T) {
	tests := []struct {
		f    Finding
		want bool
	}{
		{Finding{Severity: SeverityHigh, Outcome: RuleFail}, true},
		{Finding{Severity: SeverityCritical, Outcome: RuleFail}, true},
		{Finding{Severity: SeverityMedium, Outcome: RuleFail}, false},
		{Finding{Severity: SeverityHigh, Outcome: RuleFail, Waived: true}, false},
		{Finding{Severity: SeverityHigh, Outcome: RuleNotEvaluated}, false},
	}
	for _, tc := range tests {
		if got := tc.f.Counts(SeverityHigh); got != tc.want {
			t.Errorf("%+v: counts %v, want %v", tc.f, got, tc.want)
		}
	}
}

func TestWaiver(t *testing.T) {
	w := Waiver{Target: "www.example.nhs.uk", Rule: "tls.version.min", Expires: time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)}
	if !w.Active(time.Date(2026, 9, 30, 23, 59, 59, 0, time.UTC)) || w.Active(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("a waiver holds through its last day and no longer")
	}
	if !w.Covers(Target{Host: "www.example.nhs.uk", Port: 8443}) || w.Covers(Target{Host: "example.nhs.uk", Port: 443}) {
		t.Errorf("a host waiver covers every port of that host only")
	}
	w.Target = "www.example.nhs.uk:443"
	if !w.Covers(Target{Host: "www.example.nhs.uk", Port: 443}) || w.Covers(Target{Host: "www.example.nhs.uk", Port: 8443}) {
		t.Errorf("a host:port waiver covers that port only")
	}
}

func TestComplianceWorse(t *testing.T) {
	if Compliant.Worse(ComplianceUnknown) != ComplianceUnknown || ComplianceUnknown.Worse(NonCompliant) != NonCompliant ||
		NonCompliant.Worse(Compliant) != NonCompliant || Compliant.Worse(Compliant) != Compliant {
		t.Errorf("Worse does not order non_compliant > unknown > compliant")
	}
}
