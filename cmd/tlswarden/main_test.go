package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--demo")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	byPort := map[int]*tlswarden.Report{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r tlswarden.Report
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line is not a JSON report: %v\n%s", err, sc.Text())
		}
		if r.Schema != tlswarden.ReportSchema {
			t.Errorf("schema %q", r.Schema)
		}
		byPort[r.Target.Port] = &r
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
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{`testbed endpoint "legacy"`, "TLSv1.0", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "server preference", "groups"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
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
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
	}{
		{"no targets", []string{"scan"}, "", "no targets"},
		{"malformed name", []string{"scan", "exa mple.org"}, "", "not a letter"},
		{"bad port", []string{"scan", "example.org:99999"}, "", "port must be"},
		{"url", []string{"scan", "https://example.org/"}, "", "not a URL"},
		{"bad line in file", []string{"scan", "-f", file}, "", "targets.txt:3"},
		{"bad line on stdin", []string{"scan", "-f", "-"}, "ok.example\n-bad-.example\n", "-:2"},
		{"refused", []string{"scan", "--progress=false", closed}, "", ""},
		{"unknown command", []string{"frobnicate"}, "", "unknown command"},
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
