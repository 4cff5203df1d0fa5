//go:build linux

package scanner

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// handshakeProbe completes n TLS handshakes one after the other, each on
// a connection of its own, as a probe's chain of hellos does, pausing
// pause between them.
func handshakeProbe(n int, pause time.Duration) tlswarden.Probe {
	return tlswarden.Probe{Name: "handshakes", Run: func(ctx context.Context, _ tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		for i := range n {
			if i > 0 {
				time.Sleep(pause)
			}
			c, err := dial(ctx)
			if err != nil {
				return tlswarden.Observation{}, err
			}
			err = tls.Client(c, &tls.Config{InsecureSkipVerify: true}).HandshakeContext(ctx)
			c.Close()
			if err != nil {
				return tlswarden.Observation{}, fmt.Errorf("handshake %d: %w", i+1, err)
			}
		}
		return tlswarden.Observation{}, nil
	}}
}

func goTLSConfig(t *testing.T) *tls.Config {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{DNSNames: []string{"localhost"}})
	return &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}}
}

// TestScanConnectsAhead: through a 100 ms round trip, a probe's chain of
// handshakes, each waiting for the last, finds the next connection
// already connected: each handshake but the first costs its own round
// trip, not the connect's as well. Without a connection ahead the chain
// cannot take under 2n round trips (the proxy holds every first byte a
// round trip after the connect); with one it takes about n+1. The
// connection opened ahead of a handshake that never comes is the only
// one more.
func TestScanConnectsAhead(t *testing.T) {
	const (
		rtt = 100 * time.Millisecond
		n   = 8
	)
	front := tlstest.RTTProxy(t, tlstest.GoServer(t, goTLSConfig(t)), rtt)
	s, err := New(Config{Probes: []tlswarden.Probe{handshakeProbe(n, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := s.Scan(t.Context(), targetOf(front))
	rtts := time.Since(start).Seconds() / rtt.Seconds()
	e := r.Endpoints[0]
	if e.Status != tlswarden.StatusOK {
		t.Fatalf("%s: %s", e.Status, e.Error)
	}
	t.Logf("%d handshakes in %.1f round trips, %d connections", n, rtts, e.Connections)
	if rtts > 1.5*n+1 {
		t.Errorf("%d handshakes one after the other took %.1f round trips: want about %d (the connect of each after the first made ahead), at most %.1f; without connecting ahead %d", n, rtts, n+1, 1.5*n+1, 2*n)
	}
	if e.Connections < n || e.Connections > n+1 {
		t.Errorf("%d connections, want %d or %d (one opened ahead for nothing)", e.Connections, n, n+1)
	}
}

// TestScanSpareClosedByServer: a server that drops a connection on which
// nothing arrived within 200 ms drops the spare while the probe pauses; the
// next handshake goes on a new connection, not on the dropped one, whose
// close would be taken for the server's answer.
func TestScanSpareClosedByServer(t *testing.T) {
	cfg := goTLSConfig(t)
	addr := tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return // idle: dropped
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_ = tls.Server(&prefixConn{Conn: c, prefix: b[:]}, cfg).HandshakeContext(ctx)
	})
	s, err := New(Config{Probes: []tlswarden.Probe{handshakeProbe(3, 500*time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), targetOf(addr))
	if e := r.Endpoints[0]; e.Status != tlswarden.StatusOK {
		t.Errorf("%s: %s (a handshake went on a spare the server had dropped)", e.Status, e.Error)
	} else {
		t.Logf("%d connections", e.Connections)
	}
}

// prefixConn reads prefix before the connection.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// TestScanConnectsAheadSameFacts scans the fleet benchmark's two slowest
// endpoints (gnutls-serv "NORMAL:%SERVER_PRECEDENCE", which serves one
// connection at a time, and nginx "ALL:@SECLEVEL=0" at TLS 1.0 to 1.2;
// versions and suites) through a 50 ms round trip, connecting ahead, and
// on loopback: the same versions, suites in the same order and the same
// preferences, the endpoint not taken for one served one connection at a
// time, and at most one connection more than the TLS probe's.
func TestScanConnectsAheadSameFacts(t *testing.T) {
	const rtt = 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) netip.AddrPort
	}{
		{"gnutls-server-order", func(t *testing.T) netip.AddrPort {
			return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:%SERVER_PRECEDENCE"})
		}},
		{"nginx-all", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Versions: []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12},
				Ciphers: "ALL:@SECLEVEL=0", DHBits: 1024, PreferServerCiphers: true})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := tc.start(t)
			scan := func(a netip.AddrPort) (tlswarden.EndpointReport, float64) {
				s, err := New(Config{Probes: []tlswarden.Probe{probes.TLS(probes.TLSConfig{NoGroups: true})}})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				r := s.Scan(t.Context(), targetOf(a))
				e := r.Endpoints[0]
				if e.Status != tlswarden.StatusOK || e.TLS == nil {
					t.Fatalf("%s: %s %s", a, e.Status, e.Error)
				}
				return e, time.Since(start).Seconds() / rtt.Seconds()
			}
			base, _ := scan(addr)
			got, rtts := scan(tlstest.RTTProxy(t, addr, rtt))
			if diff := cmp.Diff(versionFacts(base.TLS), versionFacts(got.TLS)); diff != "" {
				t.Errorf("facts through %v differ from loopback's (-loopback +%v):\n%s", rtt, rtt, diff)
			}
			if got.OneConnectionAtATime {
				t.Errorf("taken for an endpoint served one connection at a time")
			}
			if got.Connections > got.TLS.Connections+1 {
				t.Errorf("%d connections for the TLS probe's %d: more than one opened ahead for nothing", got.Connections, got.TLS.Connections)
			}
			t.Logf("%d connections (the TLS probe's %d), %.1f round trips", got.Connections, got.TLS.Connections, rtts)
		})
	}
}

// versionFacts is what the TLS probe found of each version: support, the
// suites in order, the preference and the status.
func versionFacts(res *tlswarden.TLSResult) []string {
	var out []string
	for _, v := range res.Versions {
		codes := make([]string, 0, len(v.Suites))
		for _, s := range v.Suites {
			codes = append(codes, fmt.Sprintf("%04X", s.Code))
		}
		out = append(out, fmt.Sprintf("%s supported=%v pref=%q status=%s suites=%v", v.Version, v.Supported, v.Preference, v.Status, codes))
	}
	return slices.Clip(out)
}
