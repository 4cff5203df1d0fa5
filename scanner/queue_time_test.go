package scanner

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestProbeTimeoutNotSpentQueued: the process's budget (8 connections)
// makes each endpoint's dials queue behind 40 others, about a second at
// 200 ms a connection, while a probe with a 600 ms timeout dials once
// behind them. The queue is the scanner's, not the server's: every
// endpoint ends ok. Against a server that never answers the same probe
// still ends in a timeout, soon after its 600 ms of active time.
func TestProbeTimeoutNotSpentQueued(t *testing.T) {
	const hold, timeout = 200 * time.Millisecond, 600 * time.Millisecond
	cfg := Config{MaxInFlight: 8, MaxConnsPerEndpoint: 64, MaxConnsPerAddr: 1000, EndpointTimeout: time.Minute}
	t.Run("queued", func(t *testing.T) {
		var ts []tlswarden.Target
		for range 4 {
			a := serveAfter(t, hold)
			ts = append(ts, tlswarden.Target{Host: a.Addr().String(), Port: int(a.Port())})
		}
		cfg := cfg
		cfg.Probes = []tlswarden.Probe{wideProbe(40), timedProbe(timeout)}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range scanAll(t, s, ts) {
			for _, e := range r.Endpoints {
				for _, p := range e.Probes {
					if p.Status != tlswarden.StatusOK {
						t.Errorf("%s: probe %s ended %s after %d ms: %s", e.Endpoint, p.Name, p.Status, p.DurationMS, p.Error)
					}
				}
			}
		}
	})
	t.Run("silent", func(t *testing.T) {
		a := serveAfter(t, time.Hour)
		cfg := cfg
		cfg.Probes = []tlswarden.Probe{timedProbe(timeout)}
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		rs := scanAll(t, s, []tlswarden.Target{{Host: a.Addr().String(), Port: int(a.Port())}})
		e := rs[0].Endpoints[0]
		if e.Status != tlswarden.StatusTimeout {
			t.Errorf("silent server: %s (%s), want timeout", e.Status, e.Error)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("silent server: timed out after %v, want soon after %v", d, timeout)
		}
	})
}

func scanAll(t *testing.T, s *Scanner, ts []tlswarden.Target) []*tlswarden.Report {
	t.Helper()
	var rs []*tlswarden.Report
	s.ScanAll(t.Context(), ts, func(r *tlswarden.Report) { rs = append(rs, r) })
	if len(rs) != len(ts) {
		t.Fatalf("%d reports for %d targets", len(rs), len(ts))
	}
	return rs
}

// wideProbe dials n connections at once and reads a byte from each.
func wideProbe(n int) tlswarden.Probe {
	return tlswarden.Probe{Name: "wide", Run: func(ctx context.Context, _ tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() { errs <- poke(ctx, dial) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				return tlswarden.Observation{}, err
			}
		}
		return tlswarden.Observation{}, nil
	}}
}

// timedProbe is shaped like the certificate probe: its own timeout, one
// dial once the others are queued, and the connection's deadline taken
// from the context's.
func timedProbe(timeout time.Duration) tlswarden.Probe {
	return tlswarden.Probe{Name: "timed", Timeout: timeout, Run: func(ctx context.Context, _ tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		time.Sleep(20 * time.Millisecond) // behind the wide probe's dials
		c, err := dial(ctx)
		if err != nil {
			return tlswarden.Observation{}, err
		}
		defer c.Close()
		dl, ok := ctx.Deadline()
		if !ok {
			return tlswarden.Observation{}, fmt.Errorf("no deadline")
		}
		if err := c.SetDeadline(dl); err != nil {
			return tlswarden.Observation{}, err
		}
		_, err = c.Read(make([]byte, 1))
		return tlswarden.Observation{}, err
	}}
}

// serveAfter accepts connections on a loopback port and writes a byte to
// each after d.
func serveAfter(t *testing.T, d time.Duration) netip.AddrPort {
	t.Helper()
	return tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		select {
		case <-time.After(d):
			_, _ = c.Write([]byte("x"))
			_, _ = c.Read(make([]byte, 1))
		case <-ctx.Done():
		}
	})
}
