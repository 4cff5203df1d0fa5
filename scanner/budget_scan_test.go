package scanner

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tlswarden/tlswarden"
)

// TestScannerBudgetAdapts scans real loopback servers with a probe that
// opens a few connections and reads each one's first byte: answers grow
// the budget's window; resets before any answer, from a server that
// answered before, shrink it; a refused port leaves it alone.
func TestScannerBudgetAdapts(t *testing.T) {
	answering := serveFirstBytes(t, func(int) bool { return true })
	resetting := serveFirstBytes(t, func(n int) bool { return n == 1 }) // answers its first connection only
	refused := closedPort(t)
	for _, tc := range []struct {
		name    string
		addr    netip.AddrPort
		targets int
		check   func(w float64) string
	}{
		{"answered", answering, 30, func(w float64) string {
			if w <= initialWindow {
				return "did not grow"
			}
			return ""
		}},
		{"reset", resetting, 1, func(w float64) string {
			if w >= initialWindow {
				return "did not shrink"
			}
			return ""
		}},
		{"refused", refused, 10, func(w float64) string {
			if w != initialWindow {
				return "changed"
			}
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Config{MaxInFlight: 1000, Probes: []tlswarden.Probe{pokeProbe(3)}})
			if err != nil {
				t.Fatal(err)
			}
			ts := make([]tlswarden.Target, tc.targets)
			for i := range ts {
				ts[i] = tlswarden.Target{Host: tc.addr.Addr().String(), Port: int(tc.addr.Port())}
			}
			s.ScanAll(t.Context(), ts, func(*tlswarden.Report) {})
			w, inFlight, running := s.budget.snapshot()
			if msg := tc.check(w); msg != "" {
				t.Errorf("window %v after %d connections: %s", w, s.Connections(), msg)
			}
			if inFlight != 0 || running != 0 {
				t.Errorf("after the scan: %d connections in flight, %d targets running; want none", inFlight, running)
			}
		})
	}
}

// pokeProbe opens n connections one after the other and reads the first
// byte of each.
func pokeProbe(n int) tlswarden.Probe {
	return tlswarden.Probe{Name: "poke", Run: func(ctx context.Context, _ tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		var errs []error
		for range n {
			if err := poke(ctx, dial); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return tlswarden.Observation{}, fmt.Errorf("%d of %d connections failed, first: %w", len(errs), n, errs[0])
		}
		return tlswarden.Observation{}, nil
	}}
}

func poke(ctx context.Context, dial tlswarden.DialFunc) error {
	c, err := dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Read(make([]byte, 1))
	return err
}

// serveFirstBytes accepts connections on a loopback port and, for the n-th
// (from 1), writes a byte when answer(n) says so, or resets it.
func serveFirstBytes(t *testing.T, answer func(n int) bool) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if answer(n) {
				_, _ = c.Write([]byte("x"))
				go func() { _, _ = c.Read(make([]byte, 1)); c.Close() }()
				continue
			}
			_ = c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return a
}

// TestScannerBudgetStopsAtABottleneck: 48 endpoints that together answer
// 400 connections a second, from one queue, in front of 768 connections
// the scan would open at once. Answers keep coming, so no loss would stop
// slow start before the window reached every connection wanted; the
// answers' delay, growing with the queue, stops it far below that, and
// every endpoint is answered.
func TestScannerBudgetStopsAtABottleneck(t *testing.T) {
	const endpoints, perEndpoint = 48, 16
	addrs := serveAtRate(t, 400, endpoints)
	s, err := New(Config{
		MaxInFlight: 4000, MaxConnsPerEndpoint: perEndpoint, MaxConnsPerAddr: 100000,
		Probes: []tlswarden.Probe{parallelPokes(perEndpoint, 3)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ts []tlswarden.Target
	for _, a := range addrs {
		ts = append(ts, tlswarden.Target{Host: a.Addr().String(), Port: int(a.Port())})
	}
	for _, r := range scanAll(t, s, ts) {
		if e := r.Endpoints[0]; e.Status != tlswarden.StatusOK {
			t.Errorf("%s: %s (%s)", e.Endpoint, e.Status, e.Error)
		}
	}
	st := s.Budget()
	t.Logf("budget after the scan: %+v", st)
	if st.Peak > endpoints*perEndpoint/2 || st.DelayExit == 0 {
		t.Errorf("peak %d connections in flight of the %d wanted, delay exit at %v: want slow start ended by the delay well below",
			st.Peak, endpoints*perEndpoint, st.DelayExit)
	}
}

// parallelPokes runs n pokes at once, each k times one after the other.
func parallelPokes(n, k int) tlswarden.Probe {
	one := pokeProbe(k)
	return tlswarden.Probe{Name: "pokes", Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		var g errgroup.Group
		for range n {
			g.Go(func() error {
				_, err := one.Run(ctx, ep, dial)
				return err
			})
		}
		return tlswarden.Observation{}, g.Wait()
	}}
}

// serveAtRate listens on n loopback ports and answers the connections
// they accept, from one queue in the order accepted, at perSecond a
// second: a bottleneck (a server's CPU, a link) that queues what it
// cannot serve at once.
func serveAtRate(t *testing.T, perSecond float64, n int) []netip.AddrPort {
	t.Helper()
	queue := make(chan net.Conn, 100000)
	done := make(chan struct{})
	var addrs []netip.AddrPort
	for range n {
		addrs = append(addrs, acceptOn(t, "127.0.0.1", func(c net.Conn) { queue <- c }))
	}
	t.Cleanup(func() { close(done) })
	go func() {
		every := time.Duration(float64(time.Second) / perSecond)
		next := time.Now()
		for {
			select {
			case c := <-queue:
				next = next.Add(every)
				if late := time.Now().Add(-every); next.Before(late) {
					next = late // behind (a busy host): no burst to catch up
				}
				time.Sleep(time.Until(next))
				_, _ = c.Write([]byte("x"))
				go func() { _, _ = c.Read(make([]byte, 1)); c.Close() }()
			case <-done:
				return
			}
		}
	}()
	return addrs
}

// TestScannerNewAddressesStartAtOnce: 40 endpoints, each on an address of
// its own, each wanting 4 connections at once, behind servers that answer
// none until all 160 are open (or 5 s have passed): the addresses' credit
// (64 + 39 × 4) lets the window hold them all from the start, where the
// initial window alone would wait for answers that do not come.
func TestScannerNewAddressesStartAtOnce(t *testing.T) {
	const endpoints, perEndpoint = 40, 4
	addrs := serveBarrier(t, endpoints, endpoints*perEndpoint, 5*time.Second)
	s, err := New(Config{MaxInFlight: 4000, Probes: []tlswarden.Probe{parallelPokes(perEndpoint, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	var ts []tlswarden.Target
	for _, a := range addrs {
		ts = append(ts, tlswarden.Target{Host: a.Addr().String(), Port: int(a.Port())})
	}
	start := time.Now()
	for _, r := range scanAll(t, s, ts) {
		if e := r.Endpoints[0]; e.Status != tlswarden.StatusOK {
			t.Errorf("%s: %s (%s)", e.Endpoint, e.Status, e.Error)
		}
	}
	if st := s.Budget(); st.Peak < endpoints*perEndpoint {
		t.Errorf("peak %d connections in flight, want all %d at once (the barrier let go after %v)", st.Peak, endpoints*perEndpoint, time.Since(start))
	}
}

// serveBarrier listens on n loopback addresses (127.0.0.10 onwards) and
// answers no connection before total are open at once, or wait has passed
// since the first.
func serveBarrier(t *testing.T, n, total int, wait time.Duration) []netip.AddrPort {
	t.Helper()
	var (
		mu      sync.Mutex
		held    int // connections accepted
		release = make(chan struct{})
		once    sync.Once
		timer   *time.Timer
	)
	open := func() { once.Do(func() { close(release) }) }
	t.Cleanup(func() {
		open()
		mu.Lock()
		defer mu.Unlock()
		if timer != nil {
			timer.Stop()
		}
	})
	var addrs []netip.AddrPort
	for i := range n {
		addrs = append(addrs, acceptOn(t, fmt.Sprintf("127.0.0.%d", 10+i), func(c net.Conn) {
			mu.Lock()
			held++
			if timer == nil {
				timer = time.AfterFunc(wait, open)
			}
			if held >= total {
				open()
			}
			mu.Unlock()
			go func() {
				<-release
				_, _ = c.Write([]byte("x"))
				_, _ = c.Read(make([]byte, 1))
				c.Close()
			}()
		}))
	}
	return addrs
}

// acceptOn listens on a free port of the loopback address host and hands
// every connection it accepts to handle, until the test ends.
func acceptOn(t *testing.T, host string, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			handle(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}
