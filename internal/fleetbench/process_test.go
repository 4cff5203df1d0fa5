package fleetbench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testenv"
)

// process is a server started by the benchmark.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    string        // file holding its stdout and stderr
	exited chan struct{} // closed when it has exited
	err    error         // how it exited, once exited is closed
}

// startProcess starts cmd in a process group of its own, with its output
// in a file in dir, and stops the group when tb ends: SIGTERM, then SIGKILL
// after five seconds. Should the benchmark die first, the process gets
// SIGTERM from the kernel (nginx's master then stops its workers).
func startProcess(tb testing.TB, dir, name string, cmd *exec.Cmd) *process {
	tb.Helper()
	p := &process{name: name, cmd: cmd, log: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	if cmd.Stdout == nil {
		cmd.Stdout = out
	}
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", name, err)
	}
	addServerGroup(cmd.Process.Pid)
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(p.stop)
	return p
}

// stop ends the process group: the process itself and whatever it forked
// (nginx's workers).
func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	removeServerGroup(pgid)
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// output returns the end of what the process printed, for error messages.
func (p *process) output() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// waitListening waits until every address accepts TCP connections; it
// fails tb when the process exits first or ten seconds pass.
func waitListening(tb testing.TB, p *process, addrs []netip.AddrPort) {
	tb.Helper()
	if err := awaitListening(p, addrs); err != nil {
		tb.Fatal(err)
	}
}

// awaitListening is waitListening for any goroutine.
func awaitListening(p *process, addrs []netip.AddrPort) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	for _, a := range addrs {
		for {
			c, err := d.DialContext(ctx, "tcp", a.String())
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.exited:
				return fmt.Errorf("%s exited before listening on %s (%v):\n%s", p.name, a, p.err, p.output())
			case <-ctx.Done():
				return fmt.Errorf("%s is not listening on %s after 10s: %v\n%s", p.name, a, err, p.output())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// freePorts returns n distinct ports on which nothing listens at addr. In
// the private network namespace nothing else runs, so they stay free; in
// the host's namespace another program could take one in between, and the
// server that wanted it then fails to start, loudly.
func freePorts(tb testing.TB, addr netip.Addr, n int) []uint16 {
	tb.Helper()
	ports := make([]uint16, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		if err != nil {
			tb.Fatalf("finding %d free ports: %v", n, err)
		}
		lns = append(lns, ln)
		ports = append(ports, uint16(ln.Addr().(*net.TCPAddr).Port))
	}
	return ports
}

// lookPath finds a peer or server binary, or skips the benchmark without
// it (and fails under CI=true, as the project's other tests do).
func lookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	testenv.Need(tb, fmt.Sprintf("%s (apt-get install %s)", name, debianPackage[name]), err)
	return ""
}

var debianPackage = map[string]string{
	"nginx":       "nginx-light",
	"gnutls-serv": "gnutls-bin",
	"nmap":        "nmap",
	"sslscan":     "sslscan",
}
