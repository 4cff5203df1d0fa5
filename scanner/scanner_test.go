package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// countingServer accepts connections on loopback, holds each open for a
// moment, then closes it, and records the most connections open at once,
// on its own and over every server sharing its address gauge.
type countingServer struct {
	addr     netip.AddrPort
	accepted atomic.Int64
	gauge           // this server's connections
	shared   *gauge // all servers' connections on the address; may be nil
}

// gauge counts open connections and the most ever open at once.
type gauge struct{ open, maxOpen atomic.Int64 }

func (g *gauge) inc() {
	n := g.open.Add(1)
	for m := g.maxOpen.Load(); n > m && !g.maxOpen.CompareAndSwap(m, n); m = g.maxOpen.Load() {
	}
}

func newCountingServer(t *testing.T) *countingServer { return newSharedCountingServer(t, nil) }

// newSharedCountingServer starts a counting server that also counts its
// connections in shared.
func newSharedCountingServer(t *testing.T, shared *gauge) *countingServer {
	t.Helper()
	return newCountingServerOn(t, "127.0.0.1:0", shared)
}

// newCountingServerOn starts a counting server listening on addr.
func newCountingServerOn(t *testing.T, addr string, shared *gauge) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &countingServer{addr: ln.Addr().(*net.TCPAddr).AddrPort(), shared: shared}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.inc()
			if s.shared != nil {
				s.shared.inc()
			}
			wg.Go(func() {
				time.Sleep(20 * time.Millisecond)
				s.open.Add(-1)
				if s.shared != nil {
					s.shared.open.Add(-1)
				}
				c.Close()
			})
		}
	})
	return s
}

func targetOf(a netip.AddrPort) tlswarden.Target {
	return tlswarden.Target{Host: a.Addr().String(), Port: int(a.Port())}
}

// burstProbe opens n connections at once through the scanner's dialer and
// holds each until the server closes it.
func burstProbe(n int) tlswarden.Probe {
	return tlswarden.Probe{Name: "burst", Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				c, err := dial(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			})
		}
		wg.Wait()
		return tlswarden.Observation{}, errors.Join(errs...)
	}}
}

// TestScanCapsConnectionsPerEndpointAndAddress scans four endpoints on one
// address: each sees at most the endpoint cap, all together at most the
// address cap.
func TestScanCapsConnectionsPerEndpointAndAddress(t *testing.T) {
	var shared gauge
	var targets []tlswarden.Target
	var srvs []*countingServer
	for range 4 {
		srv := newSharedCountingServer(t, &shared)
		srvs = append(srvs, srv)
		targets = append(targets, tlswarden.Target{Host: "127.0.0.1", Port: int(srv.addr.Port())})
	}
	s, err := New(Config{Probes: []tlswarden.Probe{burstProbe(8)}, MaxConnsPerEndpoint: 2, MaxConnsPerAddr: 5})
	if err != nil {
		t.Fatal(err)
	}
	s.ScanAll(t.Context(), targets, func(r *tlswarden.Report) {
		if !r.Scanned() {
			t.Errorf("%s: %s", r.Target, r.Status)
		}
	})
	for _, srv := range srvs {
		if got := srv.maxOpen.Load(); got != 2 {
			t.Errorf("%s saw at most %d connections open at once, want 2 (the endpoint cap, reached)", srv.addr, got)
		}
	}
	if got := shared.maxOpen.Load(); got != 5 {
		t.Errorf("the address saw at most %d connections open at once, want 5 (the address cap, reached)", got)
	}
	// 32 dials, and for each endpoint at most one connection opened ahead
	// of a dial that never came (see preconnecting).
	if n := s.Connections(); n < 32 || n > 32+4 {
		t.Errorf("Connections() = %d, want 32 to 36", n)
	}
}

func TestScanCapsConnectionsPerAddress(t *testing.T) {
	srv := newCountingServer(t)
	s, err := New(Config{Probes: []tlswarden.Probe{burstProbe(12)}, MaxConnsPerAddr: 3})
	if err != nil {
		t.Fatal(err)
	}
	target := tlswarden.Target{Host: "127.0.0.1", Port: int(srv.addr.Port())}
	// Two targets on the same address share the cap.
	var reports []*tlswarden.Report
	s.ScanAll(t.Context(), []tlswarden.Target{target, target}, func(r *tlswarden.Report) { reports = append(reports, r) })

	if got := srv.maxOpen.Load(); got > 3 {
		t.Errorf("server saw %d connections open at once, want at most 3", got)
	}
	// 12 dials a scan, and at most one connection opened ahead of a dial
	// that never came (see preconnecting).
	if got := srv.accepted.Load(); got < 24 || got > 26 {
		t.Errorf("server accepted %d connections, want 24 to 26", got)
	}
	for _, r := range reports {
		if n := r.Endpoints[0].Connections; !r.Scanned() || n < 12 || n > 13 {
			t.Errorf("report status %s, endpoint %+v; want scanned with 12 or 13 connections", r.Status, r.Endpoints)
		}
	}
	if n := s.Connections(); n < 24 || n > 26 {
		t.Errorf("Connections() = %d, want 24 to 26", n)
	}
}

func TestScanStatuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	srv := newCountingServer(t)
	panicky := tlswarden.Probe{Name: "panicky", Run: func(context.Context, tlswarden.Endpoint, tlswarden.DialFunc) (tlswarden.Observation, error) {
		panic("boom")
	}}
	slow := tlswarden.Probe{Name: "slow", Timeout: 50 * time.Millisecond, Run: func(ctx context.Context, _ tlswarden.Endpoint, _ tlswarden.DialFunc) (tlswarden.Observation, error) {
		<-ctx.Done()
		return tlswarden.Observation{}, ctx.Err()
	}}
	tests := []struct {
		name  string
		port  int
		probe tlswarden.Probe
		want  tlswarden.Status
	}{
		{"refused", closedPort, burstProbe(1), tlswarden.StatusRefused},
		{"ok", int(srv.addr.Port()), burstProbe(1), tlswarden.StatusOK},
		{"panic", int(srv.addr.Port()), panicky, tlswarden.StatusError},
		{"probe timeout", int(srv.addr.Port()), slow, tlswarden.StatusTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Config{Probes: []tlswarden.Probe{tt.probe}})
			if err != nil {
				t.Fatal(err)
			}
			r := s.Scan(t.Context(), tlswarden.Target{Host: "127.0.0.1", Port: tt.port})
			if len(r.Endpoints) != 1 {
				t.Fatalf("got %d endpoints, want 1", len(r.Endpoints))
			}
			e := r.Endpoints[0]
			if e.Status != tt.want || e.Probes[0].Status != tt.want {
				t.Errorf("endpoint status %s (probe %s, %q), want %s", e.Status, e.Probes[0].Status, e.Error, tt.want)
			}
			if tt.want != tlswarden.StatusOK && e.Error == "" {
				t.Error("failed endpoint has no error text")
			}
		})
	}
}

func TestScanCanceledAndInvalid(t *testing.T) {
	s, err := New(Config{Probes: []tlswarden.Probe{burstProbe(1)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r := s.Scan(ctx, tlswarden.Target{Host: "127.0.0.1", Port: 443}); r.Status != tlswarden.StatusCanceled {
		t.Errorf("canceled scan: status %s", r.Status)
	}
	if r := s.Scan(t.Context(), tlswarden.Target{Host: "example.invalid", Port: 443}); r.Status == tlswarden.StatusOK || r.Error == "" {
		t.Errorf("hostname without a resolver: status %s, error %q", r.Status, r.Error)
	}
	if _, err := New(Config{Concurrency: -1, Probes: []tlswarden.Probe{{}}}); err == nil {
		t.Error("invalid config accepted")
	}
}

// TestDialResetsOnClose: closing a scanner connection resets it, so the
// server reads ECONNRESET, not an orderly end of stream.
func TestDialResetsOnClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Dial(t.Context(), netip.MustParseAddrPort(ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	var err2 error
	buf := make([]byte, 16)
	for err2 == nil {
		_, err2 = srv.Read(buf)
	}
	if !errors.Is(err2, syscall.ECONNRESET) {
		t.Errorf("server read %v after the scanner closed, want ECONNRESET", err2)
	}
}

// TestScanRunsProbesAtOnce: the probes of one endpoint overlap (each waits
// to see the other started, which run in turn would never do), and the
// report still lists them, and takes its status, in the configured order.
func TestScanRunsProbesAtOnce(t *testing.T) {
	srv := newCountingServer(t)
	started := []chan struct{}{make(chan struct{}), make(chan struct{})}
	meet := func(name string, me, other int, fail error, delay time.Duration) tlswarden.Probe {
		return tlswarden.Probe{Name: name, Run: func(ctx context.Context, _ tlswarden.Endpoint, _ tlswarden.DialFunc) (tlswarden.Observation, error) {
			close(started[me])
			select {
			case <-started[other]:
			case <-time.After(5 * time.Second):
				return tlswarden.Observation{}, errors.New(name + ": the other probe never started")
			}
			time.Sleep(delay)
			return tlswarden.Observation{}, fail
		}}
	}
	s, err := New(Config{Probes: []tlswarden.Probe{
		meet("first", 0, 1, &tlswarden.ProtocolError{Msg: "first failed"}, 100*time.Millisecond),
		meet("second", 1, 0, context.DeadlineExceeded, 0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), tlswarden.Target{Host: "127.0.0.1", Port: int(srv.addr.Port())})
	e := r.Endpoints[0]
	var names []string
	for _, p := range e.Probes {
		names = append(names, p.Name+":"+string(p.Status))
	}
	want := []string{"first:" + string(tlswarden.StatusProtocolError), "second:" + string(tlswarden.StatusTimeout)}
	if !slices.Equal(names, want) {
		t.Errorf("probes %v, want %v", names, want)
	}
	if e.Status != tlswarden.StatusProtocolError || e.Error != "protocol error: first failed" {
		t.Errorf("endpoint status %s (%s), want the first probe's", e.Status, e.Error)
	}
}

// TestScanDeriveProbeSeesFacts checks that a Derive probe runs after the
// Run probes have ended, with their facts, whatever the probes' order,
// and that its own facts and status join the report.
func TestScanDeriveProbeSeesFacts(t *testing.T) {
	srv := newCountingServer(t)
	derive := tlswarden.Probe{Name: "derived", Derive: func(ctx context.Context, _ tlswarden.Endpoint, _ tlswarden.DialFunc, facts *tlswarden.EndpointReport) (tlswarden.Observation, error) {
		if facts.TLS == nil {
			return tlswarden.Observation{}, errors.New("no TLS facts")
		}
		return tlswarden.Observation{Clients: &tlswarden.ClientsResult{Source: fmt.Sprint(len(facts.TLS.Versions))}}, nil
	}}
	run := tlswarden.Probe{Name: "facts", Run: func(ctx context.Context, _ tlswarden.Endpoint, _ tlswarden.DialFunc) (tlswarden.Observation, error) {
		time.Sleep(50 * time.Millisecond)
		return tlswarden.Observation{TLS: &tlswarden.TLSResult{Versions: make([]tlswarden.VersionResult, 3)}}, nil
	}}
	s, err := New(Config{Probes: []tlswarden.Probe{derive, run}})
	if err != nil {
		t.Fatal(err)
	}
	e := s.Scan(t.Context(), tlswarden.Target{Host: "127.0.0.1", Port: int(srv.addr.Port())}).Endpoints[0]
	if e.Status != tlswarden.StatusOK || e.Clients == nil || e.Clients.Source != "3" || len(e.Probes) != 2 || e.Probes[0].Name != "derived" {
		t.Errorf("endpoint %+v, clients %+v", e, e.Clients)
	}
	if _, err := New(Config{Probes: []tlswarden.Probe{{Name: "both", Run: run.Run, Derive: derive.Derive}}}); err == nil {
		t.Error("a probe with both Run and Derive was accepted")
	}
}
