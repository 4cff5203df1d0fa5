//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/probes"
)

// Verdicts on real servers: each case scans a server from Go, OpenSSL,
// nginx or GnuTLS on loopback with the real probes and checks what the
// policy makes of it (issue 11).

// gradeTLSOnly runs the TLS probe against addr and grades its facts alone.
func gradeTLSOnly(t *testing.T, addr netip.AddrPort) *tlswarden.Grade {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	obs, err := probes.TLS(probes.TLSConfig{Timeout: 10 * time.Second}).Run(ctx,
		tlswarden.Endpoint{Host: "localhost", Addr: addr}, tlstest.NewDialer(addr).Dial)
	if err != nil || obs.TLS == nil {
		t.Fatalf("TLS probe of %v: %v", addr, err)
	}
	for _, v := range obs.TLS.Versions {
		if v.Supported {
			t.Logf("%s (%s): %v", v.Version, v.Preference, v.Suites)
		}
	}
	return policy.GradeTLS(&tlswarden.EndpointReport{Status: tlswarden.StatusOK, TLS: obs.TLS}, time.Now())
}

func hasCap(g *tlswarden.Grade, reason string) bool {
	return slices.ContainsFunc(g.Caps, func(c tlswarden.GradeCap) bool { return strings.Contains(c.Reason, reason) })
}

// TestGrade3DESOnlyWhenNegotiated: SSL Labs caps 3DES at C only when a
// modern client would negotiate it; servers that keep it after every suite
// such a client prefers are not capped.
func TestGrade3DESOnlyWhenNegotiated(t *testing.T) {
	const block64 = "64-bit block cipher"
	t.Run("go server, 3DES last in its own order", func(t *testing.T) {
		addr := tlstest.GoServer(t, &tls.Config{
			Certificates: []tls.Certificate{tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()},
			MaxVersion:   tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
		})
		g := gradeTLSOnly(t, addr)
		if hasCap(g, block64) || g.Letter == "C" {
			t.Errorf("grade %s, caps %+v: 3DES capped though the server puts it last", g.Letter, g.Caps)
		}
	})
	gnutls := func(priority string) *tlswarden.Grade {
		t.Helper()
		return gradeTLSOnly(t, tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: priority}))
	}
	t.Run("gnutls server order, 3DES after every AES suite", func(t *testing.T) {
		g := gnutls("NORMAL:-VERS-ALL:+VERS-TLS1.2:+3DES-CBC:%SERVER_PRECEDENCE")
		if hasCap(g, block64) || g.Letter == "C" {
			t.Errorf("grade %s, caps %+v: 3DES capped though the server puts it after AES", g.Letter, g.Caps)
		}
	})
	t.Run("gnutls client order, 3DES and AES", func(t *testing.T) {
		g := gnutls("NORMAL:-VERS-ALL:+VERS-TLS1.2:+3DES-CBC")
		if hasCap(g, block64) || g.Letter == "C" {
			t.Errorf("grade %s, caps %+v: 3DES capped though a modern client picks AES", g.Letter, g.Caps)
		}
	})
	t.Run("gnutls server order, 3DES first", func(t *testing.T) {
		g := gnutls("NONE:+VERS-TLS1.2:+3DES-CBC:+AES-128-CBC:+SHA1:+ECDHE-RSA:+RSA:+COMP-NULL:+SIGN-ALL:+CURVE-ALL:%SERVER_PRECEDENCE")
		if !hasCap(g, block64) {
			t.Errorf("grade %s, caps %+v: no 3DES cap though a modern client gets 3DES", g.Letter, g.Caps)
		}
	})
	t.Run("gnutls client order, 3DES beside Camellia only", func(t *testing.T) {
		g := gnutls("NONE:+VERS-TLS1.2:+CAMELLIA-128-CBC:+3DES-CBC:+SHA1:+RSA:+COMP-NULL:+SIGN-ALL:+CURVE-ALL")
		if !hasCap(g, block64) {
			t.Errorf("grade %s, caps %+v: no 3DES cap though a modern client gets 3DES", g.Letter, g.Caps)
		}
	})
}

// scanVerdict runs `tlswarden scan --json` with args and returns the one
// report's first endpoint and its evaluation.
func scanVerdict(t *testing.T, args ...string) (tlswarden.EndpointReport, tlswarden.EndpointEvaluation, int) {
	t.Helper()
	code, stdout, stderr := runCmd(t, "", append([]string{"scan", "--json", "--progress=false", "--timeout", "10s"}, args...)...)
	var r struct {
		tlswarden.Report
		Evaluation *tlswarden.Evaluation `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Evaluation == nil || len(r.Endpoints) != 1 || len(r.Evaluation.Endpoints) != 1 {
		t.Fatalf("scan %v: exit %d, %v\n%s\n%s", args, code, err, stdout, stderr)
	}
	ev := r.Evaluation.Endpoints[0]
	for _, f := range ev.Findings {
		if f.Outcome != tlswarden.RulePass {
			t.Logf("%s %s %s: %s", f.Severity, f.Outcome, f.RuleID, f.Message)
		}
	}
	return r.Endpoints[0], ev, code
}

func finding(ev tlswarden.EndpointEvaluation, rule string) (tlswarden.Finding, bool) {
	i := slices.IndexFunc(ev.Findings, func(f tlswarden.Finding) bool { return f.RuleID == rule })
	if i < 0 {
		return tlswarden.Finding{}, false
	}
	return ev.Findings[i], true
}

// goodHeaders are the security headers of a well-run HTTPS site.
var goodHeaders = []tlstest.Header{
	{Name: "Strict-Transport-Security", Value: "max-age=63072000; includeSubDomains", Always: true},
	{Name: "Content-Security-Policy", Value: "default-src 'none'; frame-ancestors 'none'", Always: true},
	{Name: "X-Content-Type-Options", Value: "nosniff", Always: true},
	{Name: "Referrer-Policy", Value: "no-referrer", Always: true},
}

// TestPrivatePKICompliant: an organisation's own CA, given with --ca-file,
// anchors a 10-year leaf on a TLS 1.3-only nginx with good headers. The
// CA/Browser Forum's rules are for publicly trusted certificates, so the
// endpoint is compliant under the default profile and the chain is
// reported as anchored in the organisation's store. Without --ca-file it
// is untrusted; with --ca-file-only it is trusted the same way.
func TestPrivatePKICompliant(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	ca := tlstest.NewCAValid(t, "Example Trust Internal Root", now, now.AddDate(20, 0, 0))
	leaf := ca.Issue(t, tlstest.CertSpec{NotBefore: now, NotAfter: now.AddDate(10, 0, 0)})
	caFile, _ := ca.WritePEM(t, dir)
	addr := tlstest.NginxServer(t, tlstest.NginxConfig{Cert: leaf, Versions: []tlswarden.Version{tlswarden.TLS13}, Headers: goodHeaders})
	target := addr.String()
	for _, tc := range []struct {
		name string
		args []string
	}{{"ca-file", []string{"--ca-file", caFile}}, {"ca-file-only", []string{"--ca-file", caFile, "--ca-file-only"}}} {
		t.Run(tc.name, func(t *testing.T) {
			ep, ev, code := scanVerdict(t, append(tc.args, "--http-port", "1", target)...)
			if ep.Cert == nil || !ep.Cert.Trusted || ep.Cert.Anchor != tlswarden.AnchorOrganisation {
				t.Fatalf("certificate facts %+v: want trusted, anchored in the organisation's store", ep.Cert)
			}
			if ev.Compliance != tlswarden.Compliant || code != exitOK {
				t.Errorf("%s (exit %d), want compliant", ev.Compliance, code)
			}
			if f, _ := finding(ev, "cert.lifespan_br"); f.Outcome != tlswarden.RuleNotApplicable || !strings.Contains(f.Message, "organisation") {
				t.Errorf("cert.lifespan_br: %s %q, want not_applicable for the organisation's root", f.Outcome, f.Message)
			}
		})
	}
	t.Run("without ca-file", func(t *testing.T) {
		ep, ev, _ := scanVerdict(t, "--http-port", "1", target)
		if ep.Cert == nil || ep.Cert.Trusted || ep.Cert.Anchor != "" || ev.Compliance != tlswarden.NonCompliant {
			t.Errorf("without --ca-file: %s, certificate %+v; want untrusted, no anchor, non-compliant", ev.Compliance, ep.Cert)
		}
	})
}

// ocspLeaf mints a leaf for 127.0.0.1 under ca naming ocspURL as its OCSP
// responder, with Must-Staple when asked.
func ocspLeaf(t *testing.T, ca *tlstest.CA, ocspURL string, mustStaple bool, serial ...*big.Int) *tlstest.Cert {
	t.Helper()
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   now, NotAfter: now.Add(90 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer:  []string{ocspURL},
	}
	if len(serial) > 0 {
		tmpl.SerialNumber = serial[0]
	}
	if mustStaple {
		// TLS Feature (RFC 7633) listing status_request (5).
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}}}
	}
	return ca.IssueTemplate(t, tmpl, tlstest.RSA2048)
}

// revokedOCSPResponse makes, with `openssl ocsp` as the responder, the DER
// OCSP response that says leaf is revoked, signed by the CA.
func revokedOCSPResponse(t *testing.T, dir, caFile, caKey string, leaf *tlstest.Cert) string {
	t.Helper()
	bin := tlstest.RequireBinary(t, "openssl")
	leafFile, _ := leaf.WritePEM(t, dir)
	ts := func(tm time.Time) string { return tm.UTC().Format("060102150405Z") }
	index := fmt.Sprintf("R\t%s\t%s,keyCompromise\t%X\tunknown\t/CN=127.0.0.1\n",
		ts(leaf.Cert.NotAfter), ts(time.Now().Add(-48*time.Hour)), leaf.Cert.SerialNumber)
	indexFile, resp := filepath.Join(dir, "index.txt"), filepath.Join(dir, "ocsp.der")
	if err := os.WriteFile(indexFile, []byte(index), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "ocsp", "-index", indexFile, "-CA", caFile, "-rsigner", caFile, "-rkey", caKey,
		"-issuer", caFile, "-cert", leafFile, "-respout", resp, "-ndays", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl ocsp: %v\n%s", err, out)
	}
	return resp
}

// TestRevokedStapleIsCritical: openssl s_server staples an OCSP response,
// made by `openssl ocsp`, that says the certificate is revoked: the
// endpoint is non-compliant with a critical finding and grades T.
func TestRevokedStapleIsCritical(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Revoking CA")
	caFile, caKey := ca.WritePEM(t, dir)
	leaf := ocspLeaf(t, ca, "http://127.0.0.1:1/", false)
	resp := revokedOCSPResponse(t, dir, caFile, caKey, leaf)
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: leaf, Args: []string{"-status_file", resp}})
	ep, ev, code := scanVerdict(t, "--ca-file", caFile, "--no-http", addr.String())
	if ep.Cert == nil || ep.Cert.OCSP == nil || ep.Cert.OCSP.Status != tlswarden.OCSPRevoked {
		t.Fatalf("certificate facts: %+v; want a stapled response saying revoked", ep.Cert)
	}
	f, _ := finding(ev, "cert.not_revoked")
	if f.Outcome != tlswarden.RuleFail || f.Severity != tlswarden.SeverityCritical || ev.Compliance != tlswarden.NonCompliant || code != exitNonCompliant {
		t.Errorf("cert.not_revoked %s %s %q; %s (exit %d); want a critical failure, non-compliant", f.Severity, f.Outcome, f.Message, ev.Compliance, code)
	}
	if ev.Grade == nil || ev.Grade.Letter != "T" || !hasCap(ev.Grade, "revoked") {
		t.Errorf("grade %+v, want T for a revoked certificate", ev.Grade)
	}
}

// TestMustStapleWithoutStaple: a Must-Staple leaf served without a staple
// is a finding.
func TestMustStapleWithoutStaple(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Must-Staple CA")
	caFile, _ := ca.WritePEM(t, dir)
	leaf := ocspLeaf(t, ca, "http://127.0.0.1:1/", true)
	addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}})
	ep, ev, _ := scanVerdict(t, "--ca-file", caFile, "--no-http", addr.String())
	if ep.Cert == nil || !ep.Cert.Leaf().MustStaple || ep.Cert.OCSPStapled {
		t.Fatalf("certificate facts %+v: want a Must-Staple leaf without a staple", ep.Cert)
	}
	if f, _ := finding(ev, "cert.must_staple"); f.Outcome != tlswarden.RuleFail || f.Severity != tlswarden.SeverityHigh {
		t.Errorf("cert.must_staple %s %s %q, want a high failure", f.Severity, f.Outcome, f.Message)
	}
}

// TestOnlineRevocation: with --check-revocation the certificate probe asks
// the OCSP responder the leaf names (`openssl ocsp` on loopback): a revoked
// leaf is a critical finding; a good one passes; without the flag nobody
// is asked; a responder outside the scan's scope is not contacted; a
// second endpoint with the same leaf is answered from the cache.
func TestOnlineRevocation(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "Responding CA")
	caFile, caKey := ca.WritePEM(t, dir)
	revokedSerial, goodSerial := big.NewInt(0x7e01), big.NewInt(0x7e02)
	ts := func(tm time.Time) string { return tm.UTC().Format("060102150405Z") }
	expiry := ts(time.Now().AddDate(1, 0, 0))
	index := fmt.Sprintf("R\t%s\t%s,keyCompromise\t%X\tunknown\t/CN=127.0.0.1\nV\t%s\t\t%X\tunknown\t/CN=127.0.0.1\n",
		expiry, ts(time.Now().Add(-48*time.Hour)), revokedSerial, expiry, goodSerial)
	indexFile := filepath.Join(dir, "index.txt")
	if err := os.WriteFile(indexFile, []byte(index), 0o600); err != nil {
		t.Fatal(err)
	}
	responder := tlstest.OCSPResponder(t, caFile, caKey, indexFile)
	url := "http://" + responder.String() + "/"
	serve := func(leaf *tlstest.Cert) string {
		return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}).String()
	}
	revoked := serve(ocspLeaf(t, ca, url, false, revokedSerial))
	scan := func(args ...string) (tlswarden.EndpointReport, tlswarden.Finding) {
		t.Helper()
		ep, ev, _ := scanVerdict(t, append([]string{"--ca-file", caFile, "--no-http"}, args...)...)
		f, _ := finding(ev, "cert.not_revoked")
		return ep, f
	}

	ep, f := scan("--check-revocation", revoked)
	if rc := ep.Cert.Revocation; rc == nil || rc.Status != tlswarden.OCSPRevoked || !rc.SignatureVerified || rc.URL != url {
		t.Errorf("revocation facts %+v: want revoked from %s, signature verified", rc, url)
	}
	if f.Outcome != tlswarden.RuleFail || f.Severity != tlswarden.SeverityCritical {
		t.Errorf("cert.not_revoked %s %s %q, want a critical failure", f.Severity, f.Outcome, f.Message)
	}

	if ep, f := scan(revoked); ep.Cert.Revocation != nil || f.Outcome != tlswarden.RuleNotApplicable {
		t.Errorf("without --check-revocation: revocation %+v, %s %q; want no query, not_applicable", ep.Cert.Revocation, f.Outcome, f.Message)
	}

	good := ocspLeaf(t, ca, url, false, goodSerial)
	if ep, f := scan("--check-revocation", serve(good)); f.Outcome != tlswarden.RulePass || ep.Cert.Revocation.Status != tlswarden.OCSPGood {
		t.Errorf("good leaf: revocation %+v, %s %q; want good, pass", ep.Cert.Revocation, f.Outcome, f.Message)
	}

	// Two endpoints serving one leaf: one query, one answer from the cache.
	code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--no-http", "--concurrency", "1",
		"--ca-file", caFile, "--check-revocation", serve(good), serve(good))
	if code != exitOK || strings.Count(stdout, `"cached":true`) != 1 {
		t.Errorf("two endpoints with one leaf: exit %d, %d cached answers, want 1\n%s\n%s", code, strings.Count(stdout, `"cached":true`), stdout, stderr)
	}

	// A responder outside the scope (127.0.0.2, not allowed) is never
	// dialled: the status is unknown, not good.
	outside := "http://127.0.0.2:" + strconv.Itoa(int(responder.Port())) + "/"
	ep, f = scan("--check-revocation", "--allow-cidr", "127.0.0.1/32", serve(ocspLeaf(t, ca, outside, false, goodSerial)))
	if rc := ep.Cert.Revocation; rc == nil || rc.Status != "" || !strings.Contains(rc.Error, "127.0.0.2") || f.Outcome != tlswarden.RuleNotEvaluated {
		t.Errorf("responder out of scope: revocation %+v, %s %q; want an error, not_evaluated", rc, f.Outcome, f.Message)
	}
}

// goServerAt serves crypto/tls handshakes on addr until the test ends.
func goServerAt(t *testing.T, addr string, cfg *tls.Config) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	testenv.Need(t, "a listener on "+addr, err)
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_ = tls.Server(c, cfg).Handshake()
			}()
		}
	}()
	return ln
}

// TestAddressDrift: a name with two addresses, one serving TLS 1.2 and 1.3
// with one certificate, the other TLS 1.2 only with another: each
// endpoint's finding names the other address and what differs.
func TestAddressDrift(t *testing.T) {
	ca := tlstest.NewCA(t, "Drift CA")
	dir := t.TempDir()
	caFile, _ := ca.WritePEM(t, dir)
	spec := tlstest.CertSpec{DNSNames: []string{"www.example.test"}}
	a := goServerAt(t, "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, spec).TLSCertificate()}})
	port := a.Addr().(*net.TCPAddr).Port
	goServerAt(t, "127.0.0.2:"+strconv.Itoa(port), &tls.Config{MaxVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{ca.Issue(t, spec).TLSCertificate()}})
	dns := dnstest.New(t)
	dns.Add("www.example.test. 60 IN A 127.0.0.1", "www.example.test. 60 IN A 127.0.0.2")

	code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--no-http", "--ca-file", caFile,
		"--resolver", dns.Addr, "www.example.test:"+strconv.Itoa(port))
	var r struct {
		tlswarden.Report
		Evaluation *tlswarden.Evaluation `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Evaluation == nil || len(r.Evaluation.Endpoints) != 2 {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	for _, ee := range r.Evaluation.Endpoints {
		other := "127.0.0.2"
		if ee.Endpoint.Addr.Addr().String() == other {
			other = "127.0.0.1"
		}
		f, _ := finding(ee, "target.addresses_consistent")
		for _, want := range []string{other + ":" + strconv.Itoa(port) + " differs in", "versions (here", "certificate (here"} {
			if f.Outcome != tlswarden.RuleFail || !strings.Contains(f.Message, want) {
				t.Errorf("%s: target.addresses_consistent %s %q, want a failure naming %q", ee.Endpoint, f.Outcome, f.Message, want)
			}
		}
	}
	// The table says so on a line of its own.
	_, table, _ := runCmd(t, "", "scan", "--progress=false", "--no-http", "--ca-file", caFile,
		"--resolver", dns.Addr, "www.example.test:"+strconv.Itoa(port))
	if !regexp.MustCompile(`(?m)^\s+addresses\s+DRIFT: 127\.0\.0\.[12]:\d+: 127\.0\.0\.[12]:\d+ differs in versions`).MatchString(table) {
		t.Errorf("table lacks the drift line:\n%s", table)
	}
}
