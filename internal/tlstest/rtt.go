package tlstest

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// RTTDialer is a Dialer (loopback only, capped at MaxConns) with a network
// in front: the connect costs one round trip (Dial returns after it,
// holding its slot, as a real connect does), and a read that follows a
// write returns no earlier than one round trip after the write; reads on
// within the same flight cost nothing more, and writes do not block. It
// measures a probe's critical path in round trips: wall time over RTT.
type RTTDialer struct {
	*Dialer
	RTT time.Duration
}

// NewRTTDialer returns an RTTDialer to addr with round trip rtt, at most
// maxConns connections at once.
func NewRTTDialer(addr netip.AddrPort, rtt time.Duration, maxConns int) *RTTDialer {
	d := NewDialer(addr)
	d.MaxConns = maxConns
	return &RTTDialer{Dialer: d, RTT: rtt}
}

// Dial connects, then waits the connect's round trip.
func (d *RTTDialer) Dial(ctx context.Context) (net.Conn, error) {
	c, err := d.Dialer.Dial(ctx)
	if err != nil || d.RTT == 0 {
		return c, err
	}
	select {
	case <-time.After(d.RTT):
	case <-ctx.Done():
		c.Close()
		return nil, ctx.Err()
	}
	return &rttConn{Conn: c, rtt: d.RTT}, nil
}

// rttConn delays the answers of one connection by its round trip.
type rttConn struct {
	net.Conn
	rtt time.Duration

	mu  sync.Mutex
	due time.Time // when the answer to the last write arrives; zero: none pending
}

func (c *rttConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.due.IsZero() {
		c.due = time.Now().Add(c.rtt)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *rttConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	due := c.due
	c.due = time.Time{}
	c.mu.Unlock()
	if wait := time.Until(due); wait > 0 {
		time.Sleep(wait)
	}
	return n, err
}
