//go:build linux

package tlstest

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testenv"
)

// The servers in this file, nginx.go and gnutls.go run Debian's binaries
// (package openssl, nginx-light and gnutls-bin), which serve what Go's
// crypto/tls will not: TLS 1.0 and 1.1 with RSA key exchange, finite-field
// DHE, Camellia, CCM, 3DES and RC4. They are Linux-only: the processes die
// with the test binary (PR_SET_PDEATHSIG), and gnutls-serv is confined to a
// network namespace of its own.

// startupTimeout bounds how long a server binary may take to listen.
const startupTimeout = 10 * time.Second

// RequireBinary returns the path of the named program, looked up in PATH and
// then in /usr/sbin and /sbin (where Debian puts nginx, outside an ordinary
// user's PATH). When it is missing the test is skipped, except when the
// environment variable CI is true: there every test must run, so a missing
// binary fails the test instead.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	return testenv.Binary(t, name)
}

// OpenSSLConfig configures an `openssl s_server`. Its zero value serves
// OpenSSL's defaults with a minted RSA-2048 certificate for localhost.
//
// Debian's OpenSSL 3 runs at security level 2 by default, which refuses TLS
// 1.0 and 1.1 (their handshakes sign with SHA-1) and DH primes under 2048
// bits: put "@SECLEVEL=0" at the end of Cipher to allow them. It is built
// without SSLv3 and without 3DES, so compute the suites a configuration
// enables with `openssl ciphers -V -s` rather than from its cipher string.
type OpenSSLConfig struct {
	// Cert is the server's certificate; nil mints an RSA-2048 leaf for
	// localhost and 127.0.0.1. Chain follows it in the Certificate message.
	Cert  *Cert
	Chain []*Cert
	// Versions lists the protocol versions to enable (TLS 1.0 to 1.3); every
	// other one is disabled with its -no_* flag. Empty keeps OpenSSL's
	// defaults.
	Versions []tlswarden.Version
	// Cipher is the -cipher list for TLS 1.2 and below, in OpenSSL syntax
	// ("AES128-SHA:DES-CBC3-SHA:@SECLEVEL=0").
	Cipher string
	// Ciphersuites is the -ciphersuites list for TLS 1.3
	// ("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256").
	Ciphersuites string
	// ServerPref makes the server choose suites (and groups) by its own
	// order (-serverpref) rather than the client's.
	ServerPref bool
	// DHBits, when set, gives DHE suites a prime of that size (-dhparam
	// with the parameters of DHParams); otherwise OpenSSL sizes it to match
	// the certificate's key.
	DHBits int
	// Groups is the -groups list ("X25519:secp384r1:ffdhe2048").
	Groups string
	// Interactive leaves out -www: after the handshake the server answers
	// nothing and holds the connection until the client closes it, serving
	// no other meanwhile, as appliances that take one connection at a time
	// do.
	Interactive bool
	// Args are further s_server arguments, appended last.
	Args []string
}

// OpenSSLServer starts `openssl s_server` on a free port of 127.0.0.1 and
// returns its address once it listens. The server answers "GET /" with a
// status page (-www), serves connections one at a time until the test
// ends, and then is killed; its output is logged if the test failed.
func OpenSSLServer(t testing.TB, cfg OpenSSLConfig) netip.AddrPort {
	t.Helper()
	bin := RequireBinary(t, "openssl")
	dir := t.TempDir()
	cert := cfg.Cert
	if cert == nil {
		cert = SelfSigned(t, CertSpec{})
	}
	certFile, keyFile := cert.WritePEM(t, dir)
	// Port 0: s_server reports the port it got ("ACCEPT 127.0.0.1:PORT"),
	// which -quiet would suppress; that avoids racing another process for a
	// port picked in advance.
	args := []string{"s_server", "-accept", "127.0.0.1:0", "-cert", certFile, "-key", keyFile}
	if !cfg.Interactive {
		args = append(args, "-www")
	}
	if len(cfg.Chain) > 0 {
		args = append(args, "-cert_chain", writeChain(t, dir, cfg.Chain))
	}
	flags, err := opensslVersionFlags(cfg.Versions)
	if err != nil {
		t.Fatalf("tlstest: openssl s_server: %v", err)
	}
	args = append(args, flags...)
	if cfg.Cipher != "" {
		args = append(args, "-cipher", cfg.Cipher)
	}
	if cfg.Ciphersuites != "" {
		args = append(args, "-ciphersuites", cfg.Ciphersuites)
	}
	if cfg.ServerPref {
		args = append(args, "-serverpref")
	}
	if cfg.DHBits != 0 {
		args = append(args, "-dhparam", DHParams(t, cfg.DHBits))
	}
	if cfg.Groups != "" {
		args = append(args, "-groups", cfg.Groups)
	}
	args = append(args, cfg.Args...)

	p, err := startProcess(t, "openssl s_server", exec.Command(bin, args...))
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	m, err := p.waitOutput(acceptLine, startupTimeout)
	if err != nil {
		t.Fatalf("tlstest: openssl %s: %v", strings.Join(args, " "), err)
	}
	port, err := strconv.ParseUint(m[1], 10, 16)
	if err != nil {
		t.Fatalf("tlstest: openssl s_server: bad port in %q: %v", m[0], err)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
}

// acceptLine is what s_server prints once it listens.
var acceptLine = regexp.MustCompile(`(?m)^ACCEPT 127\.0\.0\.1:(\d+)$`)

// opensslNoFlags are the s_server flags that disable each version.
var opensslNoFlags = map[tlswarden.Version]string{
	tlswarden.TLS10: "-no_tls1", tlswarden.TLS11: "-no_tls1_1",
	tlswarden.TLS12: "-no_tls1_2", tlswarden.TLS13: "-no_tls1_3",
}

// opensslVersionFlags turns the versions to enable into -no_* flags for
// the others.
func opensslVersionFlags(vs []tlswarden.Version) ([]string, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	for _, v := range vs {
		if _, ok := opensslNoFlags[v]; !ok {
			return nil, fmt.Errorf("OpenSSL 3 cannot serve %v", v)
		}
	}
	flags := []string{"-no_ssl3"}
	for _, v := range tlswarden.AllVersions {
		if f, ok := opensslNoFlags[v]; ok && !slices.Contains(vs, v) {
			flags = append(flags, f)
		}
	}
	return flags, nil
}

// writeChain writes certificates as one PEM file in dir.
func writeChain(t testing.TB, dir string, chain []*Cert) string {
	t.Helper()
	var b []byte
	for _, c := range chain {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER})...)
	}
	f, err := os.CreateTemp(dir, "chain-*.crt")
	if err != nil {
		t.Fatalf("tlstest: chain file: %v", err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatalf("tlstest: write chain file: %v", err)
	}
	return f.Name()
}

// DH parameters by prime size. Well-known groups are used where one exists
// (RFC 5114's 1024-bit group, RFC 3526's 1536-bit group, RFC 7919's
// ffdhe groups): generating them takes milliseconds, where finding a fresh
// 2048-bit safe prime can take seconds. Other sizes are generated.
var dhGroups = map[int]string{
	1024: "dh_1024_160", 1536: "modp_1536",
	2048: "ffdhe2048", 3072: "ffdhe3072", 4096: "ffdhe4096", 6144: "ffdhe6144", 8192: "ffdhe8192",
}

// dhCache holds PEM DH parameters by size, generated once per test binary.
var dhCache sync.Map // int -> func() ([]byte, error)

// DHParams writes PKCS #3 DH parameters ("BEGIN DH PARAMETERS", as
// `openssl dhparam` writes them and every server here reads them) with a
// prime of the given size into a file in the test's temporary directory
// and returns its path. Each size is made once per test binary.
func DHParams(t testing.TB, bits int) string {
	t.Helper()
	bin := RequireBinary(t, "openssl")
	gen, _ := dhCache.LoadOrStore(bits, sync.OnceValues(func() ([]byte, error) { return genDHParams(bin, bits) }))
	params, err := gen.(func() ([]byte, error))()
	if err != nil {
		t.Fatalf("tlstest: %d-bit DH parameters: %v", bits, err)
	}
	f := filepath.Join(t.TempDir(), "dh"+strconv.Itoa(bits)+".pem")
	if err := os.WriteFile(f, params, 0o600); err != nil {
		t.Fatalf("tlstest: write DH parameters: %v", err)
	}
	return f
}

func genDHParams(bin string, bits int) ([]byte, error) {
	if bits < 512 || bits > 8192 {
		return nil, fmt.Errorf("unsupported size %d", bits)
	}
	opt := "dh_paramgen_prime_len:" + strconv.Itoa(bits)
	if g, ok := dhGroups[bits]; ok {
		opt = "group:" + g
	}
	cmd := exec.Command(bin, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", opt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("openssl genpkey -pkeyopt %s: %w: %s", opt, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if b, _ := pem.Decode(out); b == nil || b.Type != "DH PARAMETERS" {
		return nil, fmt.Errorf("openssl genpkey -pkeyopt %s: no DH PARAMETERS block in its output", opt)
	}
	return out, nil
}

// process is a server binary started for one test.
type process struct {
	cmd    *exec.Cmd
	out    *outputLog
	exited chan struct{} // closed once the process has exited
	err    error         // how it exited, once exited is closed
}

// startProcess starts cmd in a process group of its own, with its stdin an
// open pipe (s_server stops at end of input) and its output kept for the
// log. The process gets SIGKILL if the test binary dies; when the test
// ends it gets SIGTERM, then SIGKILL after two seconds, and its output is
// logged if the test failed.
func startProcess(t testing.TB, name string, cmd *exec.Cmd) (*process, error) {
	t.Helper()
	p := &process{cmd: cmd, out: newOutputLog(), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: stdin pipe: %w", name, err)
	}
	if err := cmd.Start(); err != nil {
		stdin.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		early := p.hasExited()
		p.stop()
		stdin.Close()
		if t.Failed() {
			state := "stopped at the end of the test"
			if early {
				state = fmt.Sprintf("exited during the test (%v)", p.err)
			}
			t.Logf("tlstest: %s (%s) %s; its output:\n%s", name, strings.Join(cmd.Args, " "), state, p.out)
		}
	})
	return p, nil
}

func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop ends the process group: the server and whatever it forked.
func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// waitOutput waits until the process's output matches re and returns the
// submatches, or fails if the process exits or the timeout passes first.
func (p *process) waitOutput(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			return m, nil
		}
		select {
		case <-p.out.written:
		case <-p.exited:
			if m := re.FindStringSubmatch(p.out.String()); m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("exited before it listened (%v); its output follows at the end of the test", p.err)
		case <-deadline.C:
			return nil, fmt.Errorf("not listening after %v; its output follows at the end of the test", timeout)
		}
	}
}

// waitListening waits until dial connects, or fails if the process exits
// or the timeout passes first.
func (p *process) waitListening(dial func() (net.Conn, error), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := dial()
		if err == nil {
			c.Close()
			return nil
		}
		if p.hasExited() {
			return fmt.Errorf("exited before it listened (%v); its output follows at the end of the test", p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening after %v (%v); its output follows at the end of the test", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outputLog keeps the first and the last bytes a process writes (a
// scanner's hundreds of failed handshakes each leave a line) and signals
// each write.
type outputLog struct {
	mu      sync.Mutex
	head    []byte
	tail    []byte
	dropped int
	written chan struct{}
}

const outputKeep = 32 << 10

func newOutputLog() *outputLog { return &outputLog{written: make(chan struct{}, 1)} }

func (l *outputLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	n := len(b)
	if room := outputKeep - len(l.head); room > 0 {
		k := min(room, len(b))
		l.head = append(l.head, b[:k]...)
		b = b[k:]
	}
	l.tail = append(l.tail, b...)
	if over := len(l.tail) - outputKeep; over > 0 {
		l.dropped += over
		l.tail = append(l.tail[:0], l.tail[over:]...)
	}
	l.mu.Unlock()
	select {
	case l.written <- struct{}{}:
	default:
	}
	return n, nil
}

// String returns the output kept, marking what was dropped.
func (l *outputLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped == 0 {
		return string(l.head) + string(l.tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes dropped ...]\n%s", l.head, l.dropped, l.tail)
}
