package main

import (
	"crypto/sha512"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestScanMailDomain: scan mail://DOMAIN lists the MX hosts, looks up
// MTA-STS and TLS-RPT, and a null MX is the answer "accepts no mail"
// (exit 0), not an error.
func TestScanMailDomain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // nothing listens: the endpoint is refused
	dns := dnstest.New(t)
	dns.Add("nomail.test. 60 IN MX 0 .",
		"mx.test. 60 IN MX 10 mx1.mx.test.",
		"mx1.mx.test. 60 IN A 127.0.0.1",
		"_smtp._tls.mx.test. 60 IN TXT \"v=TLSRPTv1; rua=mailto:tls@mx.test\"")

	code, table, stderr := runCmd(t, "", "scan", "--progress=false", "--resolver", dns.Addr, "mail://nomail.test")
	if code != 0 || !strings.Contains(table, "null MX (RFC 7505): nomail.test accepts no mail") {
		t.Errorf("null MX: exit %d, want 0 and the answer in the table:\n%s\n%s", code, table, stderr)
	}

	code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--resolver", dns.Addr, "mail://mx.test:"+port)
	var r struct {
		tlswarden.Report
		Evaluation *tlswarden.Evaluation `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Mail == nil || len(r.Endpoints) != 1 {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, stdout, stderr)
	}
	if e := r.Endpoints[0]; e.Endpoint.Host != "mx1.mx.test" || e.Endpoint.Addr.String() != "127.0.0.1:"+port || e.Status != tlswarden.StatusRefused {
		t.Errorf("endpoint %+v %s, want mx1.mx.test at 127.0.0.1:%s, refused", e.Endpoint, e.Status, port)
	}
	if m := r.Mail; m.MTASTS == nil || m.MTASTS.RecordOutcome != tlswarden.OutcomeNXDomain || m.TLSRPT == nil || len(m.TLSRPT.RUA) != 1 {
		t.Errorf("mail facts %+v (MTA-STS %+v, TLS-RPT %+v), want no MTA-STS and the TLS-RPT record", m, m.MTASTS, m.TLSRPT)
	}
	_, table, _ = runCmd(t, "", "scan", "--progress=false", "--resolver", dns.Addr, "mail://mx.test:"+port)
	if !regexp.MustCompile(`(?m)^\s+MX 10\s+mx1\.mx\.test$`).MatchString(table) {
		t.Errorf("table lacks the MX line:\n%s", table)
	}
}

// TestScanMailDANESHA512: a mail domain whose MX host publishes a
// DNSSEC-authenticated TLSA 3 1 2 record (SHA-512 of the leaf's public
// key) passes mail.dane_tlsa_match over SMTP STARTTLS: the report's
// certificates carry the SHA-512 digests of what the server served, and
// the rule compares them. The same record with one digit changed fails.
func TestScanMailDANESHA512(t *testing.T) {
	ca := tlstest.NewCA(t, "mail CA")
	leaf := ca.Issue(t, tlstest.CertSpec{DNSNames: []string{"mx.dane.test"}, Key: tlstest.ECDSA384})
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate(&ca.Cert)}, MinVersion: tls.VersionTLS12}
	starttls, _ := smtpServer(t, cfg, true)
	_, port, _ := net.SplitHostPort(starttls)
	spki := sha512.Sum512(leaf.Cert.RawSubjectPublicKeyInfo)
	digest := hex.EncodeToString(spki[:])
	changed := digest[:127] + "0"
	if digest[127] == '0' {
		changed = digest[:127] + "1"
	}
	for _, tc := range []struct {
		data string
		want tlswarden.RuleOutcome
	}{
		{digest, tlswarden.RulePass},
		{changed, tlswarden.RuleFail},
	} {
		dns := dnstest.New(t)
		dns.SetAuthenticated(true)
		dns.Add("dane.test. 60 IN MX 10 mx.dane.test.",
			"mx.dane.test. 60 IN A 127.0.0.1",
			"_25._tcp.mx.dane.test. 60 IN TLSA 3 1 2 "+tc.data)
		code, stdout, stderr := runCmd(t, "", "scan", "--json", "--progress=false", "--resolver", dns.Addr,
			"--dnssec-validating-resolver", "--ca-file", caFile, "--no-vulns", "--no-groups", "--kind-spacing", "smtp=0s",
			"--timeout", "10s", "mail://dane.test:"+port)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 || r.Endpoints[0].Cert == nil {
			t.Fatalf("exit %d, %v\n%s\n%s", code, err, stdout, stderr)
		}
		served := sha512.Sum512(leaf.DER)
		if got := r.Endpoints[0].Cert.Chain[0]; got.SHA512 != hex.EncodeToString(served[:]) || got.SPKISHA512 != digest {
			t.Errorf("leaf facts sha512 %q spki_sha512 %q, want the served certificate's", got.SHA512, got.SPKISHA512)
		}
		found := false
		for _, f := range r.Evaluation.Endpoints[0].Findings {
			if f.RuleID == "mail.dane_tlsa_match" {
				found = true
				if f.Outcome != tc.want {
					t.Errorf("TLSA 3 1 2 %s...: %s (%s), want %s", tc.data[:8], f.Outcome, f.Message, tc.want)
				}
			}
		}
		if !found {
			t.Errorf("no mail.dane_tlsa_match finding")
		}
	}
}

// policyHost serves an MTA-STS policy over HTTPS with cert on port 443
// (where senders fetch it, RFC 8461 §3.3) of a loopback address of its
// own, 127.84.x.y, so that other tests' servers are not in the way.
// Binding port 443 needs root.
func policyHost(t *testing.T, cert *tlstest.Cert, policy string) string {
	t.Helper()
	var ln net.Listener
	var err error
	for i := range 8 {
		addr := fmt.Sprintf("127.84.%d.%d:443", (os.Getpid()+i)%250+1, (os.Getpid()/250+i)%250+1)
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		if errors.Is(err, syscall.EACCES) {
			testenv.Need(t, "port 443 (root)", err)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, policy)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the fetch refused without --ca-file is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	return host
}

// TestScanMailMTASTSOrgCA: an MTA-STS policy host whose certificate
// comes from an organisation's CA is trusted with --ca-file (the policy
// is read: enforce, every MX matched) and not without it (the fetch
// fails on the certificate), as the certificate probe trusts that CA;
// --ca-file-only trusts it too.
func TestScanMailMTASTSOrgCA(t *testing.T) {
	org := tlstest.NewCA(t, "org CA")
	caFile, _ := org.Cert.WritePEM(t, t.TempDir())
	leaf := org.Issue(t, tlstest.CertSpec{DNSNames: []string{"mta-sts.sts.test"}, Key: tlstest.ECDSA256})
	addr := policyHost(t, leaf, "version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n")
	dns := dnstest.New(t)
	dns.Add("sts.test. 60 IN MX 10 mx.sts.test.",
		"mx.sts.test. 60 IN A 127.0.0.1",
		"_mta-sts.sts.test. 60 IN TXT \"v=STSv1; id=20261207\"",
		"mta-sts.sts.test. 60 IN A "+addr)
	closed := strconv.Itoa(freePort(t)) // the MX endpoint is refused: the policy is fetched all the same
	scan := func(flags ...string) *tlswarden.MTASTSResult {
		args := append([]string{"scan", "--json", "--progress=false", "--resolver", dns.Addr, "--timeout", "5s"}, flags...)
		code, stdout, stderr := runCmd(t, "", append(args, "mail://sts.test:"+closed)...)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Mail == nil || r.Mail.MTASTS == nil {
			t.Fatalf("%v: exit %d, %v\n%s\n%s", flags, code, err, stdout, stderr)
		}
		return r.Mail.MTASTS
	}
	for _, flags := range [][]string{{"--ca-file", caFile}, {"--ca-file", caFile, "--ca-file-only"}} {
		m := scan(flags...)
		if m.Policy == nil || m.Policy.Mode != "enforce" || len(m.MXUnmatched) != 0 || m.PolicyError != "" {
			t.Errorf("%v: policy %+v, error %q, unmatched %v; want enforce read, every MX matched", flags, m.Policy, m.PolicyError, m.MXUnmatched)
		}
	}
	if m := scan(); m.Policy != nil || !strings.Contains(m.PolicyError, "certificate") {
		t.Errorf("without --ca-file: policy %+v, error %q; want the fetch refused for the certificate", m.Policy, m.PolicyError)
	}
}
