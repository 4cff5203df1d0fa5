package vuln

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

func TestTicketWait(t *testing.T) {
	const ms = time.Millisecond
	for _, tc := range []struct{ rtt, max, want time.Duration }{
		{0, 3 * time.Second, 3 * time.Second}, // no round trip measured: the old wait
		{200 * time.Microsecond, 3 * time.Second, 250*ms + 600*time.Microsecond},
		{50 * ms, 3 * time.Second, 400 * ms},
		{150 * ms, 3 * time.Second, 700 * ms},
		{2 * time.Second, 3 * time.Second, 3 * time.Second},
		{50 * ms, 300 * ms, 300 * ms},
	} {
		if got := ticketWait(tc.rtt, tc.max); got != tc.want {
			t.Errorf("ticketWait(%v, %v) = %v, want %v", tc.rtt, tc.max, got, tc.want)
		}
	}
}

// delayedTicketServer is a Go TLS 1.3 server that sends its session
// ticket delay after it has read the client's second flight, and keeps
// the connection open. It asks for a client certificate, which makes Go's
// server send its tickets only after reading the client's flight, never
// with its own Finished. delayed counts the writes held back.
func delayedTicketServer(t *testing.T, delay time.Duration) (addr netip.AddrPort, delayed *atomic.Int64) {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, ClientAuth: tls.RequestClientCert}
	delayed = new(atomic.Int64)
	addr = tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		tc := tls.Server(&ticketDelayConn{Conn: c, delay: delay, delayed: delayed}, cfg)
		if tc.HandshakeContext(ctx) == nil {
			_, _ = io.Copy(io.Discard, tc)
		}
	})
	return addr, delayed
}

// ticketDelayConn holds back a server's first write after the client has
// sent an application_data record (its encrypted second flight, in TLS
// 1.3): the session tickets.
type ticketDelayConn struct {
	net.Conn
	delay   time.Duration
	delayed *atomic.Int64

	mu      sync.Mutex
	hdr     []byte // the record header being read
	left    int    // bytes of the current record body still to come
	flight2 bool   // the client sent an application_data record
	held    bool
}

func (c *ticketDelayConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	for b := p[:n]; len(b) > 0; {
		if c.left > 0 {
			k := min(c.left, len(b))
			c.left, b = c.left-k, b[k:]
			continue
		}
		k := min(5-len(c.hdr), len(b))
		c.hdr, b = append(c.hdr, b[:k]...), b[k:]
		if len(c.hdr) == 5 {
			c.flight2 = c.flight2 || c.hdr[0] == 23
			c.left, c.hdr = int(c.hdr[3])<<8|int(c.hdr[4]), c.hdr[:0]
		}
	}
	return n, err
}

func (c *ticketDelayConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	hold := c.flight2 && !c.held
	c.held = c.held || hold
	c.mu.Unlock()
	if hold {
		c.delayed.Add(1)
		time.Sleep(c.delay)
	}
	return c.Conn.Write(p)
}

// TestDelayedTicket13 checks that a server whose ticket comes late, within
// the wait, is found to resume: 150 ms on loopback (under the 250 ms
// floor), and 300 ms through a 100 ms round trip (above the floor, under
// the 550 ms three round trips and 250 ms give).
func TestDelayedTicket13(t *testing.T) {
	for _, tc := range []struct{ rtt, delay time.Duration }{
		{0, 150 * time.Millisecond},
		{100 * time.Millisecond, 300 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("rtt=%v,delay=%v", tc.rtt, tc.delay), func(t *testing.T) {
			t.Parallel()
			addr, delayed := delayedTicketServer(t, tc.delay)
			r := &run{cfg: Config{NoIntrusive: true}.withDefaults(), ep: tlswarden.Endpoint{Host: "localhost", Addr: addr},
				dial: tlstest.NewRTTDialer(addr, tc.rtt, 4).Dial, start: time.Now()}
			rs := r.resumption13(t.Context())
			if rs.Status != tlswarden.StatusOK || !rs.Tested || !rs.TicketIssued || !rs.Resumed {
				t.Errorf("TLS 1.3 resumption %+v, want a ticket that resumes", rs)
			}
			if delayed.Load() == 0 {
				t.Error("the server held back no ticket")
			}
		})
	}
}
