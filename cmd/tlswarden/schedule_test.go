package main

import (
	"strings"
	"testing"
)

// Schedules are checked when written, from the command line and from a
// YAML import alike, with an error that says what is accepted.
func TestTargetSchedulesChecked(t *testing.T) {
	dir := t.TempDir()
	for _, bad := range []string{"99 99 99 99 99", "@bogus", "@every 30s"} {
		code, _, errOut := runCmd(t, "", "targets", "add", "--data-dir", dir, "--schedule", bad, "www.example.org")
		if code != exitNotScanned || !strings.Contains(errOut, "schedule") {
			t.Errorf("add --schedule %q: exit %d: %s", bad, code, errOut)
		}
		file := writeTestFile(t, dir, "bad.yaml", "- host: www.example.org\n  schedule: \""+bad+"\"\n")
		code, _, errOut = runCmd(t, "", "targets", "import", "--data-dir", dir, file)
		if code != exitNotScanned || !strings.Contains(errOut, "bad.yaml:1: schedule:") {
			t.Errorf("import of schedule %q: exit %d: %s", bad, code, errOut)
		}
	}
	code, _, errOut := runCmd(t, "", "targets", "add", "--data-dir", dir, "--schedule", "@every 6h", "www.example.org")
	if code != exitOK {
		t.Fatalf("add --schedule '@every 6h': exit %d: %s", code, errOut)
	}
	if ts := listTargets(t, dir); len(ts) != 1 || ts[0].Schedule != "@every 6h" {
		t.Errorf("targets: %+v", ts)
	}
}

// YAML refuses port 0 as the API does, rather than taking it for 443.
func TestTargetsImportPortZero(t *testing.T) {
	dir := t.TempDir()
	file := writeTestFile(t, dir, "zero.yaml", "- host: www.example.org\n  port: 0\n- host: api.example.org\n")
	code, _, errOut := runCmd(t, "", "targets", "import", "--data-dir", dir, file)
	if code != exitNotScanned || !strings.Contains(errOut, "zero.yaml:1: port: must be from 1 to 65535, not 0") {
		t.Errorf("import of port 0: exit %d: %s", code, errOut)
	}
	if ts := listTargets(t, dir); len(ts) != 0 {
		t.Errorf("a refused import left %+v", ts)
	}
}
