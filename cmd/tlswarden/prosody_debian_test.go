package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// prosodyDomain is the XMPP domain of the test's Prosody: XMPP names the
// domain in its stream header, so the scan needs a name, which the test's
// DNS server points at 127.0.0.1.
const prosodyDomain = "xmpp.tlswarden.test"

// prosodyServer starts Debian's Prosody as an instance of the test's own:
// its config, pid file and data directory under a temporary directory,
// one VirtualHost, client-to-server on two free loopback ports, XMPP with
// STARTTLS (c2s_ports) and XMPP over TLS on connect (c2s_direct_tls_ports,
// XEP-0368, new in 0.12), with one TLS configuration; no server-to-server
// and no users. It is stopped when the test ends.
//
// run_as_root lets it stay root when the tests are (CI): Prosody refuses
// otherwise. Without mod_posix it neither daemonises nor changes user.
func prosodyServer(t *testing.T, cert *tlstest.Cert) (starttls, direct int) {
	t.Helper()
	bin := testenv.Binary(t, "prosody")
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	data := filepath.Join(dir, "data")
	for _, d := range []string{certs, data} {
		if err := os.Mkdir(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	certFile, keyFile := cert.WritePEM(t, certs)
	starttls, direct = freePort(t), freePort(t)
	conf := fmt.Sprintf(`run_as_root = true
pidfile = %[1]q
data_path = %[2]q
certificates = %[3]q
log = { { levels = { min = "info" }, to = "console" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { %[4]d }
c2s_direct_tls_ports = { %[5]d }
s2s_ports = { }
legacy_ssl_ports = { }
modules_enabled = { "tls", "saslauth", "disco" }
modules_disabled = { "s2s", "posix" }
c2s_require_encryption = false
authentication = "internal_hashed"
storage = "internal"
ssl = {
  certificate = %[6]q;
  key = %[7]q;
  protocol = "tlsv1+";
  ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0";
  options = { "cipher_server_preference" };
}
VirtualHost %[8]q
`, filepath.Join(dir, "prosody.pid"), data, certs, starttls, direct, certFile, keyFile, prosodyDomain)
	confFile := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", confFile, "-F")
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prosody:\n%s", out)
		}
	})
	waitListening(t, starttls)
	waitListening(t, direct)
	return starttls, direct
}

// TestScanProsody scans Debian's Prosody over XMPP client STARTTLS and
// over its direct-TLS port with one TLS configuration: the versions and
// suites are the same, the stream features and the <proceed/> answer are
// in the report, the certificate is trusted for the domain, and
// starttls.offered passes.
func TestScanProsody(t *testing.T) {
	ca := tlstest.NewCA(t, "xmpp CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	leaf := ca.Issue(t, tlstest.CertSpec{CommonName: prosodyDomain, DNSNames: []string{prosodyDomain}, Key: tlstest.ECDSA256})
	starttls, direct := prosodyServer(t, leaf)
	dns := dnstest.New(t)
	dns.Add(prosodyDomain + ". 60 IN A 127.0.0.1")
	scan := func(target string) reportJSON {
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--resolver", dns.Addr,
			"--ca-file", caFile, "--timeout", "20s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return r
	}
	r := scan(fmt.Sprintf("xmpp://%s:%d", prosodyDomain, starttls))
	over, tls := r.Endpoints[0], scan(fmt.Sprintf("tls://%s:%d", prosodyDomain, direct)).Endpoints[0]
	if over.Status != tlswarden.StatusOK || over.Service == nil || !over.Service.StartTLS ||
		over.Service.Reply != "proceed" || !slices.Contains(over.Service.Capabilities, "STARTTLS") ||
		!strings.Contains(over.Service.Banner, prosodyDomain) {
		t.Errorf("xmpp: status %s %s, service %+v", over.Status, over.Error, over.Service)
	}
	if tls.Status != tlswarden.StatusOK {
		t.Errorf("direct TLS: status %s %s", tls.Status, tls.Error)
	}
	got, want := versionSuites(over.TLS), versionSuites(tls.TLS)
	if !slices.Equal(got, want) || len(acceptedVersions(over.TLS)) < 3 {
		t.Errorf("over STARTTLS %v, over direct TLS %v: want the same, over at least 3 versions", got, want)
	}
	if over.Cert == nil || !over.Cert.Trusted {
		t.Errorf("xmpp: certificate %+v", over.Cert)
	}
	offered := false
	for _, f := range r.Evaluation.Endpoints[0].Findings {
		if f.RuleID == "starttls.offered" {
			offered = f.Outcome == tlswarden.RulePass
		}
	}
	if !offered {
		t.Errorf("starttls.offered did not pass: %+v", r.Evaluation.Endpoints[0].Findings)
	}
}
