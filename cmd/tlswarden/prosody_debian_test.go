package main

import (
	"encoding/json"
	"fmt"
	"os"
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

// prosodyPorts are the loopback ports of a test's Prosody: client to
// server and server to server, each with STARTTLS and with TLS on connect.
type prosodyPorts struct{ c2s, c2sTLS, s2s, s2sTLS int }

// prosodyServer starts Debian's Prosody as an instance of the test's own:
// its config, pid file and data directory under a temporary directory,
// one VirtualHost, and four free loopback ports, client-to-server and
// server-to-server, each with STARTTLS (c2s_ports, s2s_ports) and over TLS
// on connect (c2s_direct_tls_ports, s2s_direct_tls_ports, XEP-0368, new in
// 0.12), with one TLS configuration; no users. It is stopped when the
// test ends.
//
// run_as_root lets it stay root when the tests are (CI): Prosody refuses
// otherwise. Without mod_posix it neither daemonises nor changes user.
func prosodyServer(t *testing.T, cert *tlstest.Cert) prosodyPorts {
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
	p := prosodyPorts{freePort(t), freePort(t), freePort(t), freePort(t)}
	conf := fmt.Sprintf(`run_as_root = true
pidfile = %[1]q
data_path = %[2]q
certificates = %[3]q
log = { { levels = { min = "info" }, to = "console" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { %[4]d }
c2s_direct_tls_ports = { %[5]d }
s2s_ports = { %[9]d }
s2s_direct_tls_ports = { %[10]d }
legacy_ssl_ports = { }
modules_enabled = { "tls", "saslauth", "disco" }
modules_disabled = { "posix" }
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
`, filepath.Join(dir, "prosody.pid"), data, certs, p.c2s, p.c2sTLS, certFile, keyFile, prosodyDomain, p.s2s, p.s2sTLS)
	confFile := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "prosody", "", bin, "--config", confFile, "-F")
	for _, port := range []int{p.c2s, p.c2sTLS, p.s2s, p.s2sTLS} {
		waitListening(t, port)
	}
	return p
}

// TestScanProsody scans Debian's Prosody over XMPP STARTTLS, client to
// server (xmpp://) and server to server (xmpp-server://), and over its
// direct-TLS ports, with one TLS configuration: the versions and suites
// are the same, the stream features and the <proceed/> answer are in the
// report, the certificate is trusted for the domain, and starttls.offered
// passes.
func TestScanProsody(t *testing.T) {
	ca := tlstest.NewCA(t, "xmpp CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	leaf := ca.Issue(t, tlstest.CertSpec{CommonName: prosodyDomain, DNSNames: []string{prosodyDomain}, Key: tlstest.ECDSA256})
	p := prosodyServer(t, leaf)
	dns := dnstest.New(t)
	dns.Add(prosodyDomain + ". 60 IN A 127.0.0.1")
	scan := func(kind string, port int) reportJSON {
		target := fmt.Sprintf("%s://%s:%d", kind, prosodyDomain, port)
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--resolver", dns.Addr,
			"--ca-file", caFile, "--timeout", "20s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return r
	}
	for _, tc := range []struct {
		kind             string
		starttls, direct int
	}{
		{"xmpp", p.c2s, p.c2sTLS},
		{"xmpp-server", p.s2s, p.s2sTLS},
	} {
		r := scan(tc.kind, tc.starttls)
		over, tls := r.Endpoints[0], scan("tls", tc.direct).Endpoints[0]
		if over.Status != tlswarden.StatusOK || over.Service == nil || !over.Service.StartTLS ||
			over.Service.Reply != "proceed" || !slices.Contains(over.Service.Capabilities, "STARTTLS") ||
			!strings.Contains(over.Service.Banner, prosodyDomain) {
			t.Errorf("%s: status %s %s, service %+v", tc.kind, over.Status, over.Error, over.Service)
		}
		if tls.Status != tlswarden.StatusOK {
			t.Errorf("%s direct TLS: status %s %s", tc.kind, tls.Status, tls.Error)
		}
		got, want := versionSuites(over.TLS), versionSuites(tls.TLS)
		if !slices.Equal(got, want) || len(acceptedVersions(over.TLS)) < 3 {
			t.Errorf("%s: over STARTTLS %v, over direct TLS %v: want the same, over at least 3 versions", tc.kind, got, want)
		}
		if over.Cert == nil || !over.Cert.Trusted {
			t.Errorf("%s: certificate %+v", tc.kind, over.Cert)
		}
		offered := false
		for _, f := range r.Evaluation.Endpoints[0].Findings {
			if f.RuleID == "starttls.offered" {
				offered = f.Outcome == tlswarden.RulePass
			}
		}
		if !offered {
			t.Errorf("%s: starttls.offered did not pass: %+v", tc.kind, r.Evaluation.Endpoints[0].Findings)
		}
	}
}
