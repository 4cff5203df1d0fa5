//go:build linux

package tlstest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tlswarden/tlswarden/internal/testenv"
)

// GnuTLSConfig configures a gnutls-serv. Its zero value serves GnuTLS's
// default priorities with a minted RSA-2048 certificate for localhost.
type GnuTLSConfig struct {
	// Cert is the server's certificate; nil mints an RSA-2048 leaf for
	// localhost and 127.0.0.1. Chain follows it in the Certificate message.
	Cert  *Cert
	Chain []*Cert
	// Priority is the GnuTLS priority string (--priority), e.g.
	// "NORMAL:-VERS-ALL:+VERS-TLS1.2:+CAMELLIA-128-CBC". `gnutls-cli
	// --priority P --list` prints the suites it enables, in order; the
	// server's choice follows the client's order unless P has
	// %SERVER_PRECEDENCE.
	Priority string
	// DHBits, when set, gives DHE suites a prime of that size (--dhparams
	// with the parameters of DHParams), for clients that offer no RFC 7919
	// ffdhe group.
	DHBits int
	// Echo runs the server in echo mode (--echo) rather than as an HTTP
	// server (--http) that answers every request with a status page.
	Echo bool
	// Args are further gnutls-serv arguments, appended last.
	Args []string
}

// gnutlsPort is the port gnutls-serv listens on inside its own network
// namespace, where no other process can hold it.
const gnutlsPort = 5556

// GnuTLSServer starts gnutls-serv and returns a loopback address that
// reaches it; the server is stopped when the test ends and its output is
// logged if the test failed.
//
// gnutls-serv has no option to listen on one address: it listens on every
// interface. So that no other machine can reach it, it runs in a network
// namespace of its own that has nothing but a loopback interface, and the
// address returned is a proxy on 127.0.0.1 in the test's namespace that
// dials into that one for each connection and copies bytes both ways
// unchanged, passing a reset on as a reset. A private namespace needs
// root (CAP_SYS_ADMIN): without it the test is skipped, or fails under
// CI=true.
func GnuTLSServer(t testing.TB, cfg GnuTLSConfig) netip.AddrPort {
	t.Helper()
	bin := RequireBinary(t, "gnutls-serv")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "tlstest: gnutls-serv listens on every interface, so it runs in a private network namespace, which needs root")
	}
	dir := t.TempDir()
	cert := cfg.Cert
	if cert == nil {
		cert = SelfSigned(t, CertSpec{})
	}
	certFile, keyFile := cert.WritePEM(t, dir, cfg.Chain...)
	args := []string{"--x509certfile", certFile, "--x509keyfile", keyFile,
		"--port", strconv.Itoa(gnutlsPort), "--disable-client-cert"}
	if cfg.Echo {
		args = append(args, "--echo")
	} else {
		args = append(args, "--http")
	}
	if cfg.Priority != "" {
		args = append(args, "--priority", cfg.Priority)
	}
	if cfg.DHBits != 0 {
		args = append(args, "--dhparams", DHParams(t, cfg.DHBits))
	}
	args = append(args, cfg.Args...)

	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	p, err := startProcess(t, "gnutls-serv", cmd)
	if errors.Is(err, syscall.EPERM) {
		testenv.Missing(t, "tlstest: gnutls-serv listens on every interface, so it runs in a private network namespace, which this process may not create: %v", err)
	}
	if err != nil {
		t.Fatalf("tlstest: %v", err)
	}
	ns, err := newNetnsDialer(p.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("tlstest: gnutls-serv's network namespace: %v", err)
	}
	t.Cleanup(ns.close)
	inner := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), gnutlsPort).String()
	dial := func() (net.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return ns.dial(ctx, inner)
	}
	if err := p.waitListening(dial, startupTimeout); err != nil {
		t.Fatalf("tlstest: gnutls-serv %v: %v", args, err)
	}
	return RawServer(t, func(ctx context.Context, c net.Conn) {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		up, err := ns.dial(dctx, inner)
		cancel()
		if err != nil {
			resetConn(c) // as near as a proxy gets to "connection refused"
			return
		}
		defer up.Close()
		stop := context.AfterFunc(ctx, func() { up.Close() })
		defer stop()
		splice(c.(*net.TCPConn), up.(*net.TCPConn))
	})
}

// splice copies bytes both ways between two connections until both sides
// have finished, passing a half-close on as a half-close and a reset (or
// any other error) as a reset of both.
func splice(a, b *net.TCPConn) {
	var reset sync.Once
	pump := func(dst, src *net.TCPConn) {
		if _, err := io.Copy(dst, src); err != nil {
			reset.Do(func() {
				resetConn(a)
				resetConn(b)
			})
			return
		}
		_ = dst.CloseWrite()
	}
	var wg sync.WaitGroup
	wg.Go(func() { pump(b, a) })
	wg.Go(func() { pump(a, b) })
	wg.Wait()
}

// resetConn closes c with a TCP reset rather than a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// netnsDialer opens TCP connections from inside another process's network
// namespace. A socket belongs to the namespace of the thread that created
// it, so one goroutine, locked to its thread, moves that thread into the
// namespace and makes every connection; the sockets then work from any
// goroutine.
type netnsDialer struct {
	reqs chan dialRequest
	done chan struct{}
	stop sync.Once
}

type dialRequest struct {
	ctx   context.Context
	addr  string
	reply chan dialReply
}

type dialReply struct {
	c   net.Conn
	err error
}

// newNetnsDialer enters the network namespace of process pid, brings its
// loopback interface up (a new namespace has it down) and returns a dialer
// for it.
func newNetnsDialer(pid int) (*netnsDialer, error) {
	d := &netnsDialer{reqs: make(chan dialRequest), done: make(chan struct{})}
	ready := make(chan error, 1)
	go d.serve(pid, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

func (d *netnsDialer) serve(pid int, ready chan<- error) {
	runtime.LockOSThread()
	home, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		ready <- fmt.Errorf("open this thread's network namespace: %w", err)
		return
	}
	defer home.Close()
	if err := setns(fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
		runtime.UnlockOSThread()
		ready <- err
		return
	}
	defer func() {
		// Hand the thread back only once it is home again; if it cannot
		// go back, the goroutine ends locked and Go discards the thread.
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	if err := loopbackUp(); err != nil {
		ready <- fmt.Errorf("bring lo up: %w", err)
		return
	}
	ready <- nil
	for {
		select {
		case req := <-d.reqs:
			var nd net.Dialer
			c, err := nd.DialContext(req.ctx, "tcp", req.addr)
			req.reply <- dialReply{c, err}
		case <-d.done:
			return
		}
	}
}

// setns moves the calling thread into the network namespace at path.
func setns(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter network namespace %s: %w", path, err)
	}
	return nil
}

// dial connects to addr inside the namespace.
func (d *netnsDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	req := dialRequest{ctx: ctx, addr: addr, reply: make(chan dialReply, 1)}
	select {
	case d.reqs <- req:
	case <-d.done:
		return nil, fmt.Errorf("dial %s in a network namespace: dialer closed", addr)
	case <-ctx.Done():
		return nil, fmt.Errorf("dial %s in a network namespace: %w", addr, ctx.Err())
	}
	r := <-req.reply
	if r.err != nil {
		return nil, fmt.Errorf("dial %s in a network namespace: %w", addr, r.err)
	}
	return r.c, nil
}

// close stops the dialer; connections it made stay open.
func (d *netnsDialer) close() { d.stop.Do(func() { close(d.done) }) }

// loopbackUp sets the IFF_UP flag of lo in the calling thread's network
// namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get flags of lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("set flags of lo: %w", err)
	}
	return nil
}
