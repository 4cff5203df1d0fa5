package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// postfixServer starts Debian's Postfix as an instance of the test's own:
// a private config_directory, queue_directory and data_directory under a
// temporary directory, and a master.cf with two smtpd services on free
// loopback ports, SMTP with STARTTLS and SMTPS (smtpd_tls_wrappermode),
// with one TLS configuration. The instance accepts no mail (mydestination
// and relay_domains are empty) and the scan never gets past STARTTLS.
// It is stopped when the test ends.
//
// What a test-run instance needs, found the hard way: the data directory
// owned by mail_owner (master takes its lock file there), every directory
// above the queue searchable by mail_owner (smtpd runs as postfix and
// chdirs into the queue), the helper services smtpd calls before it
// greets (proxymap for local_recipient_maps, anvil for the connection
// limits, tlsmgr, trivial-rewrite) in master.cf, postlogd for
// maillog_file (postfix check insists), and master in a process
// group of its own: on SIGTERM it kills its process group, which would
// otherwise be the test binary's.
func postfixServer(t *testing.T, cert *tlstest.Cert) (smtp, smtps int) {
	t.Helper()
	bin := testenv.Binary(t, "postfix")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "Postfix's test instance runs as root, as its package does")
	}
	master := "/usr/lib/postfix/sbin/master"
	if _, err := os.Stat(master); err != nil {
		testenv.Need(t, "Postfix's master daemon", err)
	}
	owner, err := user.Lookup("postfix")
	testenv.Need(t, "the postfix user (made by Debian's postfix package)", err)
	uid, _ := strconv.Atoi(owner.Uid)

	dir := t.TempDir()
	// t.TempDir's directories are root's, mode 0700: smtpd, running as
	// postfix, must get through them to the queue.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf, data := filepath.Join(dir, "conf"), filepath.Join(dir, "data")
	for _, d := range []string{conf, data, filepath.Join(dir, "queue")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(data, uid, -1); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := cert.WritePEM(t, conf)
	smtp, smtps = freePort(t), freePort(t)
	mainCf := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = /dev/stdout
myhostname = mx.tlswarden.test
mydestination =
relay_domains =
local_recipient_maps =
smtpd_tls_cert_file = %[2]s
smtpd_tls_key_file = %[3]s
smtpd_tls_security_level = may
smtpd_tls_protocols = >=TLSv1
smtpd_tls_ciphers = medium
tls_medium_cipherlist = ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0
tls_preempt_cipherlist = yes
`, dir, certFile, keyFile)
	masterCf := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_wrappermode=yes
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
postlog unix-dgram n - n - 1 postlogd
`, smtp, smtps)
	for name, text := range map[string]string{"main.cf": mainCf, "master.cf": masterCf} {
		if err := os.WriteFile(filepath.Join(conf, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// check makes the queue's directories with their owners and modes.
	if out, err := exec.Command(bin, "-c", conf, "check").CombinedOutput(); err != nil {
		t.Fatalf("postfix -c %s check: %v\n%s", conf, err, out)
	}
	cmd := exec.Command(master, "-c", conf, "-d")
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // master stops its children
		_ = cmd.Wait()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // any child left behind
		if t.Failed() {
			t.Logf("postfix:\n%s", out)
		}
	})
	waitListening(t, smtp)
	waitListening(t, smtps)
	return smtp, smtps
}

// TestScanPostfix scans Debian's Postfix over SMTP STARTTLS and as SMTPS
// (TLS on connect) with one TLS configuration: the versions and suites
// are the same, the greeting and the EHLO keywords are in the report, and
// starttls.offered passes. The scan sends no mail.
func TestScanPostfix(t *testing.T) {
	ca := tlstest.NewCA(t, "mail CA")
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	smtp, smtps := postfixServer(t, ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}))
	scan := func(target string) reportJSON {
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--ca-file", caFile, "--timeout", "20s", target)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return r
	}
	r := scan(fmt.Sprintf("smtp://127.0.0.1:%d", smtp))
	over, direct := r.Endpoints[0], scan(fmt.Sprintf("smtps://127.0.0.1:%d", smtps)).Endpoints[0]
	if over.Status != tlswarden.StatusOK || over.Service == nil || !over.Service.StartTLS ||
		!strings.Contains(over.Service.Banner, "mx.tlswarden.test ESMTP") ||
		!slices.Contains(over.Service.Capabilities, "STARTTLS") || !strings.HasPrefix(over.Service.Reply, "220") {
		t.Errorf("smtp: status %s %s, service %+v", over.Status, over.Error, over.Service)
	}
	if direct.Status != tlswarden.StatusOK {
		t.Errorf("smtps: status %s %s", direct.Status, direct.Error)
	}
	got, want := versionSuites(over.TLS), versionSuites(direct.TLS)
	if !slices.Equal(got, want) || len(acceptedVersions(over.TLS)) < 3 {
		t.Errorf("over STARTTLS %v, over SMTPS %v: want the same, over at least 3 versions", got, want)
	}
	if over.Cert == nil || !over.Cert.Trusted {
		t.Errorf("smtp: certificate %+v", over.Cert)
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
