package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestScanPostgresSSLRequest scans a throwaway PostgreSQL cluster of
// Debian's, first with ssl=off (SSLRequest answered N: starttls.offered
// fails, exit 1) and then with ssl=on and a certificate of a test CA: TLS
// 1.2 and 1.3 and the chain are found over SSLRequest.
func TestScanPostgresSSLRequest(t *testing.T) {
	c := newCluster(t)
	target := fmt.Sprintf("postgres://127.0.0.1:%d", c.port)
	ca := tlstest.NewCA(t, "db CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	scan := func() (int, reportJSON) {
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--ca-file", caFile, "--timeout", "10s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("exit %d, %v\n%s\n%s", code, err, stdout, stderr)
		}
		return code, r
	}
	code, r := scan()
	if e := r.Endpoints[0]; code != exitNonCompliant || e.Service == nil || e.Service.StartTLS || e.Service.Reply != "N" {
		t.Errorf("ssl=off: exit %d, service %+v; want exit 1, SSLRequest answered N", code, e.Service)
	}

	leaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	certFile, keyFile := leaf.WritePEM(t, c.data)
	for _, f := range []string{certFile, keyFile} {
		chownToCluster(t, c, f)
	}
	conf := fmt.Sprintf("\nssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n", certFile, keyFile)
	appendFile(t, filepath.Join(c.data, "postgresql.conf"), conf)
	c.stop(t)
	c.start(t)
	_, r = scan()
	e := r.Endpoints[0]
	if e.Status != tlswarden.StatusOK || e.Service == nil || !e.Service.StartTLS {
		t.Fatalf("ssl=on: status %s %s, service %+v", e.Status, e.Error, e.Service)
	}
	if vs := acceptedVersions(e.TLS); len(vs) != 2 || vs[0] != tlswarden.TLS12 || vs[1] != tlswarden.TLS13 {
		t.Errorf("versions %v, want TLSv1.2 and TLSv1.3 (PostgreSQL's default ssl_min_protocol_version)", vs)
	}
	if e.Cert == nil || len(e.Cert.Chain) == 0 || !e.Cert.Trusted {
		t.Errorf("certificate over SSLRequest: %+v", e.Cert)
	}
}

func acceptedVersions(tr *tlswarden.TLSResult) []tlswarden.Version {
	if tr == nil {
		return nil
	}
	var out []tlswarden.Version
	for _, v := range tr.Versions {
		if v.Supported {
			out = append(out, v.Version)
		}
	}
	return out
}

// chownToCluster gives a file to the cluster's owner with mode 0600, as
// PostgreSQL wants of its key.
func chownToCluster(t *testing.T, c *cluster, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if len(c.as) == 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// dovecotServer starts Debian's Dovecot (run as root, as its package
// does) on four free loopback ports: IMAP and POP3 with STARTTLS, IMAPS
// and POP3S, all with one TLS configuration. It is stopped when the test
// ends.
func dovecotServer(t *testing.T, cert *tlstest.Cert) (imap, imaps, pop3, pop3s int) {
	t.Helper()
	bin := testenv.Binary(t, "dovecot")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "Dovecot's test instance runs as root, as its package does")
	}
	dir := t.TempDir()
	certFile, keyFile := cert.WritePEM(t, dir)
	imap, imaps, pop3, pop3s = freePort(t), freePort(t), freePort(t), freePort(t)
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/log
protocols = imap pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[2]s
ssl_key = <%[3]s
ssl_min_protocol = TLSv1
ssl_cipher_list = ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0
ssl_prefer_server_ciphers = yes
passdb {
  driver = static
  args = password=unused
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=%[1]s/home
}
service imap-login {
  inet_listener imap {
    port = %[4]d
  }
  inet_listener imaps {
    port = %[5]d
  }
}
service pop3-login {
  inet_listener pop3 {
    port = %[6]d
  }
  inet_listener pop3s {
    port = %[7]d
  }
}
`, dir, certFile, keyFile, imap, imaps, pop3, pop3s)
	confFile := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "dovecot", filepath.Join(dir, "log"), bin, "-F", "-c", confFile)
	for _, p := range []int{imap, imaps, pop3, pop3s} {
		waitListening(t, p)
	}
	return imap, imaps, pop3, pop3s
}

// startDaemon runs a Debian server of the test's own in the foreground
// and stops it when the test ends; a failed test logs what it printed
// and, when logFile is named, the log it wrote there.
func startDaemon(t *testing.T, name, logFile, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			var log []byte
			if logFile != "" {
				log, _ = os.ReadFile(logFile)
			}
			t.Logf("%s:\n%s%s", name, out, log)
		}
	})
}

// waitListening waits until something accepts connections on the port.
func waitListening(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on port %d: %v", port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestScanDovecot scans Debian's Dovecot over IMAP STARTTLS, POP3 STLS,
// IMAPS and POP3S: the versions and suites found over STARTTLS are those
// found over implicit TLS, and the greeting and capabilities are in the
// report.
func TestScanDovecot(t *testing.T) {
	ca := tlstest.NewCA(t, "mail CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	imap, imaps, pop3, pop3s := dovecotServer(t, ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}))
	scan := func(target string) tlswarden.EndpointReport {
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--ca-file", caFile, "--timeout", "10s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return r.Endpoints[0]
	}
	for _, tc := range []struct {
		starttls, implicit string
		capability         string
	}{
		{fmt.Sprintf("imap://127.0.0.1:%d", imap), fmt.Sprintf("imaps://127.0.0.1:%d", imaps), "STARTTLS"},
		{fmt.Sprintf("pop3://127.0.0.1:%d", pop3), fmt.Sprintf("pop3s://127.0.0.1:%d", pop3s), "STLS"},
	} {
		over, direct := scan(tc.starttls), scan(tc.implicit)
		if over.Status != tlswarden.StatusOK || over.Service == nil || !over.Service.StartTLS ||
			!strings.Contains(over.Service.Banner, "Dovecot") || !slices.Contains(over.Service.Capabilities, tc.capability) {
			t.Errorf("%s: status %s %s, service %+v", tc.starttls, over.Status, over.Error, over.Service)
		}
		got, want := versionSuites(over.TLS), versionSuites(direct.TLS)
		if !slices.Equal(got, want) || len(acceptedVersions(over.TLS)) < 3 {
			t.Errorf("%s found %v, %s found %v: want the same, over at least 3 versions", tc.starttls, got, tc.implicit, want)
		}
		if over.Cert == nil || !over.Cert.Trusted {
			t.Errorf("%s: certificate %+v", tc.starttls, over.Cert)
		}
	}
}

// vsftpdServer starts Debian's vsftpd (as root, as its package runs it) on
// a free loopback port, with AUTH TLS or, with implicit, TLS on connect;
// anonymous users only (vsftpd wants some), in an empty directory, and
// the scan never logs in. It is stopped when the test ends.
func vsftpdServer(t *testing.T, cert *tlstest.Cert, implicit bool, edit ...func(string) string) int {
	t.Helper()
	bin := testenv.Binary(t, "vsftpd")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "vsftpd's test instance runs as root, as its package does")
	}
	dir := t.TempDir()
	certFile, keyFile := cert.WritePEM(t, dir)
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := fmt.Sprintf(`listen=YES
listen_address=127.0.0.1
listen_port=%[1]d
background=NO
anonymous_enable=YES
anon_root=%[5]s
local_enable=NO
ssl_enable=YES
implicit_ssl=%[2]s
rsa_cert_file=%[3]s
rsa_private_key_file=%[4]s
ssl_tlsv1=YES
ssl_ciphers=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0
secure_chroot_dir=%[5]s
seccomp_sandbox=NO
`, port, map[bool]string{true: "YES", false: "NO"}[implicit], certFile, keyFile, empty)
	for _, e := range edit {
		conf = e(conf)
	}
	confFile := filepath.Join(dir, "vsftpd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "vsftpd", "", bin, confFile)
	waitListening(t, port)
	return port
}

// TestScanVsftpd scans Debian's vsftpd over FTP AUTH TLS and as FTPS
// (TLS on connect) with one TLS configuration: the versions and suites are
// the same, and the greeting and FEAT are in the report.
func TestScanVsftpd(t *testing.T) {
	ca := tlstest.NewCA(t, "ftp CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	leaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	explicit, implicit := vsftpdServer(t, leaf, false), vsftpdServer(t, leaf, true)
	scan := func(target string) tlswarden.EndpointReport {
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--ca-file", caFile, "--timeout", "10s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return r.Endpoints[0]
	}
	over := scan(fmt.Sprintf("ftp://127.0.0.1:%d", explicit))
	direct := scan(fmt.Sprintf("ftps://127.0.0.1:%d", implicit))
	if over.Service == nil || !over.Service.StartTLS || !strings.Contains(over.Service.Banner, "vsFTPd") ||
		!slices.Contains(over.Service.Capabilities, "AUTH TLS") {
		t.Errorf("ftp: status %s %s, service %+v", over.Status, over.Error, over.Service)
	}
	got, want := versionSuites(over.TLS), versionSuites(direct.TLS)
	if !slices.Equal(got, want) || len(acceptedVersions(over.TLS)) < 3 {
		t.Errorf("over AUTH TLS %v, over FTPS %v: want the same, over at least 3 versions", got, want)
	}

	// A vsftpd with no access allowed greets with "500 OOPS": refused by
	// the server, with its words in the report.
	closed := vsftpdServer(t, leaf, false, func(c string) string {
		return strings.Replace(c, "anonymous_enable=YES", "anonymous_enable=NO", 1)
	})
	e := scan(fmt.Sprintf("ftp://127.0.0.1:%d", closed))
	if e.Status != tlswarden.StatusRefused || e.Service == nil || !strings.Contains(e.Service.Reply, "500 OOPS") {
		t.Errorf("a refusing vsftpd: status %s, service %+v; want refused with its reply", e.Status, e.Service)
	}
}

// slapdServer starts Debian's OpenLDAP slapd (as root, as its package
// runs it) with no database on two free loopback ports: ldap:// with the
// StartTLS operation and ldaps://. Without a certificate it serves no
// TLS, and answers StartTLS with an error.
func slapdServer(t *testing.T, cert *tlstest.Cert) (ldap, ldaps int) {
	t.Helper()
	bin := testenv.Binary(t, "slapd")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "slapd's test instance runs as root, as its package does")
	}
	dir := t.TempDir()
	conf := "include /etc/ldap/schema/core.schema\npidfile " + filepath.Join(dir, "slapd.pid") + "\n"
	ldap, ldaps = freePort(t), freePort(t)
	urls := fmt.Sprintf("ldap://127.0.0.1:%d/", ldap)
	if cert != nil {
		certFile, keyFile := cert.WritePEM(t, dir)
		conf += fmt.Sprintf("TLSCertificateFile %s\nTLSCertificateKeyFile %s\nTLSProtocolMin 3.1\n", certFile, keyFile)
		urls += fmt.Sprintf(" ldaps://127.0.0.1:%d/", ldaps)
	}
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, "slapd", "", bin, "-d", "0", "-f", confFile, "-h", urls)
	waitListening(t, ldap)
	if cert != nil {
		waitListening(t, ldaps)
	}
	return ldap, ldaps
}

// TestScanSlapd scans Debian's slapd with the LDAP StartTLS operation and
// as LDAPS: the versions and suites are the same. A slapd without TLS
// answers StartTLS with an error: not offered, starttls.offered fails.
func TestScanSlapd(t *testing.T) {
	ca := tlstest.NewCA(t, "ldap CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	ldap, ldaps := slapdServer(t, ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}))
	scan := func(target string) (int, reportJSON) {
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--ca-file", caFile, "--timeout", "10s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return code, r
	}
	_, over := scan(fmt.Sprintf("ldap://127.0.0.1:%d", ldap))
	_, direct := scan(fmt.Sprintf("ldaps://127.0.0.1:%d", ldaps))
	e := over.Endpoints[0]
	if e.Status != tlswarden.StatusOK || e.Service == nil || !e.Service.StartTLS {
		t.Errorf("ldap: status %s %s, service %+v", e.Status, e.Error, e.Service)
	}
	got, want := versionSuites(e.TLS), versionSuites(direct.Endpoints[0].TLS)
	if !slices.Equal(got, want) || len(acceptedVersions(e.TLS)) < 3 {
		t.Errorf("over StartTLS %v, over LDAPS %v: want the same, over at least 3 versions", got, want)
	}

	plain, _ := slapdServer(t, nil)
	code, r := scan(fmt.Sprintf("ldap://127.0.0.1:%d", plain))
	if e := r.Endpoints[0]; code != exitNonCompliant || e.Service == nil || e.Service.StartTLS || !strings.HasPrefix(e.Service.Reply, "resultCode ") {
		t.Errorf("slapd without TLS: exit %d, service %+v; want exit 1, StartTLS refused with a result code", code, e.Service)
	}
}
