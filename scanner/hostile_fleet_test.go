package scanner

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// TestHostileFleet scans 500 loopback endpoints with the real scanner and
// every real probe: 400 sound Go TLS servers and 100 hostile ones (silent,
// garbage, resets, trickling, gigantic headers, slow and endless bodies,
// redirect loops, huge certificate chains). Every endpoint must come back
// with a result, every hostile one bounded in time, the sound ones with
// the right versions, and the whole run within its deadline.
//
// Each endpoint has its own address in 127.10.0.0/16, as the endpoints of
// a real estate do, so the per-address connection cap applies to each on
// its own.
func TestHostileFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("scans 500 endpoints; skipped with -short")
	}
	raiseFileLimit(t)
	ca := tlstest.NewCA(t, "Fleet CA")
	leaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	f := &fleet{t: t, ctx: t.Context()}
	f.startSound(leaf, 400)
	f.startHostile(leaf, ca, 100)

	const deadline = 240 * time.Second
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	s := fleetScanner(t, ca)
	start := time.Now()
	reports := map[netip.AddrPort]*tlswarden.Report{}
	s.ScanAll(ctx, f.targets(), func(r *tlswarden.Report) {
		reports[netip.MustParseAddrPort(r.Target.String())] = r
	})
	elapsed := time.Since(start)
	t.Logf("scanned %d endpoints in %v with %d connections", len(reports), elapsed.Round(time.Millisecond), s.Connections())
	if elapsed >= deadline || ctx.Err() != nil {
		t.Errorf("the scan took %v, want under %v", elapsed, deadline)
	}
	f.check(reports)
}

// fleetScanner is the scanner the scan command builds, with timeouts
// short enough for the hostile endpoints to end the run in time, and long
// enough that a loaded two-core machine (the servers, the scanner and
// other work sharing it, a load average near 30) answers within them: at
// one second, and still at four and eight, sound endpoints lost TLS 1.3,
// certificate or HTTP facts there. The HTTP and certificate timeouts
// include waiting for the endpoint's connection slots.
func fleetScanner(t *testing.T, ca *tlstest.CA) *Scanner {
	t.Helper()
	var s *Scanner
	s, err := New(Config{
		Concurrency:     100,
		ConnectTimeout:  5 * time.Second,
		EndpointTimeout: time.Minute,
		Probes: []tlswarden.Probe{
			probes.TLS(probes.TLSConfig{Timeout: 5 * time.Second}),
			probes.Cert(probes.CertConfig{Roots: []*x509.Certificate{ca.Cert.Cert}, Timeout: 15 * time.Second}),
			probes.HTTP(probes.HTTPConfig{Timeout: 15 * time.Second, PlainPort: 1,
				DialPlain: func(ctx context.Context, a netip.AddrPort) (net.Conn, error) { return s.Dial(ctx, a) }}),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fleet is the servers of the test and what each endpoint should yield.
type fleet struct {
	t   *testing.T
	ctx context.Context
	n   int // endpoints so far; the next one's address is fleetAddr(n)
	eps []fleetEndpoint
}

type fleetEndpoint struct {
	addr netip.AddrPort
	kind string
	// check returns what is wrong with the endpoint's report, or "".
	check func(e *tlswarden.EndpointReport) string
}

// listen opens the next endpoint's listener.
func (f *fleet) listen(kind string, check func(*tlswarden.EndpointReport) string) net.Listener {
	f.t.Helper()
	a := netip.AddrFrom4([4]byte{127, 10, byte(f.n / 250), byte(f.n%250 + 1)})
	f.n++
	ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
	if err != nil {
		f.t.Fatalf("listen: %v", err)
	}
	f.eps = append(f.eps, fleetEndpoint{addr: netip.MustParseAddrPort(ln.Addr().String()), kind: kind, check: check})
	return ln
}

func (f *fleet) targets() []tlswarden.Target {
	ts := make([]tlswarden.Target, len(f.eps))
	for i, e := range f.eps {
		ts[i] = tlswarden.Target{Host: e.addr.Addr().String(), Port: int(e.addr.Port()), Kind: tlswarden.KindHTTPS}
	}
	return ts
}

// check compares every report with what its endpoint should yield.
func (f *fleet) check(reports map[netip.AddrPort]*tlswarden.Report) {
	t := f.t
	byKind := map[string]map[tlswarden.Status]int{}
	for _, ep := range f.eps {
		r := reports[ep.addr]
		if r == nil || len(r.Endpoints) != 1 {
			t.Errorf("%s (%s): no report or not one endpoint: %+v", ep.addr, ep.kind, r)
			continue
		}
		e := &r.Endpoints[0]
		if byKind[ep.kind] == nil {
			byKind[ep.kind] = map[tlswarden.Status]int{}
		}
		byKind[ep.kind][e.Status]++
		if msg := ep.check(e); msg != "" {
			t.Errorf("%s (%s): %s", ep.addr, ep.kind, msg)
		}
	}
	for kind, st := range byKind {
		t.Logf("%-22s %v", kind, st)
	}
}

// startSound starts n sound endpoints on two Go TLS servers: half the
// default configuration (TLS 1.2 and 1.3), half TLS 1.3 only.
func (f *fleet) startSound(leaf *tlstest.Cert, n int) {
	cert := leaf.TLSCertificate()
	configs := []struct {
		kind     string
		cfg      *tls.Config
		versions []tlswarden.Version
	}{
		{"sound-default", &tls.Config{Certificates: []tls.Certificate{cert}}, []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}},
		{"sound-tls13-only", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}, []tlswarden.Version{tlswarden.TLS13}},
	}
	for _, c := range configs {
		srv := f.httpServer(okPage)
		for range n / len(configs) {
			ln := f.listen(c.kind, soundCheck(c.versions))
			go func() { _ = srv.Serve(tls.NewListener(ln, c.cfg)) }()
		}
	}
}

func okPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Strict-Transport-Security", "max-age=63072000")
	_, _ = io.WriteString(w, "<html><body>ok</body></html>")
}

// soundCheck wants a scanned endpoint that accepts exactly versions.
func soundCheck(versions []tlswarden.Version) func(*tlswarden.EndpointReport) string {
	return func(e *tlswarden.EndpointReport) string {
		if e.Status != tlswarden.StatusOK || e.TLS == nil || e.Cert == nil || e.HTTP == nil {
			return fmt.Sprintf("status %s (%s), want ok with every probe's facts", e.Status, e.Error)
		}
		var got []tlswarden.Version
		for _, v := range tlswarden.AllVersions {
			if e.TLS.Supported(v) {
				got = append(got, v)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(versions) {
			return fmt.Sprintf("versions %v, want %v", got, versions)
		}
		return ""
	}
}

// httpServer returns an HTTP server for handler that logs nothing and is
// closed, with its listeners and connections, when the test ends.
func (f *fleet) httpServer(handler http.HandlerFunc) *http.Server {
	srv := &http.Server{Handler: handler, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	f.t.Cleanup(func() { srv.Close() })
	return srv
}

// hostileKind is one way a server misbehaves: at the TCP level (raw) or
// inside HTTP over a sound TLS handshake (handler), and what the scanner
// must make of it.
type hostileKind struct {
	name    string
	raw     func(context.Context, net.Conn)
	handler http.HandlerFunc
	chain   bool // serve a certificate chain too big for any client
	check   func(*tlswarden.EndpointReport) string
}

func hostileKinds() []hostileKind {
	huge := make([]byte, 64<<10)
	for i := range huge {
		huge[i] = 'a' + byte(i%26)
	}
	return []hostileKind{
		{name: "silent", raw: tlstest.Silent, check: wantError},
		{name: "garbage", raw: tlstest.Reply([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n\x00\x01\x02garbage")), check: wantError},
		{name: "reset", raw: tlstest.Reset, check: wantError},
		{name: "close-silently", raw: tlstest.CloseSilently, check: wantError},
		// A handshake record announcing 65535 bytes, a byte every 200ms.
		{name: "trickle", raw: tlstest.Trickle(append([]byte{0x16, 0x03, 0x03, 0xff, 0xff, 0x02}, huge[:200]...), 200*time.Millisecond), check: wantError},
		{name: "gigantic-headers", handler: func(w http.ResponseWriter, _ *http.Request) {
			for i := range 32 {
				w.Header().Set(fmt.Sprintf("X-Huge-%d", i), string(huge[:32<<10]))
			}
		}, check: wantError},
		// net/http can end a body read cut off by the request's deadline
		// with io.EOF, and the HTTP probe then records a short body as
		// complete: probes.httpRun.get should check ctx.Err() after the read.
		{name: "slow-body", handler: slowBody, check: wantError},
		{name: "huge-chain", handler: okPage, chain: true, check: wantError},
		// What follows is bounded and recorded as a fact, not a failure:
		// a body read up to the cap, a redirect chain cut short.
		{name: "endless-body", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for r.Context().Err() == nil {
				if _, err := w.Write(huge); err != nil {
					return
				}
			}
		}, check: wantBounded(func(h *tlswarden.HTTPResult) bool { return h.BodyTruncated })},
		{name: "redirect-loop", handler: func(w http.ResponseWriter, r *http.Request) {
			next := "/a"
			if r.URL.Path == "/a" {
				next = "/"
			}
			http.Redirect(w, r, next, http.StatusFound)
		}, check: wantBounded(func(h *tlswarden.HTTPResult) bool { return h.RedirectStop != "" })},
	}
}

// slowBody sends its headers, then a byte of body every 300ms forever.
func slowBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	rc := http.NewResponseController(w)
	for {
		if _, err := w.Write([]byte("<")); err != nil || rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func wantError(e *tlswarden.EndpointReport) string {
	if e.Status == tlswarden.StatusOK || e.Error == "" {
		return fmt.Sprintf("status %s, error %q; want a failure with its error", e.Status, e.Error)
	}
	return ""
}

func wantBounded(ok func(*tlswarden.HTTPResult) bool) func(*tlswarden.EndpointReport) string {
	return func(e *tlswarden.EndpointReport) string {
		if e.HTTP == nil || !ok(e.HTTP) {
			return fmt.Sprintf("status %s (%s), HTTP facts %+v; want the bound recorded", e.Status, e.Error, e.HTTP)
		}
		return ""
	}
}

// startHostile starts n hostile endpoints, the kinds taking turns.
func (f *fleet) startHostile(leaf *tlstest.Cert, ca *tlstest.CA, n int) {
	kinds := hostileKinds()
	raw := &rawServers{ctx: f.ctx, conns: map[net.Conn]bool{}}
	f.t.Cleanup(raw.close)
	servers := make([]*http.Server, len(kinds))
	for i := range n {
		k := kinds[i%len(kinds)]
		ln := f.listen("hostile-"+k.name, k.check)
		if k.raw != nil {
			raw.serve(ln, k.raw)
			continue
		}
		if servers[i%len(kinds)] == nil {
			servers[i%len(kinds)] = f.httpServer(k.handler)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{hostileCert(leaf, ca, k.chain)}}
		go func() { _ = servers[i%len(kinds)].Serve(tls.NewListener(ln, cfg)) }()
	}
}

// hostileCert is the leaf, with a chain of 300 copies of the CA (about
// 100 KiB, over the 64 KiB any TLS client accepts in one message) if asked.
func hostileCert(leaf *tlstest.Cert, ca *tlstest.CA, hugeChain bool) tls.Certificate {
	c := leaf.TLSCertificate()
	if hugeChain {
		for range 300 {
			c.Certificate = append(c.Certificate, ca.DER)
		}
	}
	return c
}

// rawServers runs raw handlers on listeners and, when closed, stops them
// all: listeners, connections and handlers.
type rawServers struct {
	ctx   context.Context
	wg    sync.WaitGroup
	mu    sync.Mutex
	lns   []net.Listener
	conns map[net.Conn]bool
}

func (s *rawServers) serve(ln net.Listener, handle func(context.Context, net.Conn)) {
	s.mu.Lock()
	s.lns = append(s.lns, ln)
	s.mu.Unlock()
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.track(c, true)
			s.wg.Go(func() {
				defer s.track(c, false)
				handle(s.ctx, c)
			})
		}
	})
}

func (s *rawServers) track(c net.Conn, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if open {
		s.conns[c] = true
		return
	}
	delete(s.conns, c)
	c.Close()
}

func (s *rawServers) close() {
	s.mu.Lock()
	for _, ln := range s.lns {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// raiseFileLimit lifts the soft limit on open files to the hard one: the
// fleet holds 500 listeners and, at its peak, a few thousand connections
// at both ends.
func raiseFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Logf("setrlimit: %v", err)
		}
	}
	if lim.Cur < 4096 {
		testenv.Missing(t, "open-file limit %d is too low for the fleet", lim.Cur)
	}
}
