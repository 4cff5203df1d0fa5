package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestScanJudgesTLS12CurvesBehindTLS13: an OpenSSL server with TLS 1.2 and
// 1.3 accepts secp224r1 over TLS 1.2 only (TLS 1.3 does not allow it).
// The ECDH curve rule must see it: it fails, where it passed when the
// groups were enumerated over TLS 1.3 alone.
func TestScanJudgesTLS12CurvesBehindTLS13(t *testing.T) {
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{
		Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}, Cipher: "ECDHE-RSA-AES128-GCM-SHA256",
		Groups: "X25519:secp224r1:brainpoolP256r1"})
	_, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--no-http", "--allow-cidr", "127.0.0.1", addr.String())
	var r struct {
		tlswarden.Report
		Evaluation *tlswarden.Evaluation `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &r); err != nil || r.Evaluation == nil || len(r.Evaluation.Endpoints) != 1 {
		t.Fatalf("no evaluated report (%v); stdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	for _, f := range r.Evaluation.Endpoints[0].Findings {
		if f.RuleID != "kex.ecdh_min_bits" {
			continue
		}
		if f.Outcome != tlswarden.RuleFail || !strings.Contains(f.Message, "secp224r1") {
			t.Errorf("kex.ecdh_min_bits: %s %q, want fail naming secp224r1", f.Outcome, f.Message)
		}
		return
	}
	t.Errorf("no kex.ecdh_min_bits finding")
}

// TestScanTableGroupsPerVersion: the table lists the groups of each
// protocol generation on a line of its own.
func TestScanTableGroupsPerVersion(t *testing.T) {
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{
		Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}, Cipher: "ECDHE-RSA-AES128-GCM-SHA256",
		Groups: "X25519:secp224r1"})
	_, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--no-http", "--allow-cidr", "127.0.0.1", addr.String())
	for _, want := range []string{"x25519, secp224r1 (over TLSv1.2; preferred x25519)", "x25519 (over TLSv1.3; preferred x25519)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
	}
}
