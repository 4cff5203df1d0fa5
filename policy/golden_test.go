package policy

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/lab")

// TestGolden evaluates the lab reports (captured from real loopback
// servers by testdata/lab/capture_test.go) and compares the whole
// evaluation with the default profile, and a summary under every
// built-in profile, with the golden files.
func TestGolden(t *testing.T) {
	reports, err := filepath.Glob("testdata/lab/*.report.json")
	if err != nil || len(reports) == 0 {
		t.Fatalf("no lab reports: %v", err)
	}
	var summary bytes.Buffer
	for _, path := range reports {
		name := strings.TrimSuffix(filepath.Base(path), ".report.json")
		r := readReport(t, path)
		ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
		got, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "testdata/lab/"+name+".golden", append(got, '\n'))
		for _, p := range Builtins() {
			fmt.Fprintln(&summary, summarise(name, Evaluate(r, p, Options{})))
		}
	}
	checkGolden(t, "testdata/lab/profiles.golden", summary.Bytes())
}

func readReport(t *testing.T, path string) *tlswarden.Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r tlswarden.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// summarise is one line per lab case and profile: compliance, grade and
// the rules that failed at or above the threshold.
func summarise(name string, ev tlswarden.Evaluation) string {
	e := ev.Endpoints[0]
	var failed []string
	for _, f := range e.Findings {
		if f.Counts(ev.Profile.FailAt) {
			failed = append(failed, f.RuleID)
		}
	}
	grade, headers := e.Grade.Letter, "-"
	if e.Headers != nil {
		headers = fmt.Sprintf("%s/%d", e.Headers.Grade, e.Headers.Score)
	}
	return fmt.Sprintf("%-18s %-20s %-13s grade %-2s headers %-6s %s", name, ev.Profile.Name, ev.Compliance, grade, headers, strings.Join(failed, " "))
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./policy -run TestGolden -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; rerun with -update if intended):\n%s", path, diff)
	}
}
