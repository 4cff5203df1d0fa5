package scanner

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/preamble"
)

// TestScanProbesByKind: a probe runs only on the kinds it concerns, and a
// probe the user skipped is listed as skipped without failing the endpoint.
func TestScanProbesByKind(t *testing.T) {
	srv := newCountingServer(t)
	ran := func(name string, kinds ...tlswarden.Kind) tlswarden.Probe {
		return tlswarden.Probe{Name: name, Kinds: kinds, Run: func(ctx context.Context, _ tlswarden.Endpoint, _ tlswarden.DialFunc) (tlswarden.Observation, error) {
			return tlswarden.Observation{}, nil
		}}
	}
	skipped := ran("skipped")
	skipped.Skipped = "skipped at the user's request"
	sc, err := New(Config{Probes: []tlswarden.Probe{ran("every"), ran("web", tlswarden.KindHTTPS), skipped}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind tlswarden.Kind
		want []string
	}{
		{tlswarden.KindHTTPS, []string{"every ok", "web ok", "skipped skipped"}},
		{"", []string{"every ok", "web ok", "skipped skipped"}},
		{tlswarden.KindTLS, []string{"every ok", "skipped skipped"}},
	} {
		r := sc.Scan(t.Context(), tlswarden.Target{Host: "127.0.0.1", Port: int(srv.addr.Port()), Kind: tc.kind})
		ep := r.Endpoints[0]
		var got []string
		for _, p := range ep.Probes {
			got = append(got, p.Name+" "+string(p.Status))
		}
		if ep.Status != tlswarden.StatusOK || len(got) != len(tc.want) {
			t.Fatalf("kind %q: endpoint %s, probes %v; want ok, %v", tc.kind, ep.Status, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("kind %q: probes %v, want %v", tc.kind, got, tc.want)
			}
		}
	}
}

// smtpGate answers SMTP up to STARTTLS on loopback and, after ok
// connections, greets with 421 as a server limiting connections per
// client does. It counts connections and the most open at once.
func smtpGate(t *testing.T, ok int64) (netip.AddrPort, *gauge, *atomic.Int64) {
	var g gauge
	var n atomic.Int64
	ap := tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		g.inc()
		defer g.open.Add(-1)
		if n.Add(1) > ok {
			io.WriteString(c, "421 4.7.0 too many connections\r\n")
			return
		}
		r := bufio.NewReader(c)
		io.WriteString(c, "220 mx ESMTP\r\n")
		r.ReadString('\n')
		io.WriteString(c, "250-mx\r\n250 STARTTLS\r\n")
		r.ReadString('\n')
		io.WriteString(c, "220 go ahead\r\n")
		io.Copy(io.Discard, r) // until the client closes
	})
	return ap, &g, &n
}

// TestScanSMTPPoliteness: an SMTP endpoint gets at most two connections
// at once, and once the server starts turning connections away the scan
// stops dialing and reports rate_limited.
func TestScanSMTPPoliteness(t *testing.T) {
	var held gauge // connections the probe holds at once
	dialMany := tlswarden.Probe{Name: "many", Run: func(ctx context.Context, _ tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				if c, err := dial(ctx); err == nil {
					held.inc()
					time.Sleep(20 * time.Millisecond)
					held.open.Add(-1)
					c.Close()
				}
			})
		}
		wg.Wait()
		return tlswarden.Observation{}, nil
	}}
	sc, err := New(Config{Probes: []tlswarden.Probe{dialMany}, Preambles: preamble.For, KindSpacing: map[tlswarden.Kind]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	ap, _, _ := smtpGate(t, 100)
	r := sc.Scan(t.Context(), tlswarden.Target{Host: ap.Addr().String(), Port: int(ap.Port()), Kind: tlswarden.KindSMTP})
	if e := r.Endpoints[0]; e.Status != tlswarden.StatusOK || e.Service == nil || !e.Service.StartTLS || e.Connections != 13 {
		t.Fatalf("status %s %s, service %+v, %d connections; want ok, STARTTLS, 13", e.Status, e.Error, e.Service, e.Connections)
	}
	if m := held.maxOpen.Load(); m > 2 || m < 2 {
		t.Errorf("%d connections open at once to an SMTP endpoint, want 2", m)
	}

	ap, _, n := smtpGate(t, 4)
	r = sc.Scan(t.Context(), tlswarden.Target{Host: ap.Addr().String(), Port: int(ap.Port()), Kind: tlswarden.KindSMTP})
	e := r.Endpoints[0]
	if e.Status != tlswarden.StatusRateLimited {
		t.Errorf("status %s (%s), want rate_limited", e.Status, e.Error)
	}
	if got := n.Load(); got > 4+2 {
		t.Errorf("%d connections after the server refused, want the scan to stop early (at most 6)", got)
	}
}
