package fleetbench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
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
	px := &latencyProxy{rtt: req.RTT, synLoss: req.SYNLoss}
	if err := px.listen(req.Routes); err != nil {
		_ = enc.Encode(proxyReply{Error: err.Error()})
		return 1
	}
	if err := enc.Encode(proxyReply{}); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, in)
	return 0
}

// latencyProxy relays connections with a round trip added.
type latencyProxy struct {
	rtt     time.Duration
	synLoss float64
	n       atomic.Uint64 // connections accepted
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
		ln, err := net.Listen("tcp4", netip.AddrPortFrom(netip.IPv4Unspecified(), port).String())
		if err != nil {
			return err
		}
		go px.accept(ln, byLocalAddr(table))
		return nil
	}
	for _, r := range routes {
		ln, err := net.Listen("tcp", r.Listen.String())
		if err != nil {
			return err
		}
		go px.serve(ln, r.Backend)
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
func byLocalAddr(table map[netip.AddrPort]netip.AddrPort) func(net.Conn) (netip.AddrPort, bool) {
	return func(c net.Conn) (netip.AddrPort, bool) {
		a, ok := c.LocalAddr().(*net.TCPAddr)
		if !ok {
			return netip.AddrPort{}, false
		}
		b, ok := table[netip.AddrPortFrom(a.AddrPort().Addr().Unmap(), a.AddrPort().Port())]
		return b, ok
	}
}

// serve relays every connection accepted on ln to backend.
func (px *latencyProxy) serve(ln net.Listener, backend netip.AddrPort) {
	px.accept(ln, func(net.Conn) (netip.AddrPort, bool) { return backend, true })
}

// accept accepts connections on ln and relays each to the backend its
// local address routes to; one routed nowhere is reset.
func (px *latencyProxy) accept(ln net.Listener, backend func(net.Conn) (netip.AddrPort, bool)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, ok := backend(c)
		if !ok {
			resetClose(c)
			continue
		}
		go px.relay(c, b, time.Now().Add(px.connectDelay(px.n.Add(1))))
	}
}

// connectDelay is how long after accept the n-th connection's first bytes
// may leave for the server, less the one-way delay every byte gets: one
// round trip for the SYN and SYN-ACK, and the retransmit timeout when the
// SYN is lost. Lost SYNs are spread evenly over the connections (every
// 1/synLoss-th), so that runs are alike.
func (px *latencyProxy) connectDelay(n uint64) time.Duration {
	d := px.rtt
	if px.synLoss > 0 && lostSYN(n, px.synLoss) {
		d += synRetransmit
	}
	return d
}

// lostSYN reports whether connection n (from 1) is one of the share lost.
func lostSYN(n uint64, share float64) bool {
	return uint64(float64(n)*share) != uint64(float64(n-1)*share)
}

// relay copies both ways, each byte held for half the round trip, the
// client's not leaving before open. It connects to the backend only when
// the client's first bytes are due there, as a real server accepts a
// connection about when its first data arrives: a single-threaded server
// (gnutls-serv) would otherwise sit blocked on a connection whose hello
// is still on its way. So the proxy serves protocols whose client speaks
// first, such as TLS.
func (px *latencyProxy) relay(client net.Conn, backend netip.AddrPort, open time.Time) {
	half := px.rtt / 2
	q := readDelayed(client, half, open)
	first, ok := <-q
	if ok {
		time.Sleep(time.Until(first.due))
	}
	if !ok || first.data == nil {
		resetClose(client)
		drain(q)
		return
	}
	server, err := net.DialTimeout("tcp", backend.String(), 10*time.Second)
	if err != nil {
		resetClose(client)
		drain(q)
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { writeDelayed(server, client, first, q) })
	wg.Go(func() { writeDelayed(client, server, chunk{}, readDelayed(server, half, time.Time{})) })
	wg.Wait()
	client.Close()
	server.Close()
}

// chunk is what one read returned, and when it may be written on. A nil
// data with err set carries the end of the stream: io.EOF is a FIN,
// anything else a reset.
type chunk struct {
	data []byte
	err  error
	due  time.Time
}

// readDelayed reads src until its end, and sends each read on with the
// time it may be written: delay after it was read, and not before
// notBefore plus delay. It never waits for the writing side, as a network
// keeps delivering while the receiver is busy.
func readDelayed(src net.Conn, delay time.Duration, notBefore time.Time) <-chan chunk {
	q := make(chan chunk, 256)
	go func() {
		defer close(q)
		// One read buffer, and each chunk copied out at its size: a hello
		// or an alert is a few hundred bytes, and a fresh 16 KiB for every
		// read made garbage the proxy's CPU, which is not the scanner's but
		// shares its two cores, had to collect.
		buf := make([]byte, 16<<10)
		for {
			n, err := src.Read(buf)
			at := time.Now()
			if at.Before(notBefore) {
				at = notBefore
			}
			due := at.Add(delay)
			if n > 0 {
				q <- chunk{data: bytes.Clone(buf[:n]), due: due}
			}
			if err != nil {
				q <- chunk{err: err, due: due}
				return
			}
		}
	}()
	return q
}

// writeDelayed writes first, when it holds anything, then each chunk of q
// to dst at its due time; src is closed when dst fails, so that its reader
// ends too.
func writeDelayed(dst, src net.Conn, first chunk, q <-chan chunk) {
	failed := false
	write := func(c chunk) {
		time.Sleep(time.Until(c.due))
		switch {
		case failed:
		case c.data != nil:
			if _, err := dst.Write(c.data); err != nil {
				failed = true
				resetClose(src)
			}
		case c.err != nil:
			endStream(dst, c.err)
		}
	}
	if first.data != nil || first.err != nil {
		write(first)
	}
	for c := range q {
		write(c)
	}
}

// drain empties q until its reader ends.
func drain(q <-chan chunk) {
	for range q {
	}
}

// endStream passes an end of stream on: a FIN as a FIN (the other way may
// still carry an alert), anything else as a reset.
func endStream(dst net.Conn, err error) {
	if errors.Is(err, io.EOF) {
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
			return
		}
	}
	resetClose(dst)
}

// resetClose closes c with a reset rather than a FIN.
func resetClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
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
