package fleetbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// The latency proxy relays in one event loop over epoll, on non-blocking
// sockets it opens itself, rather than with net.Conn: the relay's CPU is
// taken from the servers' and the scanner's two cores, and per connection
// the net package's version (five goroutines, a timer per chunk, 64 KiB
// of buffers and channels, keep-alive options set on both sockets) cost
// about 250 µs of CPU where this one costs 130 (BenchmarkProxyCost,
// README). Every byte still waits its due time, chunk by chunk in the
// order read; chunks due by the same wake-up are written together; the
// loop sleeps to the next due chunk rounded up to the millisecond, so a
// chunk leaves up to about a millisecond late, never early.

// latencyProxy relays connections with a round trip added.
type latencyProxy struct {
	rtt     time.Duration
	synLoss float64
	n       uint64 // connections accepted

	ep       int       // the epoll descriptor
	epoch    time.Time // the loop's clock counts from here
	now      int64     // ns since epoch, as of the event being handled
	fds      []fdEntry // what each registered descriptor is, by number
	timers   timerHeap
	toClose  []int  // closed at the end of the loop's round, so that no number is reused within it
	buf      []byte // the one read buffer
	wbuf     []byte // chunks due together, joined for one write
	started  bool
	stopping atomic.Bool
	done     chan struct{}
}

// fdEntry is a registered descriptor: a listener or one side of a relay.
type fdEntry struct {
	ln *listener
	s  *side
}

// listener accepts connections and routes each to a backend; a
// connection routed nowhere is reset.
type listener struct {
	fd    int
	route func(fd int) (netip.AddrPort, bool)
}

// relay is one relayed connection: the client's side, the server's once
// dialled, and a flow each way.
type relay struct {
	client, server *side
	up, down       flow  // client to server, server to client
	open           int64 // the client's bytes leave no earlier than this plus the one-way delay
	backend        netip.AddrPort
}

// side is one socket of a relay.
type side struct {
	fd         int
	closed     bool // closed, or to be at the end of the loop's round
	connecting bool
	blocked    bool  // its send buffer is full: out waits for EPOLLOUT
	in, out    *flow // the flow reading it, the flow writing to it
}

// flow carries one direction: what src sent, each chunk held to its due
// time, then written to dst in order.
type flow struct {
	c        *relay
	src, dst *side
	q        []chunk // read and not yet written, oldest first
	ended    bool    // src's end is queued: nothing more to read
	done     bool    // the end was passed on, or writing failed
}

// chunk is what one read returned, or a stream's end: a FIN, passed on
// as a FIN (the other way may still carry an alert), or a reset.
type chunk struct {
	data []byte
	end  streamEnd
	due  int64
}

type streamEnd uint8

const (
	endFIN streamEnd = iota + 1
	endReset
)

// sideEvents are edge-triggered: a side is read until a read comes back
// short (the socket held no more), as nginx does, and EPOLLOUT matters
// only to a blocked side; so no side is ever re-registered.
const sideEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// dialTimeout bounds the connect to a backend.
const dialTimeout = 10 * time.Second

// newLatencyProxy makes a proxy; listen on it, then start it.
func newLatencyProxy(rtt time.Duration, synLoss float64) (*latencyProxy, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	return &latencyProxy{
		rtt: rtt, synLoss: synLoss, ep: ep, epoch: time.Now(),
		buf: make([]byte, 64<<10), done: make(chan struct{}),
	}, nil
}

// start runs the event loop until stop.
func (px *latencyProxy) start() {
	px.started = true
	go px.run()
}

// stop ends the loop and closes every socket.
func (px *latencyProxy) stop() {
	px.stopping.Store(true)
	if px.started {
		<-px.done
	} else {
		px.closeAll()
	}
}

// listenTCP listens on addr (port 0 picks one) and returns the address
// bound.
func (px *latencyProxy) listenTCP(addr netip.AddrPort, route func(fd int) (netip.AddrPort, bool)) (netip.AddrPort, error) {
	fd, err := unix.Socket(family(addr), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("socket for %s: %w", addr, err)
	}
	bound, err := bindListen(fd, addr)
	if err == nil {
		err = px.register(fd, fdEntry{ln: &listener{fd: fd, route: route}}, unix.EPOLLIN)
	}
	if err != nil {
		unix.Close(fd)
		return netip.AddrPort{}, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return bound, nil
}

func bindListen(fd int, addr netip.AddrPort) (netip.AddrPort, error) {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Bind(fd, sockaddr(addr)); err != nil {
		return netip.AddrPort{}, err
	}
	if err := unix.Listen(fd, listenBacklog()); err != nil {
		return netip.AddrPort{}, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return addrPort(sa), nil
}

// listenBacklog is the kernel's cap on listen queues, as the net package
// uses it.
func listenBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 4096
	}
	return min(n, 1<<16-1)
}

func family(a netip.AddrPort) int {
	if a.Addr().Unmap().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func sockaddr(a netip.AddrPort) unix.Sockaddr {
	if ip := a.Addr().Unmap(); ip.Is4() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: ip.As4()}
	}
	return &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

func (px *latencyProxy) register(fd int, e fdEntry, events uint32) error {
	if fd >= len(px.fds) {
		px.fds = append(px.fds, make([]fdEntry, fd+1-len(px.fds)+len(px.fds)/2)...)
	}
	px.fds[fd] = e
	ev := unix.EpollEvent{Events: events, Fd: int32(fd)}
	if err := unix.EpollCtl(px.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		px.fds[fd] = fdEntry{}
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

func (px *latencyProxy) clock() int64 { return int64(time.Since(px.epoch)) }

func (px *latencyProxy) run() {
	defer close(px.done)
	defer px.closeAll()
	events := make([]unix.EpollEvent, 256)
	for !px.stopping.Load() {
		n, err := unix.EpollWait(px.ep, events, px.waitMillis())
		if err != nil && !errors.Is(err, unix.EINTR) {
			fmt.Fprintln(os.Stderr, "latency proxy: epoll_wait:", err)
			return
		}
		for _, ev := range events[:max(n, 0)] {
			px.now = px.clock()
			px.handle(int(ev.Fd), ev.Events)
		}
		px.now = px.clock()
		px.fire()
		for _, fd := range px.toClose {
			px.fds[fd] = fdEntry{}
			unix.Close(fd)
		}
		px.toClose = px.toClose[:0]
	}
}

// waitMillis is how long the loop may sleep: to the next due chunk,
// rounded up, and at most 100 ms so that stop is seen.
func (px *latencyProxy) waitMillis() int {
	if len(px.timers) == 0 {
		return 100
	}
	d := px.timers[0].due - px.clock()
	if d <= 0 {
		return 0
	}
	return int(min((d+int64(time.Millisecond)-1)/int64(time.Millisecond), 100))
}

func (px *latencyProxy) closeAll() {
	for fd, e := range px.fds {
		if e.ln != nil || e.s != nil && !e.s.closed {
			unix.Close(fd)
		}
	}
	for _, fd := range px.toClose {
		unix.Close(fd)
	}
	unix.Close(px.ep)
}

func (px *latencyProxy) handle(fd int, events uint32) {
	if fd >= len(px.fds) {
		return
	}
	switch e := px.fds[fd]; {
	case e.ln != nil:
		px.accept(e.ln)
	case e.s != nil:
		px.ready(e.s, events)
	}
}

// accept accepts what the listener's queue holds, a round's worth at most.
func (px *latencyProxy) accept(l *listener) {
	for range 32 {
		fd, _, err := unix.Accept4(l.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			continue
		case err != nil:
			fmt.Fprintln(os.Stderr, "latency proxy: accept:", err)
			return
		}
		backend, ok := l.route(fd)
		if !ok {
			resetNow(fd)
			continue
		}
		px.n++
		c := &relay{backend: backend, open: px.now + int64(px.connectDelay(px.n))}
		c.client = &side{fd: fd, in: &c.up, out: &c.down}
		c.up = flow{c: c, src: c.client}
		c.down = flow{c: c, dst: c.client}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if err := px.register(fd, fdEntry{s: c.client}, sideEvents); err != nil {
			resetNow(fd)
		}
	}
}

// resetNow closes a socket that was never registered with a reset.
func resetNow(fd int) {
	_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
	unix.Close(fd)
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

func (px *latencyProxy) ready(s *side, events uint32) {
	if s.closed {
		return
	}
	if s.connecting {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		px.connected(s.out.c, events)
		if s.closed || s.connecting {
			return
		}
	} else if s.blocked && events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		s.blocked = false
		px.flush(s.out)
	}
	if !s.closed && events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		px.read(s, events&(unix.EPOLLRDHUP|unix.EPOLLERR|unix.EPOLLHUP) != 0)
	}
}

// read reads s until it holds no more, queueing each read with its due
// time. It never waits for the writing side, as a network keeps
// delivering while the receiver is busy. A short read means the socket
// held no more data; but when the peer has ended (ended), its FIN or
// reset may follow the data read, and no new event would tell of it, so
// then it reads on to the end.
func (px *latencyProxy) read(s *side, ended bool) {
	f := s.in
	for !f.ended {
		n, err := unix.Read(s.fd, px.buf)
		switch {
		case errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.EAGAIN):
			return
		case err != nil:
			px.end(f, endReset)
		case n == 0:
			px.end(f, endFIN)
		default:
			px.push(f, chunk{data: bytes.Clone(px.buf[:n])})
			if n < len(px.buf) && !ended {
				return
			}
		}
	}
}

// push queues a chunk read now: due after the one-way delay, and the
// client's not before its connection is open.
func (px *latencyProxy) push(f *flow, ch chunk) {
	at := px.now
	if f == &f.c.up {
		at = max(at, f.c.open)
	}
	ch.due = at + int64(px.rtt/2)
	f.q = append(f.q, ch)
	px.timers.push(timer{due: ch.due, f: f})
}

func (px *latencyProxy) end(f *flow, e streamEnd) {
	f.ended = true
	px.push(f, chunk{end: e})
}

// fire passes on whatever is due.
func (px *latencyProxy) fire() {
	for len(px.timers) > 0 && px.timers[0].due <= px.now {
		t := px.timers.pop()
		if t.dial != nil {
			if s := t.dial.server; s.connecting && !s.closed {
				px.dialFailed(t.dial)
			}
			continue
		}
		px.flush(t.f)
	}
}

// flush writes f's due chunks to its destination, in order, until one is
// not due or the destination's buffer is full. The client's first chunk
// dials the server: the proxy connects to the backend only when the
// client's first bytes are due there, as a real server accepts a
// connection about when its first data arrives (a single-threaded server,
// gnutls-serv, would otherwise sit blocked on a connection whose hello is
// still on its way). So the proxy serves protocols whose client speaks
// first, such as TLS.
func (px *latencyProxy) flush(f *flow) {
	if f.done || len(f.q) == 0 || f.q[0].due > px.now {
		return
	}
	c := f.c
	if f == &c.up && c.server == nil {
		if f.q[0].end != 0 { // closed before it said anything
			c.up.done, c.down.done = true, true
			px.resetClose(c.client)
			px.finish(c)
			return
		}
		px.dial(c)
		return
	}
	if f.dst.connecting || f.dst.blocked {
		return
	}
	for !f.done && len(f.q) > 0 && f.q[0].due <= px.now {
		switch {
		case f.q[0].end != 0:
			px.pass(f, f.q[0].end)
		case f.dst.closed:
			px.writeFailed(f)
		case !px.write(f):
			return
		}
	}
}

// write writes the due data chunks at the head of f's queue, joined, and
// reports whether all of them went.
func (px *latencyProxy) write(f *flow) bool {
	k, total := 0, 0
	for k < len(f.q) && f.q[k].end == 0 && f.q[k].due <= px.now && total < 64<<10 {
		total += len(f.q[k].data)
		k++
	}
	b := f.q[0].data
	if k > 1 {
		px.wbuf = px.wbuf[:0]
		for _, ch := range f.q[:k] {
			px.wbuf = append(px.wbuf, ch.data...)
		}
		b = px.wbuf
	}
	n, err := unix.Write(f.dst.fd, b)
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Write(f.dst.fd, b)
	}
	switch {
	case errors.Is(err, unix.EAGAIN):
		f.dst.blocked = true
		return false
	case err != nil:
		px.writeFailed(f)
		return false
	}
	f.dst.blocked = n < len(b)
	for n > 0 {
		if n < len(f.q[0].data) {
			f.q[0].data = f.q[0].data[n:]
			break
		}
		n -= len(f.q[0].data)
		f.q = f.q[1:]
	}
	return !f.dst.blocked
}

// pass passes f's end to its destination. A FIN that ends the relay goes
// with the close: the destination's own end was read, so nothing unread
// turns the close into a reset, and it saves the shutdown.
func (px *latencyProxy) pass(f *flow, e streamEnd) {
	f.q, f.done = nil, true
	other := &f.c.up
	if f == other {
		other = &f.c.down
	}
	switch {
	case f.dst.closed:
	case e == endFIN && other.done:
		px.closeLater(f.dst)
	case e == endFIN:
		_ = unix.Shutdown(f.dst.fd, unix.SHUT_WR)
	default:
		px.resetClose(f.dst)
	}
	px.finish(f.c)
}

// writeFailed resets the source of a flow whose destination failed, so
// that its reading ends too; the other flow ends in turn.
func (px *latencyProxy) writeFailed(f *flow) {
	f.q, f.done = nil, true
	px.resetClose(f.src)
	px.finish(f.c)
}

// resetClose closes s with a reset rather than a FIN. Whatever reads s
// ends with a reset too, passed on after the one-way delay.
func (px *latencyProxy) resetClose(s *side) {
	if s.closed {
		return
	}
	_ = unix.SetsockoptLinger(s.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
	px.closeLater(s)
	if f := s.in; !f.ended {
		px.end(f, endReset)
	}
}

func (px *latencyProxy) closeLater(s *side) {
	if !s.closed {
		s.closed = true
		px.toClose = append(px.toClose, s.fd)
	}
}

// finish closes a relay both of whose flows are done.
func (px *latencyProxy) finish(c *relay) {
	if !c.up.done || !c.down.done {
		return
	}
	px.closeLater(c.client)
	if c.server != nil {
		px.closeLater(c.server)
	}
}

// dial connects to the backend; the first chunk goes when it is done.
func (px *latencyProxy) dial(c *relay) {
	fd, err := unix.Socket(family(c.backend), unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency proxy: socket:", err)
		px.dialFailed(c)
		return
	}
	s := &side{fd: fd, in: &c.down, out: &c.up}
	c.server, c.up.dst, c.down.src = s, s, s
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	switch err := unix.Connect(fd, sockaddr(c.backend)); {
	case err == nil:
	case errors.Is(err, unix.EINPROGRESS):
		s.connecting = true
		px.timers.push(timer{due: px.now + int64(dialTimeout), dial: c})
	default:
		px.closeLater(s)
		px.dialFailed(c)
		return
	}
	if err := px.register(fd, fdEntry{s: s}, sideEvents); err != nil {
		px.closeLater(s)
		px.dialFailed(c)
		return
	}
	if !s.connecting {
		px.flush(&c.up)
	}
}

// connected ends a dial: EPOLLOUT alone says the connection is made.
func (px *latencyProxy) connected(c *relay, events uint32) {
	s := c.server
	if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		px.dialFailed(c)
		return
	}
	s.connecting = false
	px.flush(&c.up)
}

// dialFailed resets the client of a relay whose backend could not be
// reached.
func (px *latencyProxy) dialFailed(c *relay) {
	if c.server != nil {
		px.closeLater(c.server)
	}
	c.up.done, c.down.done = true, true
	px.resetClose(c.client)
	px.finish(c)
}

// timer is a flow's chunk coming due, or a dial's deadline.
type timer struct {
	due  int64
	f    *flow
	dial *relay
}

// timerHeap is a min-heap by due time.
type timerHeap []timer

func (h *timerHeap) push(t timer) {
	*h = append(*h, t)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if q[p].due <= q[i].due {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	q := *h
	t := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = timer{}
	q = q[:last]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(q) && q[l].due < q[m].due {
			m = l
		}
		if r < len(q) && q[r].due < q[m].due {
			m = r
		}
		if m == i {
			break
		}
		q[m], q[i] = q[i], q[m]
		i = m
	}
	*h = q
	return t
}

// TestLatencyProxyDelay times ping-pongs through the proxy at 20 ms: each
// takes at least the round trip (the bound the proxy must keep), and
// their median not much more: the loop's millisecond rounding and a busy
// machine's scheduling, with room for a loaded 2-core machine.
func TestLatencyProxyDelay(t *testing.T) {
	const rtt = 20 * time.Millisecond
	echo, _ := startEcho(t)
	px := startTestProxy(t, rtt, 0)
	front, err := px.listenTCP(netip.MustParseAddrPort("127.0.0.1:0"), to(echo))
	if err != nil {
		t.Fatal(err)
	}
	px.start()
	c, err := net.Dial("tcp", front.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	last := exchange(t, c)
	var took []time.Duration
	for range 15 {
		next := exchange(t, c)
		took = append(took, next.Sub(last))
		last = next
	}
	slices.Sort(took)
	if took[0] < rtt {
		t.Errorf("a ping-pong took %v, less than the round trip %v", took[0], rtt)
	}
	if m := took[len(took)/2]; m > rtt+100*time.Millisecond {
		t.Errorf("ping-pongs took %v at the median, over the round trip %v by more than 100 ms", m, rtt)
	}
	t.Logf("ping-pongs at %v: %v", rtt, took)
}

// TestLatencyProxyEnds: a FIN passes each way as a FIN (the other way
// still carries data after it), and a reset each way as a reset.
func TestLatencyProxyEnds(t *testing.T) {
	const rtt = 10 * time.Millisecond
	px := startTestProxy(t, rtt, 0)
	echo, _ := startEcho(t)
	backend, ends := startEndServer(t)
	viaEcho, err := px.listenTCP(netip.MustParseAddrPort("127.0.0.1:0"), to(echo))
	if err != nil {
		t.Fatal(err)
	}
	viaEnd, err := px.listenTCP(netip.MustParseAddrPort("127.0.0.1:0"), to(backend))
	if err != nil {
		t.Fatal(err)
	}
	px.start()

	t.Run("client FIN", func(t *testing.T) {
		c := dialTCP(t, viaEcho)
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		if err := c.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		// The echo answers after its read side ended, then closes.
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "ping\n" {
			t.Errorf("after a half-close: read %q, %v; want the echo and a FIN", got, err)
		}
	})
	t.Run("client reset", func(t *testing.T) {
		c := dialTCP(t, viaEnd)
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if got := <-ends; got != "hello" {
			t.Fatalf("the server read %q, want hello", got)
		}
		_ = c.SetLinger(0)
		c.Close()
		if got := <-ends; got != "reset" {
			t.Errorf("a client's reset reached the server as %q", got)
		}
	})
	t.Run("server reset", func(t *testing.T) {
		c := dialTCP(t, viaEnd)
		if _, err := c.Write([]byte("reset")); err != nil {
			t.Fatal(err)
		}
		<-ends
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("a server's reset reached the client as %v", err)
		}
	})
}

func dialTCP(t *testing.T, a netip.AddrPort) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", a.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c.(*net.TCPConn)
}

// startEndServer serves connections that send one word: it reports the
// word, then resets the connection when the word is "reset", and
// otherwise reports how the client's side ended: "fin" or "reset".
func startEndServer(t *testing.T) (netip.AddrPort, <-chan string) {
	t.Helper()
	ends := make(chan string, 16)
	addr := tlstest.RawServer(t, func(_ context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil {
			ends <- "read: " + err.Error()
			return
		}
		ends <- string(buf)
		if string(buf) == "reset" {
			_ = c.(*net.TCPConn).SetLinger(0)
			return
		}
		_, err := c.Read(buf)
		switch {
		case errors.Is(err, io.EOF):
			ends <- "fin"
		case errors.Is(err, syscall.ECONNRESET):
			ends <- "reset"
		default:
			ends <- fmt.Sprintf("read: %v", err)
		}
	})
	return addr, ends
}
