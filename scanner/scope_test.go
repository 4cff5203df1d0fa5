package scanner

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/resolve"
	"github.com/tlswarden/tlswarden/scope"
)

// recordingScope applies a policy and records every address it is asked
// about.
type recordingScope struct {
	policy scope.Policy
	mu     sync.Mutex
	asked  map[netip.Addr]int
}

func (r *recordingScope) Check(a netip.Addr) error {
	r.mu.Lock()
	if r.asked == nil {
		r.asked = map[netip.Addr]int{}
	}
	r.asked[a]++
	r.mu.Unlock()
	return r.policy.Check(a)
}

func (r *recordingScope) addrs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for a := range r.asked {
		out = append(out, a.String())
	}
	return out
}

func mustPrefixes(t *testing.T, list string) []netip.Prefix {
	t.Helper()
	p, err := scope.ParsePrefixes(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScanScope(t *testing.T) {
	tests := []struct {
		name  string
		scope Scope
		want  tlswarden.Status
	}{
		{"no scope", nil, tlswarden.StatusOK},
		{"default policy refuses loopback", &scope.Policy{}, tlswarden.StatusOutOfScope},
		{"allowed", &scope.Policy{Allow: mustPrefixes(t, "127.0.0.1")}, tlswarden.StatusOK},
		{"denied inside allowed", &scope.Policy{Allow: mustPrefixes(t, "127.0.0.0/8"), Deny: mustPrefixes(t, "127.0.0.1")}, tlswarden.StatusOutOfScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newCountingServer(t)
			s, err := New(Config{Probes: []tlswarden.Probe{burstProbe(2)}, Scope: tt.scope})
			if err != nil {
				t.Fatal(err)
			}
			r := s.Scan(t.Context(), tlswarden.Target{Host: "127.0.0.1", Port: int(srv.addr.Port())})
			if len(r.Endpoints) != 1 {
				t.Fatalf("got %d endpoints, want 1", len(r.Endpoints))
			}
			e := r.Endpoints[0]
			if e.Status != tt.want {
				t.Errorf("endpoint status %s (%s), want %s", e.Status, e.Error, tt.want)
			}
			if tt.want != tlswarden.StatusOutOfScope {
				return
			}
			if n := srv.accepted.Load(); n != 0 || e.Connections != 0 || s.Connections() != 0 {
				t.Errorf("out-of-scope endpoint: server accepted %d, report counts %d, scanner %d; want none", n, e.Connections, s.Connections())
			}
			if e.Error == "" || len(e.Probes) != 0 {
				t.Errorf("out-of-scope endpoint: error %q, probes %+v; want an error and no probe run", e.Error, e.Probes)
			}
		})
	}
}

// TestScopeChecksResolvedAddresses resolves a name to two loopback
// addresses of which the scope allows one: the check is on each resolved
// address, and the refused one gets no connection.
func TestScopeChecksResolvedAddresses(t *testing.T) {
	allowed, ln := listenCounted(t, "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	refused, _ := listenCounted(t, "127.0.0.2:"+strconv.Itoa(port))
	dns := dnstest.New(t)
	dns.Add("www.example.test. 60 IN A 127.0.0.1", "www.example.test. 60 IN A 127.0.0.2")
	res, err := resolve.New(resolve.Config{Servers: []string{dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	sc := &recordingScope{policy: scope.Policy{Allow: mustPrefixes(t, "127.0.0.1/32")}}
	s, err := New(Config{Resolver: res, Probes: []tlswarden.Probe{dialCloseProbe(3)}, Scope: sc})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), tlswarden.Target{Host: "www.example.test", Port: port})
	got := map[string]tlswarden.Status{}
	for _, e := range r.Endpoints {
		got[e.Endpoint.Addr.Addr().String()] = e.Status
	}
	want := map[string]tlswarden.Status{"127.0.0.1": tlswarden.StatusOK, "127.0.0.2": tlswarden.StatusOutOfScope}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoint statuses (-want +got):\n%s", diff)
	}
	if n, _, _ := refused.stats(); n != 0 {
		t.Errorf("the refused address accepted %d connections", n)
	}
	// Three dials, each but the first taking the connection opened ahead
	// of it, and the one opened ahead of a fourth (see preconnecting).
	if n := allowed.waitAccepted(4); n != 4 {
		t.Errorf("the allowed address accepted %d connections, want 4", n)
	}
	// Every connection was checked: the endpoint once, then each of the
	// four connections before it was dialed and at the socket.
	if n := sc.asked[netip.MustParseAddr("127.0.0.1")]; n != 1+4*2 {
		t.Errorf("scope asked %d times about 127.0.0.1, want 9", n)
	}
	if _, err := s.Dial(t.Context(), netip.MustParseAddrPort("127.0.0.2:"+strconv.Itoa(port))); StatusOf(err) != tlswarden.StatusOutOfScope {
		t.Errorf("Scanner.Dial to a refused address: %v (%s), want out_of_scope", err, StatusOf(err))
	}
}

// dialCloseProbe opens n connections one after another and closes each at
// once.
func dialCloseProbe(n int) tlswarden.Probe {
	return tlswarden.Probe{Name: "dial", Run: func(ctx context.Context, _ tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		for range n {
			c, err := dial(ctx)
			if err != nil {
				return tlswarden.Observation{}, err
			}
			c.Close()
		}
		return tlswarden.Observation{}, nil
	}}
}

// TestHTTPRedirectsStayOnTheAddress runs the real HTTP probe against a
// server whose redirects point at another loopback address, over HTTPS and
// plain HTTP: the probe follows only same-host redirects and every
// connection goes through the scanner's dialer to the endpoint's address,
// so the scope is asked about nothing else and the other address hears
// nothing.
func TestHTTPRedirectsStayOnTheAddress(t *testing.T) {
	elsewhere, eln := listenCounted(t, "127.0.0.2:0")
	away := eln.Addr().(*net.TCPAddr).Port
	var (
		mu  sync.Mutex
		uas []string
	)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uas = append(uas, r.UserAgent())
		mu.Unlock()
		scheme := "https"
		if r.TLS == nil {
			scheme = "http"
		}
		switch r.URL.Path {
		case "/":
			http.Redirect(w, r, "/next", http.StatusFound) // same host: followed
		default:
			http.Redirect(w, r, scheme+"://127.0.0.2:"+strconv.Itoa(away)+"/", http.StatusFound) // off host
		}
	})
	tlsSrv := httptest.NewUnstartedServer(handler)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{tlstest.NewCA(t, "Test CA").Issue(t, tlstest.CertSpec{}).TLSCertificate()}}
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(handler)
	t.Cleanup(plainSrv.Close)
	tlsAddr := netip.MustParseAddrPort(tlsSrv.Listener.Addr().String())
	plainAddr := netip.MustParseAddrPort(plainSrv.Listener.Addr().String())

	const ua = "tlswarden-test/1 (+https://example.test/contact)"
	sc := &recordingScope{policy: scope.Policy{Allow: mustPrefixes(t, "127.0.0.1")}}
	var s *Scanner
	s, err := New(Config{Scope: sc, Probes: []tlswarden.Probe{probes.HTTP(probes.HTTPConfig{
		Timeout: 5 * time.Second, PlainPort: int(plainAddr.Port()), UserAgent: ua,
		DialPlain: func(ctx context.Context, a netip.AddrPort) (net.Conn, error) { return s.Dial(ctx, a) },
	})}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), tlswarden.Target{Host: "127.0.0.1", Port: int(tlsAddr.Port())})
	e := r.Endpoints[0]
	if e.Status != tlswarden.StatusOK || e.HTTP == nil || e.HTTP.Plain == nil {
		t.Fatalf("endpoint %s (%s), HTTP facts %+v", e.Status, e.Error, e.HTTP)
	}
	if got := e.HTTP.RedirectStop; got != "off_host" || len(e.HTTP.Redirects) != 2 {
		t.Errorf("HTTPS redirects %+v, stop %q; want two, stopped off_host", e.HTTP.Redirects, got)
	}
	if got := e.HTTP.Plain.RedirectStop; got != "off_host" {
		t.Errorf("plain-HTTP redirects %+v, stop %q; want stopped off_host", e.HTTP.Plain.Redirects, got)
	}
	if n, _, _ := elsewhere.stats(); n != 0 {
		t.Errorf("the redirect target accepted %d connections", n)
	}
	if diff := cmp.Diff([]string{"127.0.0.1"}, sc.addrs()); diff != "" {
		t.Errorf("addresses checked (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, got := range uas {
		if got != ua {
			t.Errorf("User-Agent %q, want %q", got, ua)
		}
	}
	if len(uas) != 5 {
		t.Errorf("server saw %d requests, want 5 (two HTTPS, the CORS preflight, two plain)", len(uas))
	}
}
