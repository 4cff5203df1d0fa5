package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden/store"
)

func writeTestFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func listTargets(t *testing.T, dir string) []store.Target {
	t.Helper()
	code, out, errOut := runCmd(t, "", "targets", "list", "--json", "--data-dir", dir)
	if code != exitOK {
		t.Fatalf("targets list: exit %d: %s", code, errOut)
	}
	var ts []store.Target
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		t.Fatalf("targets list --json: %v\n%s", err, out)
	}
	return ts
}

func TestTargetsImport(t *testing.T) {
	dir := t.TempDir()
	good := writeTestFile(t, dir, "good.yaml", `
targets:
  - host: www.example.org
    owner: web
    tags: [prod, PCI]
  - host: api.example.org:8443
    enabled: false
    schedule: "0 4 * * *"
`)
	code, out, errOut := runCmd(t, "", "targets", "import", "--data-dir", dir, good)
	if code != exitOK || !strings.Contains(out, "2 added, 0 changed, 0 unchanged") {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	ts := listTargets(t, dir)
	if len(ts) != 2 || ts[0].Host != "api.example.org" || ts[0].Port != 8443 || ts[0].Enabled || ts[0].Schedule != "0 4 * * *" ||
		ts[1].Host != "www.example.org" || ts[1].Port != 443 || !ts[1].Enabled || !cmp.Equal(ts[1].Tags, []string{"pci", "prod"}) {
		t.Errorf("imported targets: %+v", ts)
	}

	// A list at the top level works too; one row changes.
	changed := writeTestFile(t, dir, "changed.yaml", `
- host: www.example.org
  owner: web-team
  tags: [prod, pci]
- {host: api.example.org, port: 8443, enabled: false, schedule: "0 4 * * *"}
`)
	code, out, _ = runCmd(t, "", "targets", "import", "--data-dir", dir, changed)
	if code != exitOK || !strings.Contains(out, "0 added, 1 changed, 1 unchanged") || !strings.Contains(out, "changed") {
		t.Errorf("second import: exit %d\n%s", code, out)
	}

	// Bad rows: each reported with its line and reason, nothing imported.
	bad := writeTestFile(t, dir, "bad.yaml", `targets:
  - host: new.example.org
  - host: "bad host!"
  - port: 443
  - host: x.example.org
    colour: red
  - host: y.example.org
    port: 99999
  - host: www.example.org
    tags: ["a b"]
`)
	code, _, errOut = runCmd(t, "", "targets", "import", "--data-dir", dir, bad)
	if code != exitNotScanned {
		t.Errorf("bad import: exit %d, want %d", code, exitNotScanned)
	}
	for _, want := range []string{"bad.yaml:3: ", "bad.yaml:4: host: required", `bad.yaml:5: unknown key "colour"`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("bad import's errors lack %q:\n%s", want, errOut)
		}
	}
	if ts := listTargets(t, dir); len(ts) != 2 {
		t.Errorf("a bad import left %d targets, want the 2 of before", len(ts))
	}
	// Rows the store refuses are reported by line as well.
	refused := writeTestFile(t, dir, "refused.yaml", `targets:
  - host: new.example.org
  - host: y.example.org
    port: 99999
  - host: www.example.org
    tags: ["a b"]
  - host: new.example.org
`)
	code, _, errOut = runCmd(t, "", "targets", "import", "--data-dir", dir, refused)
	for _, want := range []string{"refused.yaml:3: port:", "refused.yaml:5: tags:", "refused.yaml:7: host: new.example.org:443 repeats row 1"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("refused import's errors lack %q:\n%s", want, errOut)
		}
	}
	if code != exitNotScanned || len(listTargets(t, dir)) != 2 {
		t.Errorf("refused import: exit %d; targets must be left alone", code)
	}
	code, _, errOut = runCmd(t, "", "targets", "import", "--data-dir", dir, writeTestFile(t, dir, "empty.yaml", ""))
	if code != exitNotScanned || !strings.Contains(errOut, "empty file") {
		t.Errorf("empty file: exit %d: %s", code, errOut)
	}
}

func TestTargetsAddListRm(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCmd(t, "", "targets", "add", "--data-dir", dir, "--owner", "web", "--tag", "prod,pci", "www.example.org", "mail.example.org:465")
	if code != exitOK || strings.Count(out, "added") != 2 {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "", "targets", "add", "--data-dir", dir, "www.example.org")
	if code != exitFailed || !strings.Contains(errOut, "conflict") {
		t.Errorf("adding a target twice: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCmd(t, "", "targets", "add", "--data-dir", dir, "gopher://www.example.org")
	if code != exitNotScanned || !strings.Contains(errOut, "unknown URL scheme") {
		t.Errorf("adding an unknown scheme: exit %d: %s", code, errOut)
	}
	code, out, _ = runCmd(t, "", "targets", "list", "--data-dir", dir, "--tag", "pci")
	if code != exitOK || !strings.Contains(out, "smtps://mail.example.org:465") || !strings.Contains(out, "www.example.org:443") {
		t.Errorf("list:\n%s", out)
	}
	code, out, _ = runCmd(t, "", "targets", "rm", "--data-dir", dir, "www.example.org")
	if code != exitOK || !strings.Contains(out, "removed") {
		t.Errorf("rm: exit %d\n%s", code, out)
	}
	code, _, errOut = runCmd(t, "", "targets", "rm", "--data-dir", dir, "www.example.org")
	if code != exitNotScanned || !strings.Contains(errOut, "not found") {
		t.Errorf("rm of a missing target: exit %d: %s", code, errOut)
	}
	ts := listTargets(t, dir)
	if len(ts) != 1 || ts[0].Host != "mail.example.org" {
		t.Fatalf("after rm: %+v", ts)
	}
	// Asking for a scan queues it for a serve or worker to run.
	code, out, errOut = runCmd(t, "", "targets", "scan", "--data-dir", dir, "mail.example.org:465")
	if code != exitOK || !strings.Contains(out, "queued (available)") {
		t.Errorf("scan: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "", "targets", "scan", "--data-dir", dir, "mail.example.org:465")
	if code != exitOK || !strings.Contains(out, "already queued") {
		t.Errorf("second scan request: exit %d\n%s", code, out)
	}
	// --all asks for every enabled target; the one already queued keeps
	// its job.
	code, out, errOut = runCmd(t, "", "targets", "scan", "--data-dir", dir, "--all")
	if code != exitOK || !strings.Contains(out, "queued 0 scans") {
		t.Errorf("scan --all: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "", "targets", "scan", "--data-dir", dir, "--all", "mail.example.org:465")
	if code != exitNotScanned || !strings.Contains(errOut, "--all takes no targets") {
		t.Errorf("scan --all with a target: exit %d: %s", code, errOut)
	}
	code, out, errOut = runCmd(t, "", "migrate", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, "schema up to date") {
		t.Errorf("migrate: exit %d\n%s%s", code, out, errOut)
	}
}
