package main

import (
	"os"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
)

// FuzzReadReports feeds evaluate's reader any bytes: it returns reports of
// the current schema or an error, never panics, and whatever it returns
// can be judged.
func FuzzReadReports(f *testing.F) {
	raw, err := os.ReadFile(legacyReport)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(raw))
	f.Add(`{"report": ` + string(raw) + `}`)
	f.Add(`{"schema": "tlswarden.report/v1"} {"schema": "tlswarden.report/v1", "endpoints": [{}]}`)
	f.Add(`[]`)
	p, _ := policy.Builtin(policy.DefaultProfile)
	f.Fuzz(func(t *testing.T, in string) {
		reps, err := readReports("-", strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range reps {
			if r.Schema != tlswarden.ReportSchema {
				t.Fatalf("accepted schema %q", r.Schema)
			}
			policy.Evaluate(r, p, policy.Options{})
		}
	})
}
