package scanner

import (
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tlswarden/tlswarden/internal/testenv"
)

// connCounter counts, on the server side, how many connections are open at
// once: at each accept it drops the connections the client has closed,
// which the kernel knows at once (the socket leaves ESTABLISHED when the
// FIN arrives), however late the server's goroutines notice.
type connCounter struct {
	mu      sync.Mutex
	open    []syscall.Conn
	maxOpen int
	accepts []time.Time
}

// listen wraps ln so that every accepted connection is counted.
func (c *connCounter) listen(ln net.Listener) net.Listener {
	return &countingListener{Listener: ln, c: c}
}

type countingListener struct {
	net.Listener
	c *connCounter
}

func (l *countingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.c.accepted(conn)
	}
	return conn, err
}

func (c *connCounter) accepted(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.accepts = append(c.accepts, time.Now())
	still := c.open[:0]
	for _, o := range c.open {
		if established(o) {
			still = append(still, o)
		}
	}
	c.open = still
	if sc, ok := conn.(syscall.Conn); ok {
		c.open = append(c.open, sc)
	}
	c.maxOpen = max(c.maxOpen, len(c.open))
}

// established reports whether the socket is open at both ends: neither the
// server closed it nor the client's FIN arrived.
func established(c syscall.Conn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	state := uint8(0)
	err = raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	})
	return err == nil && state == unix.BPF_TCP_ESTABLISHED
}

func (c *connCounter) stats() (accepted, maxOpen int, times []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.accepts), c.maxOpen, append([]time.Time(nil), c.accepts...)
}

// listenCounted listens on addr ("127.0.0.1:0") and counts connections;
// accepted connections are held until the client closes them.
func listenCounted(t *testing.T, addr string) (*connCounter, net.Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	testenv.Need(t, "a listener on "+addr, err)
	c := &connCounter{}
	cl := c.listen(ln)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := cl.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := conn.Read(buf); err != nil {
						return
					}
				}
			})
		}
	})
	return c, ln
}

// waitAccepted waits up to two seconds for the server to accept n
// connections, since the last accept can trail the client's dial, and
// returns the number accepted.
func (c *connCounter) waitAccepted(n int) int {
	deadline := time.Now().Add(2 * time.Second)
	for {
		got, _, _ := c.stats()
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}
