package scanner

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/resolve"
)

// waitHeld waits until s holds the caps of endpoints endpoints and
// addresses addresses (connections closed in the background give theirs
// back a moment after the scan), and fails the test if it does not
// within a few seconds.
func waitHeld(t *testing.T, s *Scanner, endpoints, addresses int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, a, _ := s.heldCaps()
		if e == endpoints && a == addresses {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scanner holds the caps of %d endpoints and %d addresses, want %d and %d", e, a, endpoints, addresses)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScanForgetsEndpointCaps scans 200 endpoints, each on a loopback
// address of its own, with a probe that dials every way a probe does:
// one connection after another (so that connections are opened ahead),
// several at once, one alone, and one to a closed port of the address
// through Dial. Once every connection is closed the scanner holds no
// endpoint's or address's caps: a scan of an estate does not keep one
// per endpoint for the process's life.
func TestScanForgetsEndpointCaps(t *testing.T) {
	const n = 200
	var targets []tlswarden.Target
	for i := range n {
		a := netip.AddrFrom4([4]byte{127, 11, byte(i / 250), byte(i%250 + 1)})
		srv := newCountingServerOn(t, netip.AddrPortFrom(a, 0).String(), nil)
		targets = append(targets, targetOf(srv.addr))
	}
	var s *Scanner
	var mostHeld atomic.Int64
	every := tlswarden.Probe{Name: "every-dial", Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		if e, _, _ := s.heldCaps(); int64(e) > mostHeld.Load() {
			mostHeld.Store(int64(e)) // a lower bound of the most held: enough to show they were
		}
		for range 3 {
			if err := dialAndDrain(ctx, dial); err != nil {
				return tlswarden.Observation{}, err
			}
		}
		if _, err := burstProbe(3).Run(ctx, ep, dial); err != nil {
			return tlswarden.Observation{}, err
		}
		if err := dialAndDrain(tlswarden.DialAlone(ctx), dial); err != nil {
			return tlswarden.Observation{}, err
		}
		if c, err := s.Dial(ctx, netip.AddrPortFrom(ep.Addr.Addr(), 1)); err == nil {
			c.Close()
			return tlswarden.Observation{}, fmt.Errorf("port 1 of %s answered", ep.Addr.Addr())
		}
		return tlswarden.Observation{}, nil
	}}
	s, err := New(Config{Probes: []tlswarden.Probe{every}, Concurrency: 50})
	if err != nil {
		t.Fatal(err)
	}
	s.ScanAll(t.Context(), targets, func(r *tlswarden.Report) {
		if !r.Scanned() || len(r.Endpoints) != 1 || r.Endpoints[0].Status != tlswarden.StatusOK {
			t.Errorf("%s: %s %s %+v", r.Target, r.Status, r.Error, r.Endpoints)
		}
	})
	if mostHeld.Load() == 0 {
		t.Fatal("no probe saw the caps of its endpoint held")
	}
	waitHeld(t, s, 0, 0)
	if _, _, serial := s.heldCaps(); serial != 0 {
		t.Errorf("%d endpoints remembered as taking one connection at a time, want none", serial)
	}
}

// dialAndDrain dials, reads until the server closes, and closes.
func dialAndDrain(ctx context.Context, dial tlswarden.DialFunc) error {
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, c)
	return c.Close()
}

// holdingServer accepts connections on loopback and keeps each open until
// the client closes it, or the test ends.
func holdingServer(t *testing.T) netip.AddrPort {
	t.Helper()
	return tlstest.RawServer(t, func(_ context.Context, c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}

// TestScanKeepsCapsWhileAConnectionIsOpen: a connection that outlives its
// endpoint's scan keeps the endpoint's caps, and its slot in them: a scan
// of the endpoint meanwhile opens no more than the cap beside it. Once it
// is closed, the caps are forgotten. The connections open at once are
// counted on the client's side, from the dial's return to the close:
// the server sees a close a moment after the slot is given back.
func TestScanKeepsCapsWhileAConnectionIsOpen(t *testing.T) {
	addr := holdingServer(t)
	var g gauge
	kept := make(chan net.Conn, 1)
	var second atomic.Bool // the first scan keeps a connection; the second opens four
	probe := tlswarden.Probe{Name: "keep-then-hold", Run: func(ctx context.Context, _ tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		if !second.Load() {
			c, err := dial(ctx)
			if err == nil {
				g.inc()
				kept <- c
			}
			return tlswarden.Observation{}, err
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				c, err := dial(ctx)
				if err != nil {
					errs <- err
					return
				}
				g.inc()
				time.Sleep(30 * time.Millisecond)
				g.open.Add(-1)
				c.Close()
			})
		}
		wg.Wait()
		close(errs)
		return tlswarden.Observation{}, <-errs
	}}
	s, err := New(Config{Probes: []tlswarden.Probe{probe}, MaxConnsPerEndpoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Scan(t.Context(), targetOf(addr)); !r.Scanned() || r.Endpoints[0].Status != tlswarden.StatusOK {
		t.Fatalf("keep: %s %+v", r.Status, r.Endpoints)
	}
	c := <-kept
	waitHeld(t, s, 1, 1) // the spare opened after the dial, if any, is closed
	if got := s.users(addr); got != 1 {
		t.Errorf("%d users of the endpoint's caps with one connection open after its scan, want 1", got)
	}
	second.Store(true)
	if r := s.Scan(t.Context(), targetOf(addr)); !r.Scanned() || r.Endpoints[0].Status != tlswarden.StatusOK {
		t.Fatalf("hold: %s %+v", r.Status, r.Endpoints)
	}
	if got := g.maxOpen.Load(); got != 2 {
		t.Errorf("at most %d connections were open at once, want 2 (the cap, the kept connection one of them)", got)
	}
	g.open.Add(-1)
	c.Close()
	waitHeld(t, s, 0, 0)
}

// meet makes n probe runs wait for each other before they go on, so that
// they run at once.
type meet struct {
	n       int
	arrived atomic.Int64
	all     chan struct{}
}

func newMeet(n int) *meet { return &meet{n: n, all: make(chan struct{})} }

func (m *meet) wait(ctx context.Context) error {
	if m.arrived.Add(1) == int64(m.n) {
		close(m.all)
	}
	select {
	case <-m.all:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%d of %d runs met", m.arrived.Load(), m.n)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestScanNamesSharingAnAddressShareItsCaps scans two names resolving to
// one address at once (their probes wait for each other): on one port
// they are one endpoint and share its cap; on two ports they share the
// address's.
func TestScanNamesSharingAnAddressShareItsCaps(t *testing.T) {
	for _, tc := range []struct {
		name              string
		samePort          bool
		perEndpoint, want int
	}{
		{name: "one port", samePort: true, perEndpoint: 3, want: 3},
		{name: "two ports", perEndpoint: 4, want: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var shared gauge
			a := newSharedCountingServer(t, &shared)
			b := a
			if !tc.samePort {
				b = newSharedCountingServer(t, &shared)
			}
			dns := dnstest.New(t)
			dns.Add("a.example.test. 60 IN A 127.0.0.1", "b.example.test. 60 IN A 127.0.0.1")
			res, err := resolve.New(resolve.Config{Servers: []string{dns.Addr}})
			if err != nil {
				t.Fatal(err)
			}
			m := newMeet(2)
			burst := burstProbe(12)
			met := tlswarden.Probe{Name: "met-burst", Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
				if err := m.wait(ctx); err != nil {
					return tlswarden.Observation{}, err
				}
				return burst.Run(ctx, ep, dial)
			}}
			s, err := New(Config{Resolver: res, Probes: []tlswarden.Probe{met}, MaxConnsPerEndpoint: tc.perEndpoint, MaxConnsPerAddr: 5})
			if err != nil {
				t.Fatal(err)
			}
			targets := []tlswarden.Target{
				{Host: "a.example.test", Port: int(a.addr.Port())},
				{Host: "b.example.test", Port: int(b.addr.Port())},
			}
			s.ScanAll(t.Context(), targets, func(r *tlswarden.Report) {
				if !r.Scanned() || len(r.Endpoints) != 1 || r.Endpoints[0].Status != tlswarden.StatusOK {
					t.Errorf("%s: %s %s %+v", r.Target, r.Status, r.Error, r.Endpoints)
				}
			})
			if got := shared.maxOpen.Load(); got != int64(tc.want) {
				t.Errorf("the address saw at most %d connections at once, want %d (the cap, reached)", got, tc.want)
			}
			waitHeld(t, s, 0, 0)
		})
	}
}

// TestScanRemembersOneAtATime: an endpoint found to take one connection at
// a time is scanned so, and reported so, by the Scanner's later scans,
// though its caps were forgotten in between.
func TestScanRemembersOneAtATime(t *testing.T) {
	srv := newCountingServer(t)
	s, err := New(Config{Probes: []tlswarden.Probe{burstProbe(4)}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), targetOf(srv.addr))
	if !r.Scanned() || r.Endpoints[0].OneConnectionAtATime {
		t.Fatalf("first scan: %s %+v", r.Status, r.Endpoints)
	}
	if got := srv.maxOpen.Load(); got < 2 {
		t.Fatalf("the first scan opened at most %d connections at once, want several", got)
	}
	c, err := s.Dial(t.Context(), srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.(tlswarden.SharedConn).OneAtATime()
	c.Close()
	waitHeld(t, s, 0, 0)
	if _, _, serial := s.heldCaps(); serial != 1 {
		t.Fatalf("%d endpoints remembered as taking one connection at a time, want 1", serial)
	}
	// Every connection accepted and done on the server's side too.
	for srv.accepted.Load() != s.Connections() || srv.open.Load() != 0 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.maxOpen.Store(0)
	r = s.Scan(t.Context(), targetOf(srv.addr))
	if !r.Scanned() || !r.Endpoints[0].OneConnectionAtATime {
		t.Errorf("second scan: %s %+v; want it reported as taking one connection at a time", r.Status, r.Endpoints)
	}
	if got := srv.maxOpen.Load(); got != 1 {
		t.Errorf("the second scan opened at most %d connections at once, want 1", got)
	}
}
