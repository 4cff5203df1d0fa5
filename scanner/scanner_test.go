package scanner

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// countingServer accepts connections on loopback, holds each open for a
// moment, then closes it, and records the most connections open at once.
type countingServer struct {
	addr     netip.AddrPort
	open     atomic.Int64
	maxOpen  atomic.Int64
	accepted atomic.Int64
}

func newCountingServer(t *testing.T) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &countingServer{addr: ln.Addr().(*net.TCPAddr).AddrPort()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			n := s.open.Add(1)
			for m := s.maxOpen.Load(); n > m && !s.maxOpen.CompareAndSwap(m, n); m = s.maxOpen.Load() {
			}
			wg.Go(func() {
				time.Sleep(20 * time.Millisecond)
				s.open.Add(-1)
				c.Close()
			})
		}
	})
	return s
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
	if got := srv.accepted.Load(); got != 24 {
		t.Errorf("server accepted %d connections, want 24", got)
	}
	for _, r := range reports {
		if !r.Scanned() || r.Endpoints[0].Connections != 12 {
			t.Errorf("report status %s, endpoint %+v; want scanned with 12 connections", r.Status, r.Endpoints)
		}
	}
	if s.Connections() != 24 {
		t.Errorf("Connections() = %d, want 24", s.Connections())
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
