package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestEveryChainJudged: nginx with an RSA and an ECDSA certificate serves
// each to the clients that ask for it. Both are reported and both are
// judged: an expired second chain makes the endpoint non-compliant and caps
// the grade at T, naming the chain, though the handshake a modern client
// makes sees a sound one.
func TestEveryChainJudged(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	ca := tlstest.NewCAValid(t, "Example Trust Internal Root", now.AddDate(-1, 0, 0), now.AddDate(20, 0, 0))
	caFile, _ := ca.WritePEM(t, dir)
	rsaLeaf := ca.Issue(t, tlstest.CertSpec{NotBefore: now, NotAfter: now.AddDate(0, 0, 90)})
	ecLeaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256, NotBefore: now, NotAfter: now.AddDate(0, 0, 90)})
	expiredEC := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA384, NotBefore: now.AddDate(0, 0, -100), NotAfter: now.AddDate(0, 0, -10)})
	for _, tc := range []struct {
		name      string
		second    *tlstest.Cert
		compliant bool
	}{{"both valid", ecLeaf, true}, {"second expired", expiredEC, false}} {
		t.Run(tc.name, func(t *testing.T) {
			certFile, keyFile := tc.second.WritePEM(t, t.TempDir())
			addr := tlstest.NginxServer(t, tlstest.NginxConfig{Cert: rsaLeaf, Versions: []tlswarden.Version{tlswarden.TLS13}, Headers: goodHeaders,
				Directives: []string{"ssl_certificate " + certFile + ";", "ssl_certificate_key " + keyFile + ";"}})
			ep, ev, code := scanVerdict(t, "--ca-file", caFile, "--http-port", "1", addr.String())
			t.Logf("primary chain %s", ep.Cert.ChainID())
			ids := map[string]bool{}
			for _, c := range ep.Cert.Chains() {
				ids[c.ChainID()] = true
			}
			if !ids["RSA:"+fingerprint(rsaLeaf.DER)] || !ids["ECDSA:"+fingerprint(tc.second.DER)] || len(ids) != 2 {
				t.Fatalf("chains %v, want the RSA and the ECDSA leaf", ids)
			}
			if (ev.Compliance == tlswarden.Compliant) != tc.compliant || (code == exitOK) != tc.compliant {
				t.Errorf("%s (exit %d), want compliant %v", ev.Compliance, code, tc.compliant)
			}
			f, _ := finding(ev, "cert.valid_now")
			capped := ev.Grade != nil && ev.Grade.Letter == "T"
			if tc.compliant {
				if f.Outcome != tlswarden.RulePass || capped {
					t.Errorf("cert.valid_now %s %q, grade %+v; want a pass and no T", f.Outcome, f.Message, ev.Grade)
				}
				return
			}
			if f.Outcome != tlswarden.RuleFail || !strings.Contains(f.Message, "ECDSA chain (leaf "+fingerprint(expiredEC.DER)[:12]) {
				t.Errorf("cert.valid_now %s %q, want a failure naming the expired ECDSA chain", f.Outcome, f.Message)
			}
			if !capped {
				t.Errorf("grade %+v, want T for the expired chain", ev.Grade)
			}
		})
	}
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// TestTableEveryChain: the table shows each chain an OpenSSL server with
// an RSA and an ECDSA certificate serves, and a DHE-only server's chain as
// read from its flight.
func TestTableEveryChain(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	rsaLeaf := ca.Issue(t, tlstest.CertSpec{})
	ecLeaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	caFile, _ := ca.WritePEM(t, t.TempDir())
	certFile, keyFile := ecLeaf.WritePEM(t, t.TempDir())
	dual := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: rsaLeaf, Args: []string{"-dcert", certFile, "-dkey", keyFile}})
	dheOnly := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: rsaLeaf, Versions: []tlswarden.Version{tlswarden.TLS12},
		Cipher: "DHE-RSA-AES128-GCM-SHA256"})
	for _, tc := range []struct {
		name string
		addr string
		want []string
	}{
		{"RSA and ECDSA", dual.String(), []string{"certificate RSA", "certificate ECDSA", "ECDSA P-256", "RSA 2048"}},
		{"DHE only", dheOnly.String(), []string{"the server's flight (Certificate message", "full handshake failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--timeout", "10s", "--http-port", "1", "--ca-file", caFile, tc.addr)
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("table lacks %q:\n%s%s", w, stdout, stderr)
				}
			}
		})
	}
}
