package history_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/store"
)

// withDrift adds the drift rule's outcome to every endpoint of r.
func withDrift(r *store.ScanResult, outcome tlswarden.RuleOutcome) *store.ScanResult {
	for i := range r.Evaluation.Endpoints {
		f := tlswarden.Finding{RuleID: "target.addresses_consistent", Severity: tlswarden.SeverityMedium, Outcome: outcome}
		if outcome == tlswarden.RuleFail {
			f.Message = "the other address differs in versions"
		}
		r.Evaluation.Endpoints[i].Findings = append(r.Evaluation.Endpoints[i].Findings, f)
	}
	return r
}

func TestCompareDrift(t *testing.T) {
	two := func(outcome tlswarden.RuleOutcome) *store.ScanResult {
		return withDrift(scan(ep{addr: a, versions: modern, grade: "A"}, ep{addr: b, versions: modern, grade: "A"}), outcome)
	}
	drifted := history.Details{Summary: "the addresses now serve different configurations on 2 endpoints", Rule: "target.addresses_consistent",
		Message: "the other address differs in versions", Endpoints: []string{"example.org@" + a, "example.org@" + b}}
	consistent := drifted
	consistent.Summary = "the addresses serve the same configuration again on 2 endpoints"
	tests := []struct {
		name      string
		prev, cur *store.ScanResult
		want      []event
	}{
		{"drift appears", two(tlswarden.RulePass), two(tlswarden.RuleFail), []event{{history.EventAddressesDrift, true, drifted}}},
		{"drift goes", two(tlswarden.RuleFail), two(tlswarden.RulePass), []event{{history.EventAddressesConsistent, false, consistent}}},
		{"drift stays", two(tlswarden.RuleFail), two(tlswarden.RuleFail), nil},
		{"not compared before", two(tlswarden.RuleNotApplicable), two(tlswarden.RuleFail), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, compare(t, tc.prev, tc.cur)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
