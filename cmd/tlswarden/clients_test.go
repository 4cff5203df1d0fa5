package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// writeProfileFile writes a custom profile requiring the clients ids.
func writeProfileFile(t *testing.T, ids string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clients.yaml")
	body := "name: estate-clients\nextends: nhs-internet-first\nparams:\n  required_clients: [" + ids + "]\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestScanRequiredClients scans a TLS 1.2-only ECDHE-RSA-AES-GCM server
// (Debian's OpenSSL, RSA certificate) under a profile that requires IE 11
// on Windows 7 and Chrome 101: the scan is non-compliant, the finding
// names IE 11 and why, not Chrome, and the report carries every client's
// answer.
func TestScanRequiredClients(t *testing.T) {
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12},
		Cipher: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", ServerPref: true})
	profile := writeProfileFile(t, "ie_11_win7, chrome_101_win10")
	code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--no-http", "--no-vulns", "--profile", profile, "--allow-cidr", "127.0.0.1", addr.String())
	var r struct {
		tlswarden.Report
		Evaluation *tlswarden.Evaluation `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &r); err != nil || r.Evaluation == nil || len(r.Evaluation.Endpoints) != 1 {
		t.Fatalf("no evaluated report (%v); stdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	if code != exitNonCompliant {
		t.Errorf("exit %d, want %d", code, exitNonCompliant)
	}
	cr := r.Endpoints[0].Clients
	if ie := cr.Client("ie_11_win7"); ie == nil || ie.Connects || ie.Reason != tlswarden.ClientNoSuite {
		t.Errorf("IE 11 Win 7 in the report: %+v", ie)
	}
	if ch := cr.Client("chrome_101_win10"); ch == nil || !ch.Connects || ch.Version != tlswarden.TLS12 {
		t.Errorf("Chrome 101 in the report: %+v", ch)
	}
	if got := r.Evaluation.Profile.RequiredClients; len(got) != 2 {
		t.Errorf("evaluation's profile record: required %v", got)
	}
	var found bool
	for _, f := range r.Evaluation.Endpoints[0].Findings {
		if f.RuleID != "clients.required_connect" {
			continue
		}
		found = true
		if f.Outcome != tlswarden.RuleFail || !strings.Contains(f.Message, "IE 11 Win 7 (ie_11_win7): no cipher suite in common") || strings.Contains(f.Message, "Chrome") {
			t.Errorf("clients.required_connect: %s %q", f.Outcome, f.Message)
		}
	}
	if !found {
		t.Error("no clients.required_connect finding")
	}
}

// TestProfileUnknownClient: a required client that is not in the list
// stops the command with the ID named.
func TestProfileUnknownClient(t *testing.T) {
	profile := writeProfileFile(t, "ie_11_win7, ie_12_win7")
	code, _, stderr := runCmd(t, "", "scan", "--profile", profile, "127.0.0.1:1")
	if code != exitNotScanned || !strings.Contains(stderr, `"ie_12_win7" not in the client list`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestClientsCommand lists the default clients, and every client with -all.
func TestClientsCommand(t *testing.T) {
	_, def, _ := runCmd(t, "", "clients")
	_, all, _ := runCmd(t, "", "clients", "-all")
	if !strings.Contains(def, "ie_11_win7") || strings.Contains(def, "java_6u45") || !strings.Contains(all, "java_6u45") || !strings.Contains(def, "testssl.sh 3.0.8") {
		t.Errorf("clients:\n%s\nclients -all:\n%s", def, all)
	}
}

// TestScanTableClients: the table groups the clients that connect by what
// they negotiate and names each that does not, with why, against a TLS
// 1.0 server (Debian's OpenSSL) that IE 11 on Windows 7 reaches and
// Chrome 101 does not.
func TestScanTableClients(t *testing.T) {
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS10}, Cipher: "DEFAULT:@SECLEVEL=0"})
	_, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--no-http", "--no-vulns", "--allow-cidr", "127.0.0.1", addr.String())
	var ieLine, chromeLine, summary bool
	for _, line := range strings.Split(stdout, "\n") {
		ieLine = ieLine || strings.Contains(line, "TLSv1.0 TLS_") && strings.Contains(line, "IE 11 Win 7")
		chromeLine = chromeLine || strings.Contains(line, "Chrome 101 (Win 10) ") && strings.Contains(line, "NO: the client speaks TLSv1.2 to TLSv1.3")
		summary = summary || strings.HasPrefix(line, "  clients ") && strings.Contains(line, "simulated clients connect")
	}
	if !ieLine || !chromeLine || !summary {
		t.Errorf("IE 11 Win 7 on a TLSv1.0 line %v, Chrome 101 failing %v, a summary %v:\n%s\nstderr:\n%s", ieLine, chromeLine, summary, stdout, stderr)
	}
}

// TestProfilesShowsRequiredClients: `tlswarden profiles FILE` lists the
// profile's required clients.
func TestProfilesShowsRequiredClients(t *testing.T) {
	code, stdout, stderr := runCmd(t, "", "profiles", writeProfileFile(t, "ie_11_win7, android_442"))
	if code != exitOK || !strings.Contains(stdout, "required_clients: ie_11_win7, android_442") || !strings.Contains(stdout, "clients.required_connect") {
		t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
	}
}
