package tlstest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// GoServer starts a crypto/tls server on 127.0.0.1 with cfg and returns its
// address. Each connection gets a handshake (bounded to ten seconds) in its
// own goroutine and is then closed; handshake errors, which a scanner
// provokes on purpose, are dropped. The server stops when the test ends.
func GoServer(t testing.TB, cfg *tls.Config) netip.AddrPort {
	t.Helper()
	return RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_ = tls.Server(c, cfg).HandshakeContext(ctx)
	})
}

// RawServer listens on 127.0.0.1 and runs handle on each connection in its
// own goroutine, closing the connection when handle returns. When the test
// ends it stops listening, cancels the handlers' context, closes every open
// connection and waits for the handlers.
func RawServer(t testing.TB, handle func(ctx context.Context, c net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("tlstest: listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				handle(ctx, c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		cancel()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}

// Dialer connects to one loopback address for probes under test, the way
// the scanner's dialer does: it counts every dial and, when MaxConns is set,
// bounds simultaneous connections (a dial waits for a free slot).
type Dialer struct {
	Addr     netip.AddrPort
	MaxConns int

	n    atomic.Int64
	once sync.Once
	sem  chan struct{}
}

// NewDialer returns a Dialer for addr with no connection limit.
func NewDialer(addr netip.AddrPort) *Dialer { return &Dialer{Addr: addr} }

// Count returns the number of dials made so far.
func (d *Dialer) Count() int { return int(d.n.Load()) }

// Dial opens one connection; it has the signature of tlswarden.DialFunc.
// It refuses any address that is not loopback.
func (d *Dialer) Dial(ctx context.Context) (net.Conn, error) {
	if !d.Addr.Addr().IsLoopback() {
		return nil, fmt.Errorf("tlstest: refusing to dial %s: not a loopback address", d.Addr)
	}
	d.once.Do(func() {
		if d.MaxConns > 0 {
			d.sem = make(chan struct{}, d.MaxConns)
		}
	})
	if d.sem != nil {
		select {
		case d.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("dial %s: waiting for a slot: %w", d.Addr, ctx.Err())
		}
	}
	d.n.Add(1)
	nd := net.Dialer{Timeout: 5 * time.Second}
	c, err := nd.DialContext(ctx, "tcp", d.Addr.String())
	if err != nil {
		d.release()
		return nil, fmt.Errorf("dial %s: %w", d.Addr, err)
	}
	return &slotConn{Conn: c, release: sync.OnceFunc(d.release)}, nil
}

func (d *Dialer) release() {
	if d.sem != nil {
		<-d.sem
	}
}

// slotConn gives its slot back when closed.
type slotConn struct {
	net.Conn
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
