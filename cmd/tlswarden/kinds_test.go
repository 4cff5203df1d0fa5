package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// nonHTTPServer starts openssl s_server without -www (TLS 1.2 and 1.3,
// AEAD suites, a chain from a CA written to a file) and returns its
// address and the CA file.
func nonHTTPServer(t *testing.T) (addr, caFile string) {
	t.Helper()
	ca := tlstest.NewCA(t, "kinds CA")
	leaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	dir := t.TempDir()
	caFile, _ = ca.Cert.WritePEM(t, dir)
	ap := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{
		Cert: leaf, Interactive: true,
		Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13},
		Cipher:   "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305",
	})
	return ap.String(), filepath.Clean(caFile)
}

// TestScanKindTLS: a sound TLS service that speaks no HTTP, named tls://,
// is compliant (exit 0) with the HTTP rules not applicable; named as
// https, the same server is unknown (exit 2) because the HTTP facts are
// missing; with --no-http the verdict is compliant but says, in the table
// and the JSON, which rules were skipped at the user's request.
func TestScanKindTLS(t *testing.T) {
	addr, caFile := nonHTTPServer(t)
	base := []string{"scan", "--progress=false", "--ca-file", caFile, "--timeout", "10s"}

	code, stdout, stderr := runCmd(t, "", append(base, "--json", "tls://"+addr)...)
	if code != exitOK {
		t.Fatalf("tls://%s: exit %d, want %d\n%s\n%s", addr, code, exitOK, stdout, stderr)
	}
	var r reportJSON
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if r.Target.Kind != tlswarden.KindTLS || r.Evaluation.Compliance != tlswarden.Compliant || len(r.Evaluation.Skipped) != 0 {
		t.Errorf("tls://: kind %s, compliance %s, skipped %v", r.Target.Kind, r.Evaluation.Compliance, r.Evaluation.Skipped)
	}
	for _, p := range r.Endpoints[0].Probes {
		if p.Name == "http" {
			t.Errorf("the HTTP probe ran on a tls target: %+v", p)
		}
	}

	if code, stdout, _ = runCmd(t, "", append(base, addr)...); code != exitNotScanned {
		t.Errorf("https %s without HTTP: exit %d, want %d\n%s", addr, code, exitNotScanned, stdout)
	}

	code, stdout, stderr = runCmd(t, "", append(base, "--no-http", addr)...)
	if code != exitOK || !strings.Contains(stdout, "compliant, covering TLS and the certificate only: 4 rules skipped at your request") {
		t.Errorf("--no-http: exit %d, want %d and the skipped rules beside the verdict\n%s\n%s", code, exitOK, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "", append(base, "--no-http", "--json", addr)...)
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || code != exitOK {
		t.Fatalf("--no-http --json: exit %d, %v", code, err)
	}
	if !slices.Contains(r.Evaluation.Skipped, "http.hsts") || !slices.Contains(r.Evaluation.Endpoints[0].Skipped, "http.hsts") {
		t.Errorf("--no-http --json: skipped %v / %v, want the HTTP rules", r.Evaluation.Skipped, r.Evaluation.Endpoints[0].Skipped)
	}
}

// TestScanKindFromPort: a bare host:port on a kind's well-known port is
// scanned as that kind, and stderr says so.
func TestScanKindFromPort(t *testing.T) {
	var notes []string
	ts, err := readTargets([]string{"127.0.0.1:993", "example.org:8443", "smtps://example.org"}, "", nil, func(n string) { notes = append(notes, n) })
	if err != nil {
		t.Fatal(err)
	}
	kinds := []tlswarden.Kind{ts[0].Kind, ts[1].Kind, ts[2].Kind}
	if !slices.Equal(kinds, []tlswarden.Kind{tlswarden.KindIMAPS, tlswarden.KindHTTPS, tlswarden.KindSMTPS}) {
		t.Errorf("kinds %v", kinds)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "imaps://127.0.0.1:993") || !strings.Contains(notes[0], "https://127.0.0.1:993") {
		t.Errorf("notes %q, want one naming imaps:// and how to ask for https://", notes)
	}
}

// TestTargetsYAMLKinds: the import reads a kind from a URL host, a kind
// field or a well-known port, and refuses a scheme and a kind or port that
// disagree.
func TestTargetsYAMLKinds(t *testing.T) {
	rows, _, err := parseTargetsYAML("t.yaml", []byte(`
- host: smtps://mx.example.org
- host: tls://dir.example.org:8636
- host: pop.example.org
  port: 995
- host: web.example.org:995
  kind: https
- host: db.example.org
  port: 7000
  kind: TLS
- host: www.example.org
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Target.URL())
	}
	want := []string{"smtps://mx.example.org:465", "tls://dir.example.org:8636", "pop3s://pop.example.org:995",
		"https://web.example.org:995", "tls://db.example.org:7000", "https://www.example.org:443"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	_, _, err = parseTargetsYAML("t.yaml", []byte(`
- host: tls://x.example.org:8443
  kind: https
- host: smtps://x.example.org
  port: 25
- host: x.example.org
  kind: gopher
`))
	for _, msg := range []string{"t.yaml:2: host \"tls://x.example.org:8443\" names kind tls but kind says https", "t.yaml:4: host \"smtps://x.example.org\" names port 465 but port says 25", "t.yaml:6: unknown kind"} {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("error %v, want %q", err, msg)
		}
	}
}

// smtpServer serves SMTP on loopback, written from RFC 5321 and 3207 in
// test code: its greeting and EHLO, STARTTLS when offer is set, then a
// crypto/tls handshake with cfg. implicit serves the same cfg as SMTPS
// (TLS on connect) on a second port.
func smtpServer(t *testing.T, cfg *tls.Config, offer bool) (starttls, implicit string) {
	t.Helper()
	starttls = tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		io.WriteString(c, "220 mx.test ESMTP\r\n")
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(l)); {
			case strings.HasPrefix(cmd, "EHLO"):
				if offer {
					io.WriteString(c, "250-mx.test\r\n250-STARTTLS\r\n")
				}
				io.WriteString(c, "250 8BITMIME\r\n")
			case cmd == "STARTTLS" && offer:
				io.WriteString(c, "220 2.0.0 Ready to start TLS\r\n")
				_ = tls.Server(c, cfg).HandshakeContext(ctx)
				return
			default:
				io.WriteString(c, "502 5.5.2 Error: command not recognized\r\n")
			}
		}
	}).String()
	implicit = tlstest.GoServer(t, cfg).String()
	return starttls, implicit
}

// TestScanSTARTTLS scans one TLS configuration over SMTP STARTTLS and as
// SMTPS: the versions and suites found are the same, and the report holds
// what the server said before TLS. A server that does not offer STARTTLS
// is non-compliant (exit 1) with starttls.offered failed, not an error.
func TestScanSTARTTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "mail CA")
	leaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, MinVersion: tls.VersionTLS10,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	starttls, implicit := smtpServer(t, cfg, true)
	base := []string{"scan", "--progress=false", "--json", "--ca-file", caFile, "--timeout", "10s"}
	scan := func(target string) (int, reportJSON) {
		code, stdout, stderr := runCmd(t, "", append(base, target)...)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return code, r
	}
	_, over := scan("smtp://" + starttls)
	_, direct := scan("smtps://" + implicit)
	e := over.Endpoints[0]
	if e.Status != tlswarden.StatusOK || e.Service == nil || !e.Service.StartTLS || e.Service.Banner != "mx.test ESMTP" ||
		!slices.Contains(e.Service.Capabilities, "STARTTLS") {
		t.Fatalf("smtp: status %s %s, service %+v", e.Status, e.Error, e.Service)
	}
	if got, want := versionSuites(e.TLS), versionSuites(direct.Endpoints[0].TLS); !slices.Equal(got, want) || len(got) < 4 {
		t.Errorf("over STARTTLS %v, over implicit TLS %v: want the same, at least 4", got, want)
	}
	if e.Cert == nil || len(e.Cert.Chain) == 0 {
		t.Errorf("no certificate over STARTTLS: %+v", e.Probes)
	}

	plain, _ := smtpServer(t, cfg, false)
	code, r := scan("smtp://" + plain)
	if code != exitNonCompliant || r.Endpoints[0].Status != tlswarden.StatusOK || r.Endpoints[0].Service == nil || r.Endpoints[0].Service.StartTLS {
		t.Errorf("no STARTTLS: exit %d, status %s, service %+v; want exit 1, ok, starttls false", code, r.Endpoints[0].Status, r.Endpoints[0].Service)
	}
	for _, f := range r.Evaluation.Endpoints[0].Findings {
		if f.RuleID == "starttls.offered" && f.Outcome != tlswarden.RuleFail {
			t.Errorf("starttls.offered %s: %s", f.Outcome, f.Message)
		}
	}
}

// versionSuites lists "version suite" for every suite accepted.
func versionSuites(tr *tlswarden.TLSResult) []string {
	if tr == nil {
		return nil
	}
	var out []string
	for _, v := range tr.Versions {
		for _, s := range v.Suites {
			out = append(out, v.Version.String()+" "+s.Name)
		}
	}
	return out
}

// TestScanTableService: the table says what the server said before TLS,
// and that a server does not offer STARTTLS.
func TestScanTableService(t *testing.T) {
	cfg := &tls.Config{Certificates: []tls.Certificate{tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()}}
	plain, _ := smtpServer(t, cfg, false)
	code, stdout, _ := runCmd(t, "", "scan", "--progress=false", "smtp://"+plain)
	for _, want := range []string{"smtp://" + plain, "STARTTLS NOT OFFERED", "banner", "mx.test ESMTP", "FAIL", "starttls.offered"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q (exit %d):\n%s", want, code, stdout)
		}
	}
}
