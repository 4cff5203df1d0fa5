package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// mariadbServer starts Debian's MariaDB (as root, as its package runs it)
// on a free loopback port with a database directory of the test's own,
// with TLS from cert or, when cert is nil, with TLS turned off. It is
// stopped when the test ends.
func mariadbServer(t *testing.T, cert *tlstest.Cert) int {
	t.Helper()
	bin := testenv.Binary(t, "mariadbd")
	install := testenv.Binary(t, "mariadb-install-db")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "MariaDB's test instance runs as root, as its package does")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(install, "--no-defaults", "--datadir="+data, "--user=root",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := freePort(t)
	args := []string{"--no-defaults", "--datadir=" + data, "--user=root",
		fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(dir, "sock"), "--pid-file=" + filepath.Join(dir, "pid"),
		"--log-error=" + filepath.Join(dir, "err.log"), "--skip-log-bin", "--innodb-buffer-pool-size=16M"}
	if cert != nil {
		certFile, keyFile := cert.WritePEM(t, dir)
		args = append(args, "--ssl-cert="+certFile, "--ssl-key="+keyFile)
	} else {
		args = append(args, "--skip-ssl")
	}
	startDaemon(t, "mariadbd", filepath.Join(dir, "err.log"), bin, args...)
	waitListening(t, port)
	return port
}

// TestScanMariaDB scans Debian's MariaDB over the MySQL protocol's
// SSLRequest: with a certificate of a test CA, TLS 1.2 and 1.3 and the
// chain are found and the server's greeting is in the report; with TLS
// off, the handshake's capabilities lack CLIENT_SSL, which fails
// starttls.offered (exit 1) rather than being an error.
func TestScanMariaDB(t *testing.T) {
	ca := tlstest.NewCA(t, "db CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	scan := func(port int) (int, tlswarden.EndpointReport) {
		target := fmt.Sprintf("mysql://127.0.0.1:%d", port)
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--no-clients", "--ca-file", caFile, "--timeout", "10s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return code, r.Endpoints[0]
	}

	_, e := scan(mariadbServer(t, ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})))
	if e.Status != tlswarden.StatusOK || e.Service == nil || !e.Service.StartTLS || !strings.Contains(e.Service.Banner, "MariaDB") {
		t.Fatalf("ssl on: status %s %s, service %+v", e.Status, e.Error, e.Service)
	}
	if vs := acceptedVersions(e.TLS); len(vs) != 2 || vs[0] != tlswarden.TLS12 || vs[1] != tlswarden.TLS13 {
		t.Errorf("versions %v, want TLSv1.2 and TLSv1.3 (MariaDB 10.11's default with OpenSSL 3)", vs)
	}
	if e.Cert == nil || len(e.Cert.Chain) == 0 || !e.Cert.Trusted {
		t.Errorf("certificate over SSLRequest: %+v", e.Cert)
	}

	code, e := scan(mariadbServer(t, nil))
	if code != exitNonCompliant || e.Service == nil || e.Service.StartTLS || !strings.Contains(e.Service.Reply, "CLIENT_SSL") {
		t.Errorf("ssl off: exit %d, service %+v; want exit 1, no CLIENT_SSL", code, e.Service)
	}
}
