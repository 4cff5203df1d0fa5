package fleetbench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The latency proxy puts a network between the scanners and the fleet: each
// endpoint gets an address of its own (127.1.x.y), where a proxy relays
// every connection to the real server with a chosen round-trip time added.
// It runs in a child process (this test binary in the latency-proxy role),
// so that its CPU is not the scanner's.
//
// A userspace relay cannot delay the kernel's own handshake: connect(2)
// returns at once. It delays the client's first bytes instead, to where a
// real network would deliver them. On a path with round trip r, a client
// that connects at 0 gets its SYN-ACK at r, sends at r, and its bytes reach
// the server at 1.5r; the answer is back at 2r. Here the client sends at
// about 0, and the relay holds those bytes until accept + r + r/2, and
// only then connects to the server and hands them over; every later byte,
// either way, is held r/2. From the client's first SYN to any
// answer, every connection takes what it would on the real path. When the
// SYN is lost (a chosen share of connections), the kernel retransmits it
// after its initial retransmission timeout of one second (RFC 6298 2.1):
// the first bytes then wait one second more.

// synRetransmit is Linux's initial retransmission timeout (TCP_TIMEOUT_INIT).
const synRetransmit = time.Second

// roleProxy is the child process's role.
const roleProxy = "latency-proxy"

// proxyRequest is what the benchmark sends the proxy on stdin.
type proxyRequest struct {
	RTT time.Duration
	// SYNLoss is the share of connections whose first SYN is lost (0-1).
	SYNLoss float64
	Routes  []proxyRoute
}

// proxyRoute relays connections to Listen on to Backend.
type proxyRoute struct {
	Listen, Backend netip.AddrPort
}

// proxyReply is its answer on stdout, once every route listens.
type proxyReply struct{ Error string }

// latencyAddr returns the i-th endpoint's own address, 127.1.0.1 onwards,
// continuing into 127.2.0.0/16 and beyond after 127.1.255.255: Linux
// routes all of 127.0.0.0/8 to lo, so any of it can be bound.
func latencyAddr(i int) netip.Addr {
	i++ // skip 127.1.0.0
	return netip.AddrFrom4([4]byte{127, byte(1 + i>>16), byte(i >> 8), byte(i)})
}

// maxLatencyEndpoints is how many endpoints the proxy fronts at most: one
// address each, 127.1.0.1 to 127.4.255.255, with a listening socket each
// or, past the open-file limit, one for all (see latencyProxy.listen).
const maxLatencyEndpoints = 4<<16 - 1

// proxyReservedFiles are the proxy's open files besides its listeners:
// two a relayed connection, for a scanner's budget of 4,096 in flight, and
// the rest.
const proxyReservedFiles = 2*4096 + 1024

// latencyPort is the port every proxied endpoint listens on: a fleet on
// distinct addresses, as an estate is, with one port, as nmap scans one.
const latencyPort = 4433

// startLatencyProxy starts the proxy with round trip rtt in front of eps
// and returns the endpoints as the scanners see them, in the same order.
func startLatencyProxy(tb testing.TB, dir string, rtt time.Duration, synLoss float64, eps []endpoint) []endpoint {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	if len(eps) > maxLatencyEndpoints {
		tb.Fatalf("%d endpoints: the latency proxy fronts at most %d (127.1.0.1 onwards, one address each)", len(eps), maxLatencyEndpoints)
	}
	raiseOpenFilesTo(tb, uint64(len(eps)+proxyReservedFiles))
	req := proxyRequest{RTT: rtt, SYNLoss: synLoss}
	front := make([]endpoint, len(eps))
	for i, e := range eps {
		front[i] = e
		front[i].Addr = netip.AddrPortFrom(latencyAddr(i), latencyPort)
		req.Routes = append(req.Routes, proxyRoute{Listen: front[i].Addr, Backend: e.Addr})
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), envRole+"="+roleProxy)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p := startProcess(tb, dir, fmt.Sprintf("latency-proxy-%dms", rtt.Milliseconds()), cmd)
	// Its CPU is neither the scanner's nor the servers'.
	removeServerGroup(cmd.Process.Pid)
	addProxyGroup(cmd.Process.Pid)
	tb.Cleanup(func() { stdin.Close() })
	if err := json.NewEncoder(stdin).Encode(req); err != nil {
		tb.Fatalf("latency proxy: %v\n%s", err, p.output())
	}
	var rep proxyReply
	if err := json.NewDecoder(stdout).Decode(&rep); err != nil || rep.Error != "" {
		tb.Fatalf("latency proxy: %v %s\n%s", err, rep.Error, p.output())
	}
	return front
}

// serveProxy is the latency-proxy role: read a proxyRequest, listen,
// reply, and relay until stdin closes.
func serveProxy(in io.Reader, out io.Writer) int {
	enc := json.NewEncoder(out)
	var req proxyRequest
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		_ = enc.Encode(proxyReply{Error: err.Error()})
		return 1
	}
	px, err := newLatencyProxy(req.RTT, req.SYNLoss)
	if err == nil {
		err = px.listen(req.Routes)
	}
	if err != nil {
		_ = enc.Encode(proxyReply{Error: err.Error()})
		return 1
	}
	px.start()
	if err := enc.Encode(proxyReply{}); err != nil {
		return 1
	}
	stop := profileCPU(os.Getenv(envProxyProfile))
	defer stop()
	_, _ = io.Copy(io.Discard, in)
	return 0
}

// envProxyProfile names the file the proxy writes its CPU profile to,
// from when it listens until it is told to end.
const envProxyProfile = "TLSWARDEN_PROXY_CPUPROFILE"

// profileCPU profiles this process into path, when set, and returns what
// stops and writes the profile. The benchmark ends the proxy with SIGTERM
// right after closing its stdin, so that ends the profile too.
func profileCPU(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency proxy: CPU profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "latency proxy: CPU profile:", err)
		f.Close()
		return func() {}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		stop()
		os.Exit(0)
	}()
	return stop
}

// listen listens on every route's address: a socket each, or, when that
// would pass the open-file limit, one on the wildcard address of their
// shared port, which only the private network namespace (where lo is the
// only interface) keeps to loopback.
func (px *latencyProxy) listen(routes []proxyRoute) error {
	table, port, shared := sharedPort(routes)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if shared && privateNetns() && uint64(len(routes)+proxyReservedFiles) > lim.Cur {
		_, err := px.listenTCP(netip.AddrPortFrom(netip.IPv4Unspecified(), port), byLocalAddr(table))
		return err
	}
	for _, r := range routes {
		if _, err := px.listenTCP(r.Listen, to(r.Backend)); err != nil {
			return err
		}
	}
	return nil
}

// sharedPort maps each route's address to its backend, and says whether
// every route listens on one port.
func sharedPort(routes []proxyRoute) (map[netip.AddrPort]netip.AddrPort, uint16, bool) {
	table := make(map[netip.AddrPort]netip.AddrPort, len(routes))
	var port uint16
	for i, r := range routes {
		if i > 0 && r.Listen.Port() != port {
			return nil, 0, false
		}
		port = r.Listen.Port()
		table[r.Listen] = r.Backend
	}
	return table, port, len(routes) > 0
}

// byLocalAddr routes a connection by the address it was made to.
func byLocalAddr(table map[netip.AddrPort]netip.AddrPort) func(fd int) (netip.AddrPort, bool) {
	return func(fd int) (netip.AddrPort, bool) {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return netip.AddrPort{}, false
		}
		b, ok := table[addrPort(sa)]
		return b, ok
	}
}

// to routes every connection to backend.
func to(backend netip.AddrPort) func(int) (netip.AddrPort, bool) {
	return func(int) (netip.AddrPort, bool) { return backend, true }
}

// raiseOpenFilesTo lets this process, and so the proxy it starts, open at
// least n files when it can: one listening socket an endpoint outgrows
// the usual hard limit (20,000 here) beyond a few thousand endpoints.
// Raising the hard limit needs CAP_SYS_RESOURCE, which this machine's
// container does not give even to root.
func raiseOpenFilesTo(tb testing.TB, n uint64) {
	tb.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		tb.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	want := syscall.Rlimit{Cur: n, Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// A container may refuse even root; the proxy then listens on
		// one wildcard socket (see latencyProxy.listen).
		tb.Logf("open files stay limited to %d (%v): the latency proxy listens on one socket for its %d endpoints", lim.Cur, err, n-proxyReservedFiles)
	}
}
