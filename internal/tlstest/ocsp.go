//go:build linux

package tlstest

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testenv"
)

// ocspPort is the port `openssl ocsp` listens on inside its own network
// namespace.
const ocspPort = 8888

// ocspReady is what `openssl ocsp` prints once it listens.
var ocspReady = regexp.MustCompile(`waiting for OCSP client connections`)

// OCSPResponder starts `openssl ocsp` as an OCSP responder (RFC 6960 over
// HTTP) answering for the CA in caFile, signing with caKey, from the
// certificate database indexFile (the `openssl ca` index format: one line
// per certificate, "V" valid or "R" revoked). It returns a loopback address
// that reaches it; the responder stops when the test ends.
//
// `openssl ocsp -port` listens on every interface, so, like
// GnuTLSServer, the responder runs in a network namespace of its own with
// nothing but a loopback interface, behind a proxy on 127.0.0.1; that needs
// root.
func OCSPResponder(t testing.TB, caFile, caKey, indexFile string) netip.AddrPort {
	t.Helper()
	bin := RequireBinary(t, "openssl")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "tlstest: openssl ocsp listens on every interface, so it runs in a private network namespace, which needs root")
	}
	args := []string{"ocsp", "-index", indexFile, "-CA", caFile, "-rsigner", caFile, "-rkey", caKey,
		"-port", strconv.Itoa(ocspPort), "-ndays", "1"}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	p, err := startProcess(t, "openssl ocsp", cmd)
	if errors.Is(err, syscall.EPERM) {
		testenv.Missing(t, "tlstest: openssl ocsp runs in a private network namespace, which this process may not create: %v", err)
	}
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	ns, err := newNetnsDialer(p.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("tlstest: openssl ocsp's network namespace: %v", err)
	}
	t.Cleanup(ns.close)
	inner := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), ocspPort).String()
	// Wait for its word rather than connect: a connection closed without
	// a request wedges `openssl ocsp` for good.
	if _, err := p.waitOutput(ocspReady, startupTimeout); err != nil {
		t.Fatalf("tlstest: openssl %v: %v", args, err)
	}
	return RawServer(t, func(ctx context.Context, c net.Conn) {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		up, err := ns.dial(dctx, inner)
		cancel()
		if err != nil {
			resetConn(c)
			return
		}
		defer up.Close()
		stop := context.AfterFunc(ctx, func() { up.Close() })
		defer stop()
		splice(c.(*net.TCPConn), up.(*net.TCPConn))
	})
}
