package main

import (
	"bytes"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/scanner"
)

// TestServeHTTPSPassesItsOwnPolicy serves the API over HTTPS with
// --tls-cert and --tls-key, scans that listener with the real probes and
// judges it with mozilla-intermediate: tlswarden must pass the checks it
// makes of others, headers included.
func TestServeHTTPSPassesItsOwnPolicy(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "self-scan CA")
	certFile, keyFile := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).WritePEM(t, dir)

	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	err := m.ParseFlags([]string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--schedule", "off",
		"--tls-cert", certFile, "--tls-key", keyFile, "--log-level", "warn"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() { m.Close() })
	addr := m.ln.Addr().String()
	if m.URL() != "https://"+addr {
		t.Errorf("URL %s, want https://%s", m.URL(), addr)
	}

	sc, err := scanner.New(scanner.Config{Probes: []tlswarden.Probe{
		probes.TLS(probes.TLSConfig{Timeout: 5 * time.Second}),
		probes.Cert(probes.CertConfig{OrgRoots: []*x509.Certificate{ca.Cert.Cert}, Timeout: 10 * time.Second}),
		// Nothing listens on port 1: the plain-HTTP check passes.
		probes.HTTP(probes.HTTPConfig{Timeout: 5 * time.Second, PlainPort: 1}),
	}})
	if err != nil {
		t.Fatal(err)
	}
	target, err := tlswarden.ParseTarget(addr, 443)
	if err != nil {
		t.Fatal(err)
	}
	report := sc.Scan(t.Context(), target)
	if report.Status != tlswarden.StatusOK || len(report.Endpoints) != 1 {
		t.Fatalf("scan: %s %s, %d endpoints", report.Status, report.Error, len(report.Endpoints))
	}
	ep := report.Endpoints[0]
	if ep.HTTP == nil || ep.HTTP.StatusCode != http.StatusOK {
		t.Errorf("HTTP facts: %+v", ep.HTTP)
	}
	profile, _ := policy.Builtin("mozilla-intermediate")
	ev := policy.Evaluate(report, profile, policy.Options{})
	for _, f := range ev.Endpoints[0].Findings {
		if f.Outcome != tlswarden.RulePass && f.Outcome != tlswarden.RuleNotApplicable {
			t.Logf("%s %s %s: %s", f.Severity, f.Outcome, f.RuleID, f.Message)
		}
	}
	if ev.Compliance != tlswarden.Compliant {
		t.Errorf("serve's own HTTPS is %s under mozilla-intermediate, want compliant", ev.Compliance)
	}
	score := policy.ScoreHeaders(&ep)
	t.Logf("header score %d (%s)", score.Score, score.Grade)
	if score.Score < 90 {
		t.Errorf("header score %+v, want at least 90", score)
	}
}
