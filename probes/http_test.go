package probes

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// httpsServer starts an httptest TLS server on loopback with a tlstest
// certificate for localhost and 127.0.0.1 (self-signed: the probe must
// fetch headers whatever the certificate).
func httpsServer(t *testing.T, h http.Handler, http2 bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}}
	srv.EnableHTTP2 = http2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// plainServer starts a plain-HTTP server on loopback and returns its port.
func plainServer(t *testing.T, h http.Handler) int {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return int(addrOf(t, srv).Port())
}

func addrOf(t *testing.T, srv *httptest.Server) netip.AddrPort {
	t.Helper()
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// runHTTP runs the HTTP probe once on ep and checks that it reports every
// connection it opened through the endpoint's dialer.
func runHTTP(t *testing.T, cfg HTTPConfig, ep tlswarden.Endpoint) (*tlswarden.HTTPResult, error) {
	t.Helper()
	p := HTTP(cfg)
	if p.Name != "http" {
		t.Fatalf("probe name = %q", p.Name)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	d := tlstest.NewDialer(ep.Addr)
	obs, err := p.Run(ctx, ep, d.Dial)
	if obs.TLS != nil || obs.Cert != nil {
		t.Errorf("http probe filled other observations: %+v", obs)
	}
	if obs.HTTP == nil {
		t.Fatalf("no HTTP result (error %v)", err)
	}
	if cfg.SkipPlainHTTP && obs.HTTP.Connections != d.Count() {
		t.Errorf("result counts %d connections, the dialer saw %d", obs.HTTP.Connections, d.Count())
	}
	return obs.HTTP, err
}

// localhost is the endpoint of a test server, asked for as "localhost".
func localhost(srv *httptest.Server, t *testing.T) tlswarden.Endpoint {
	return tlswarden.Endpoint{Host: "localhost", Addr: addrOf(t, srv)}
}

// quick is the configuration of tests that are not about plain HTTP.
var quick = HTTPConfig{Timeout: 2 * time.Second, SkipPlainHTTP: true}

// served is a response a test server gives: headers in order, and a body.
type served struct {
	headers [][2]string
	body    string
}

func (s served) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	for _, h := range s.headers {
		w.Header().Add(h[0], h[1])
	}
	fmt.Fprint(w, s.body)
}

const goodPage = `<!doctype html><html><head><meta name="referrer" content="no-referrer"></head>
<body><script src="/app.js" integrity="sha384-abc"></script></body></html>`

func TestHTTPHeaders(t *testing.T) {
	tests := []struct {
		name   string
		served served
		// want holds the header facts; the test fills in URL, status,
		// protocol, body size and connection count.
		want tlswarden.HTTPResult
	}{
		{
			name: "full good set",
			served: served{headers: [][2]string{
				{"Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"},
				{"Content-Security-Policy", "default-src 'none'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"},
				{"X-Content-Type-Options", "nosniff"},
				{"X-Frame-Options", "DENY"},
				{"Referrer-Policy", "strict-origin-when-cross-origin"},
				{"Permissions-Policy", "geolocation=(), camera=()"},
				{"Cross-Origin-Opener-Policy", "same-origin"},
				{"Cross-Origin-Embedder-Policy", "require-corp"},
				{"Cross-Origin-Resource-Policy", "same-origin"},
				{"Set-Cookie", "__Host-sid=secret; Path=/; Secure; HttpOnly; SameSite=Strict"},
				{"Content-Type", "text/html; charset=utf-8"},
			}, body: goodPage},
			want: tlswarden.HTTPResult{
				Headers: map[string][]string{
					"strict-transport-security":    {"max-age=63072000; includeSubDomains; preload"},
					"content-security-policy":      {"default-src 'none'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"},
					"x-content-type-options":       {"nosniff"},
					"x-frame-options":              {"DENY"},
					"referrer-policy":              {"strict-origin-when-cross-origin"},
					"permissions-policy":           {"geolocation=(), camera=()"},
					"cross-origin-opener-policy":   {"same-origin"},
					"cross-origin-embedder-policy": {"require-corp"},
					"cross-origin-resource-policy": {"same-origin"},
					"set-cookie":                   {"__Host-sid=[redacted]; Path=/; Secure; HttpOnly; SameSite=Strict"},
					"content-type":                 {"text/html; charset=utf-8"},
				},
				HSTS: &tlswarden.HSTS{Valid: true, MaxAge: 63072000, IncludeSubDomains: true, Preload: true, Headers: 1},
				CSP: []tlswarden.CSPPolicy{{
					Directives: map[string][]string{
						"default-src": {"'none'"}, "script-src": {"'self'"}, "object-src": {"'none'"}, "frame-ancestors": {"'none'"},
					},
					ScriptDirective: "script-src", ObjectDirective: "object-src", FrameAncestors: strp("'none'"),
				}},
				XContentTypeOptions: &tlswarden.XContentTypeOptions{Value: "nosniff", Nosniff: true},
				XFrameOptions:       &tlswarden.XFrameOptions{Value: "DENY"},
				ReferrerPolicy:      &tlswarden.ReferrerPolicy{Tokens: []string{"strict-origin-when-cross-origin"}, Policy: "strict-origin-when-cross-origin", Valid: true},
				PermissionsPolicy: &tlswarden.PermissionsPolicy{Valid: true, Features: []tlswarden.PermissionsFeature{
					{Feature: "geolocation", Allowlist: []string{}}, {Feature: "camera", Allowlist: []string{}},
				}},
				COOP:    &tlswarden.HeaderToken{Value: "same-origin", Valid: true},
				COEP:    &tlswarden.HeaderToken{Value: "require-corp", Valid: true},
				CORP:    &tlswarden.HeaderToken{Value: "same-origin", Valid: true},
				Cookies: []tlswarden.HTTPCookie{{Name: "__Host-sid", Secure: true, HTTPOnly: true, SameSite: strp("Strict"), SameSiteValid: true, Path: "/"}},
				HTML: &tlswarden.HTMLFacts{
					Referrer: []string{"no-referrer"},
					Scripts:  []tlswarden.HTMLScript{{Src: "/app.js", Integrity: true}},
				},
			},
		},
		{
			name:   "no security headers",
			served: served{headers: [][2]string{{"Content-Type", "text/plain"}}, body: "hello"},
			want:   tlswarden.HTTPResult{Headers: map[string][]string{"content-type": {"text/plain"}}},
		},
		{
			name:   "malformed HSTS",
			served: served{headers: [][2]string{{"Content-Type", "text/plain"}, {"Strict-Transport-Security", "max-age=abc; includeSubDomains"}}},
			want: tlswarden.HTTPResult{
				Headers: map[string][]string{"content-type": {"text/plain"}, "strict-transport-security": {"max-age=abc; includeSubDomains"}},
				HSTS:    &tlswarden.HSTS{IncludeSubDomains: true, Headers: 1, Problems: []string{`max-age is not a number of seconds: "abc"`}},
			},
		},
		{
			name: "duplicate HSTS: the first wins",
			served: served{headers: [][2]string{{"Content-Type", "text/plain"},
				{"Strict-Transport-Security", "max-age=300"}, {"Strict-Transport-Security", "max-age=31536000; includeSubDomains"}}},
			want: tlswarden.HTTPResult{
				Headers: map[string][]string{"content-type": {"text/plain"}, "strict-transport-security": {"max-age=300", "max-age=31536000; includeSubDomains"}},
				HSTS:    &tlswarden.HSTS{Valid: true, MaxAge: 300, Headers: 2, Problems: []string{"2 Strict-Transport-Security headers: browsers use only the first"}},
			},
		},
		{
			name:   "CSP with unsafe-inline",
			served: served{headers: [][2]string{{"Content-Type", "text/plain"}, {"Content-Security-Policy", "script-src 'self' 'unsafe-inline'; object-src 'none'"}}},
			want: tlswarden.HTTPResult{
				Headers: map[string][]string{"content-type": {"text/plain"}, "content-security-policy": {"script-src 'self' 'unsafe-inline'; object-src 'none'"}},
				CSP: []tlswarden.CSPPolicy{{
					Directives:      map[string][]string{"script-src": {"'self'", "'unsafe-inline'"}, "object-src": {"'none'"}},
					ScriptDirective: "script-src", ObjectDirective: "object-src", UnsafeInline: true,
				}},
			},
		},
		{
			name: "cookies with and without flags",
			served: served{headers: [][2]string{{"Content-Type", "text/plain"},
				{"Set-Cookie", "sessionid=s1; Secure; HttpOnly; SameSite=Lax"},
				{"Set-Cookie", "tracking=t; Path=/"},
				{"Set-Cookie", "csrftoken=c; SameSite=None"}}},
			want: tlswarden.HTTPResult{
				Headers: map[string][]string{"content-type": {"text/plain"}, "set-cookie": {
					"sessionid=[redacted]; Secure; HttpOnly; SameSite=Lax", "tracking=[redacted]; Path=/", "csrftoken=[redacted]; SameSite=None"}},
				Cookies: []tlswarden.HTTPCookie{
					{Name: "sessionid", Secure: true, HTTPOnly: true, SameSite: strp("Lax"), SameSiteValid: true},
					{Name: "tracking", Path: "/"},
					{Name: "csrftoken", SameSite: strp("None"), SameSiteValid: true, Problems: []string{"SameSite=None without Secure: browsers reject the cookie"}},
				},
			},
		},
		{
			name:   "version disclosure",
			served: served{headers: [][2]string{{"Content-Type", "text/plain"}, {"Server", "nginx/1.22.1"}, {"X-Powered-By", "PHP/8.1"}}},
			want: tlswarden.HTTPResult{
				Headers:    map[string][]string{"content-type": {"text/plain"}, "server": {"nginx/1.22.1"}, "x-powered-by": {"PHP/8.1"}},
				Server:     &tlswarden.SoftwareHeader{Values: []string{"nginx/1.22.1"}, DisclosesVersion: true, Versions: []string{"nginx/1.22.1"}},
				XPoweredBy: &tlswarden.SoftwareHeader{Values: []string{"PHP/8.1"}, DisclosesVersion: true, Versions: []string{"PHP/8.1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httpsServer(t, tt.served, false)
			ep := localhost(srv, t)
			got, err := runHTTP(t, quick, ep)
			if err != nil {
				t.Fatalf("probe failed: %v", err)
			}
			want := tt.want
			want.URL = "https://localhost:" + strconv.Itoa(int(ep.Addr.Port())) + "/"
			want.FinalURL, want.StatusCode, want.Proto = want.URL, 200, "HTTP/1.1"
			want.BodyBytes, want.Connections = int64(len(tt.served.body)), 1
			// The same handler answers the CORS preflight, on the same
			// connection.
			want.CORS = &tlswarden.CORSResult{URL: want.URL, Origin: DefaultCORSOrigin, Status: tlswarden.StatusOK, StatusCode: 200}
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestHTTPPinnedToEndpoint checks that the requests (the GET and the CORS
// preflight) go to the endpoint's address with the hostname as SNI and
// Host, or with the address as Host (and no SNI) for an IP target, over
// HTTP/2 when the server offers it.
func TestHTTPPinnedToEndpoint(t *testing.T) {
	type seen struct{ method, sni, host, ua, proto string }
	var (
		mu  sync.Mutex
		got []seen
	)
	srv := httpsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.TLS.ServerName, r.Host, r.UserAgent(), r.Proto})
		mu.Unlock()
	}), true)
	addr := addrOf(t, srv)
	port := strconv.Itoa(int(addr.Port()))

	res, err := runHTTP(t, quick, tlswarden.Endpoint{Host: "www.example.test", Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if res.URL != "https://www.example.test:"+port+"/" || res.Proto != "HTTP/2.0" || res.StatusCode != 200 {
		t.Errorf("url %q proto %q status %d, want https://www.example.test:%s/ over HTTP/2.0 with 200", res.URL, res.Proto, res.StatusCode, port)
	}
	res, err = runHTTP(t, HTTPConfig{UserAgent: "custom/1", SkipPlainHTTP: true}, tlswarden.Endpoint{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if res.URL != "https://127.0.0.1:"+port+"/" {
		t.Errorf("IP target url %q", res.URL)
	}
	want := []seen{
		{"GET", "www.example.test", "www.example.test:" + port, defaultUserAgent(), "HTTP/2.0"},
		{"OPTIONS", "www.example.test", "www.example.test:" + port, defaultUserAgent(), "HTTP/2.0"},
		{"GET", "", "127.0.0.1:" + port, "custom/1", "HTTP/2.0"},
		{"OPTIONS", "", "127.0.0.1:" + port, "custom/1", "HTTP/2.0"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{})); diff != "" {
		t.Errorf("requests seen by the server (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(defaultUserAgent(), "tlswarden/") || !strings.HasSuffix(defaultUserAgent(), " (+https://github.com/tlswarden/tlswarden)") {
		t.Errorf("default user agent %q", defaultUserAgent())
	}
}

// redirector answers each path in routes with a redirect to its target, and
// any other path with 200 and an HSTS header.
type redirector map[string]string

func (rd redirector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if to, ok := rd[r.URL.Path]; ok {
		http.SetCookie(w, &http.Cookie{Name: "hop" + strings.ReplaceAll(r.URL.Path, "/", "_"), Value: "1", Secure: true})
		w.Header().Set("Location", to)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	w.Header().Set("Strict-Transport-Security", "max-age=600")
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, "final")
}

func TestHTTPRedirects(t *testing.T) {
	var (
		mu        sync.Mutex
		connState = map[http.ConnState]int{}
	)
	var routes redirector
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { routes.ServeHTTP(w, r) }))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		connState[s]++
		mu.Unlock()
	}
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ep := localhost(srv, t)
	base := "https://localhost:" + strconv.Itoa(int(ep.Addr.Port()))
	other := "https://localhost:" + strconv.Itoa(closedPort(t))

	hop := func(from, loc, target string, followed bool) tlswarden.HTTPRedirect {
		return tlswarden.HTTPRedirect{URL: base + from, StatusCode: 301, Location: loc, Target: target, Followed: followed}
	}
	type redirectCase struct {
		name      string
		routes    redirector
		redirects []tlswarden.HTTPRedirect
		stop      string
		final     string
		status    int
		cookies   int
	}
	tests := []redirectCase{
		{"same host followed", redirector{"/": "/home", "/home": base + "/final#top"},
			[]tlswarden.HTTPRedirect{hop("/", "/home", base+"/home", true), hop("/home", base+"/final#top", base+"/final", true)},
			"", base + "/final", 200, 2},
		{"off host recorded, not followed", redirector{"/": "https://www.example.org/"},
			[]tlswarden.HTTPRedirect{hop("/", "https://www.example.org/", "https://www.example.org/", false)},
			"off_host", base + "/", 301, 1},
		{"downgrade to http not followed", redirector{"/": "http://localhost/"},
			[]tlswarden.HTTPRedirect{hop("/", "http://localhost/", "http://localhost/", false)},
			"not_https", base + "/", 301, 1},
		{"other port not followed", redirector{"/": other + "/"},
			[]tlswarden.HTTPRedirect{hop("/", other+"/", other+"/", false)},
			"other_port", base + "/", 301, 1},
		{"loop detected", redirector{"/": "/a", "/a": "/b", "/b": "/a"},
			[]tlswarden.HTTPRedirect{hop("/", "/a", base+"/a", true), hop("/a", "/b", base+"/b", true), hop("/b", "/a", base+"/a", false)},
			"loop", base + "/b", 301, 3},
		{"bad location", redirector{"/": "https://[::1"},
			[]tlswarden.HTTPRedirect{hop("/", "https://[::1", "", false)},
			"bad_location", base + "/", 301, 1},
	}
	// An endless chain /, /1, /2, ...: five redirects are followed, the
	// sixth is recorded and not.
	endless := redirector{"/": "/1"}
	hops := []tlswarden.HTTPRedirect{hop("/", "/1", base+"/1", true)}
	for i := 1; i <= 5; i++ {
		from, to := "/"+strconv.Itoa(i), "/"+strconv.Itoa(i+1)
		endless[from] = to
		hops = append(hops, hop(from, to, base+to, i < 5))
	}
	for i := 6; i < 10; i++ {
		endless["/"+strconv.Itoa(i)] = "/" + strconv.Itoa(i+1)
	}
	tests = append(tests, redirectCase{"endless chain bounded", endless, hops, "too_many", base + "/5", 301, 6})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			routes = tt.routes
			got, err := runHTTP(t, quick, ep)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.redirects, got.Redirects); diff != "" {
				t.Errorf("redirects (-want +got):\n%s", diff)
			}
			if got.RedirectStop != tt.stop || got.FinalURL != tt.final || got.StatusCode != tt.status || len(got.Cookies) != tt.cookies {
				t.Errorf("stop %q final %q status %d cookies %d; want %q %q %d %d",
					got.RedirectStop, got.FinalURL, got.StatusCode, len(got.Cookies), tt.stop, tt.final, tt.status, tt.cookies)
			}
			if hsts := got.HSTS != nil; hsts != (tt.status == 200) {
				t.Errorf("HSTS read from the wrong response: %+v", got.HSTS)
			}
			if got.Connections != 1 {
				t.Errorf("%d connections for one chain on one host, want 1 (kept alive)", got.Connections)
			}
		})
	}
	// Every connection the probe opened is closed once it returns.
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		open := connState[http.StateNew] - connState[http.StateClosed] - connState[http.StateHijacked]
		mu.Unlock()
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections left open after the probe returned", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHTTPHostileServers checks that every read is bounded: an endless
// body, an enormous header, a server that trickles or stalls.
func TestHTTPHostileServers(t *testing.T) {
	endless := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=1")
		chunk := []byte(strings.Repeat("x", 4096))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	bigHeader := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 1<<20))
	})
	trickle := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.WriteHeader(200)
		for r.Context().Err() == nil {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	stall := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })

	cfg := HTTPConfig{Timeout: 500 * time.Millisecond, MaxBodyBytes: 64 << 10, SkipPlainHTTP: true}
	tests := []struct {
		name    string
		handler http.Handler
		status  tlswarden.Status
		errHas  string
		check   func(t *testing.T, r *tlswarden.HTTPResult)
	}{
		{"endless body is capped", endless, tlswarden.StatusOK, "", func(t *testing.T, r *tlswarden.HTTPResult) {
			if r.BodyBytes != 64<<10 || !r.BodyTruncated || r.HSTS == nil {
				t.Errorf("body %d bytes, truncated %v, hsts %v; want 65536, true, present", r.BodyBytes, r.BodyTruncated, r.HSTS)
			}
			// The connection of a body left unread is not reused: the
			// preflight, whose endless body is not read at all, has its own.
			if r.CORS == nil || r.CORS.StatusCode != 200 || r.Connections != 2 {
				t.Errorf("preflight %+v over %d connections, want 200 over a second one", r.CORS, r.Connections)
			}
		}},
		{"gigantic header is refused", bigHeader, tlswarden.StatusError, "server response headers exceeded 65536 bytes", func(t *testing.T, r *tlswarden.HTTPResult) {
			if r.StatusCode != 0 || r.Headers != nil {
				t.Errorf("facts recorded from a refused response: %+v", r)
			}
		}},
		{"trickled body times out, headers kept", trickle, tlswarden.StatusTimeout, "reading body", func(t *testing.T, r *tlswarden.HTTPResult) {
			if r.StatusCode != 200 || r.XFrameOptions == nil || r.XFrameOptions.Value != "DENY" || r.BodyBytes == 0 {
				t.Errorf("partial facts lost: status %d, xfo %+v, body %d", r.StatusCode, r.XFrameOptions, r.BodyBytes)
			}
		}},
		{"stalled response times out", stall, tlswarden.StatusTimeout, "context deadline exceeded", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httpsServer(t, tt.handler, false)
			start := time.Now()
			got, err := runHTTP(t, cfg, localhost(srv, t))
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("took %v; every request is bounded by %v", elapsed, cfg.Timeout)
			}
			if st := statusOfHTTP(err); st != tt.status || err != nil && !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %v (status %s), want status %s with %q", err, st, tt.status, tt.errHas)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// statusOfHTTP classifies a probe error as the scanner does: the network
// checks the plain-HTTP check shares, then the handshake error's Status.
func statusOfHTTP(err error) tlswarden.Status {
	var hs *httpsHandshakeError
	switch st := tlswarden.StatusOf(err); {
	case err == nil:
		return tlswarden.StatusOK
	case st != tlswarden.StatusError:
		return st
	case errors.As(err, &hs):
		return hs.Status()
	}
	return tlswarden.StatusError
}

// TestHTTPNotTLS checks the endpoint that accepts and never speaks, and the
// one that is not listening at all.
func TestHTTPNotTLS(t *testing.T) {
	silent := tlstest.RawServer(t, tlstest.Silent)
	cfg := HTTPConfig{Timeout: 300 * time.Millisecond, SkipPlainHTTP: true}
	start := time.Now()
	res, err := runHTTP(t, cfg, tlswarden.Endpoint{Host: "localhost", Addr: silent})
	if st := statusOfHTTP(err); st != tlswarden.StatusTimeout || time.Since(start) > 2*time.Second {
		t.Errorf("silent server: status %s after %v (%v), want a timeout within the deadline", st, time.Since(start), err)
	}
	if res.URL == "" || res.StatusCode != 0 {
		t.Errorf("silent server: result %+v", res)
	}
	closed := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(closedPort(t)))
	_, err = runHTTP(t, cfg, tlswarden.Endpoint{Host: "localhost", Addr: closed})
	if st := statusOfHTTP(err); st != tlswarden.StatusRefused {
		t.Errorf("closed port: status %s (%v), want refused", st, err)
	}
	garbage := tlstest.RawServer(t, tlstest.Reply([]byte("HTTP/1.1 200 OK\r\n\r\n")))
	_, err = runHTTP(t, cfg, tlswarden.Endpoint{Host: "localhost", Addr: garbage})
	if st := statusOfHTTP(err); st != tlswarden.StatusHandshakeError {
		t.Errorf("plain HTTP on the TLS port: status %s (%v), want handshake_error", st, err)
	}
}

func TestHTTPPlain(t *testing.T) {
	srv := httpsServer(t, served{headers: [][2]string{{"Content-Type", "text/plain"}}}, false)
	ep := localhost(srv, t)
	httpsURL := "https://localhost:" + strconv.Itoa(int(ep.Addr.Port())) + "/"
	redirectTo := func(loc string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, loc, http.StatusMovedPermanently) })
	}
	stepped := http.NewServeMux()
	stepped.Handle("/", redirectTo("/step"))
	stepped.Handle("/step", redirectTo(httpsURL))

	tests := []struct {
		name    string
		handler http.Handler // nil: nothing listens
		want    func(port string) tlswarden.PlainHTTPResult
	}{
		{"redirect to https on the same host", redirectTo(httpsURL), func(port string) tlswarden.PlainHTTPResult {
			return tlswarden.PlainHTTPResult{
				URL: "http://localhost:" + port + "/", Listening: true, Status: tlswarden.StatusOK, StatusCode: 301,
				Redirects:    []tlswarden.HTTPRedirect{{URL: "http://localhost:" + port + "/", StatusCode: 301, Location: httpsURL, Target: httpsURL}},
				RedirectStop: "https", FirstRedirectHTTPSSameHost: true, ReachesHTTPS: true,
			}
		}},
		{"https only after a plain hop", stepped, func(port string) tlswarden.PlainHTTPResult {
			u := "http://localhost:" + port
			return tlswarden.PlainHTTPResult{
				URL: u + "/", Listening: true, Status: tlswarden.StatusOK, StatusCode: 301,
				Redirects: []tlswarden.HTTPRedirect{
					{URL: u + "/", StatusCode: 301, Location: "/step", Target: u + "/step", Followed: true},
					{URL: u + "/step", StatusCode: 301, Location: httpsURL, Target: httpsURL},
				},
				RedirectStop: "https", ReachesHTTPS: true,
			}
		}},
		{"redirect elsewhere", redirectTo("https://www.example.org/"), func(port string) tlswarden.PlainHTTPResult {
			return tlswarden.PlainHTTPResult{
				URL: "http://localhost:" + port + "/", Listening: true, Status: tlswarden.StatusOK, StatusCode: 301,
				Redirects:    []tlswarden.HTTPRedirect{{URL: "http://localhost:" + port + "/", StatusCode: 301, Location: "https://www.example.org/", Target: "https://www.example.org/"}},
				RedirectStop: "off_host", ReachesHTTPS: true,
			}
		}},
		{"no redirect", served{body: "plain"}, func(port string) tlswarden.PlainHTTPResult {
			return tlswarden.PlainHTTPResult{URL: "http://localhost:" + port + "/", Listening: true, Status: tlswarden.StatusOK, StatusCode: 200}
		}},
		{"no listener", nil, func(port string) tlswarden.PlainHTTPResult {
			return tlswarden.PlainHTTPResult{URL: "http://localhost:" + port + "/", Status: tlswarden.StatusRefused}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := closedPort(t)
			if tt.handler != nil {
				port = plainServer(t, tt.handler)
			}
			got, err := runHTTP(t, HTTPConfig{Timeout: 2 * time.Second, PlainPort: port}, ep)
			if err != nil {
				t.Fatalf("a plain-HTTP outcome failed the probe: %v", err)
			}
			if got.Plain == nil {
				t.Fatal("no plain-HTTP result")
			}
			want := tt.want(strconv.Itoa(port))
			if tt.handler == nil && strings.Contains(got.Plain.Error, "connection refused") {
				want.Error = got.Plain.Error
			}
			if diff := cmp.Diff(&want, got.Plain); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			wantConns := 2 // one HTTPS; one plain, kept alive across plain hops
			if got.Connections != wantConns {
				t.Errorf("%d connections, want %d", got.Connections, wantConns)
			}
		})
	}
}

func TestHTTPConfig(t *testing.T) {
	p := HTTP(HTTPConfig{Timeout: -1, PlainPort: 70000})
	_, err := p.Run(t.Context(), tlswarden.Endpoint{Addr: netip.MustParseAddrPort("127.0.0.1:1")}, func(context.Context) (net.Conn, error) {
		t.Fatal("an invalid configuration dialed")
		return nil, nil
	})
	want := "http probe config: http probe timeout must not be negative\nhttp probe plain port must be between 1 and 65535 (0 means 80)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	for _, origin := range []string{"cors-check.example", "https://a.example/", "https://a.example?x", "https://u@a.example", "mailto:x@a.example"} {
		p := HTTP(HTTPConfig{CORSOrigin: origin})
		_, err := p.Run(t.Context(), tlswarden.Endpoint{Addr: netip.MustParseAddrPort("127.0.0.1:1")}, func(context.Context) (net.Conn, error) {
			t.Fatal("an invalid configuration dialed")
			return nil, nil
		})
		if err == nil || !strings.Contains(err.Error(), "CORS origin") {
			t.Errorf("CORS origin %q: error %v, want it refused", origin, err)
		}
	}
	for _, origin := range []string{DefaultCORSOrigin, "http://a.example:8080", "https://[2001:db8::1]"} {
		if !isOrigin(origin) {
			t.Errorf("isOrigin(%q) = false", origin)
		}
	}
}

// TestHTTPNginx reads headers that nginx adds with add_header.
func TestHTTPNginx(t *testing.T) {
	addr := tlstest.NginxServer(t, tlstest.NginxConfig{Headers: []tlstest.Header{
		{Name: "Strict-Transport-Security", Value: "max-age=31536000; includeSubDomains", Always: true},
		{Name: "X-Frame-Options", Value: "SAMEORIGIN"},
		{Name: "X-Frame-Options", Value: "SAMEORIGIN"},
		{Name: "Content-Security-Policy", Value: "default-src 'self'; script-src 'self' 'unsafe-eval'"},
	}})
	got, err := runHTTP(t, quick, tlswarden.Endpoint{Host: "localhost", Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	if got.StatusCode != 200 || got.Server == nil || !got.Server.DisclosesVersion || !strings.HasPrefix(got.Server.Values[0], "nginx/") {
		t.Errorf("status %d server %+v, want 200 from nginx/VERSION", got.StatusCode, got.Server)
	}
	if diff := cmp.Diff(&tlswarden.HSTS{Valid: true, MaxAge: 31536000, IncludeSubDomains: true, Headers: 1}, got.HSTS); diff != "" {
		t.Errorf("HSTS (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&tlswarden.XFrameOptions{Value: "SAMEORIGIN"}, got.XFrameOptions); diff != "" {
		t.Errorf("X-Frame-Options (-want +got):\n%s", diff)
	}
	wantCSP := []tlswarden.CSPPolicy{{
		Directives:      map[string][]string{"default-src": {"'self'"}, "script-src": {"'self'", "'unsafe-eval'"}},
		ScriptDirective: "script-src", ObjectDirective: "default-src", UnsafeEval: true,
	}}
	if diff := cmp.Diff(wantCSP, got.CSP); diff != "" {
		t.Errorf("CSP (-want +got):\n%s", diff)
	}
}

func TestOriginURLAndSameHost(t *testing.T) {
	urls := []struct {
		scheme, host string
		port         uint16
		want         string
	}{
		{"https", "www.example.com", 443, "https://www.example.com/"},
		{"https", "www.example.com", 8443, "https://www.example.com:8443/"},
		{"http", "www.example.com", 80, "http://www.example.com/"},
		{"http", "www.example.com", 443, "http://www.example.com:443/"},
		{"https", "::1", 443, "https://[::1]/"},
		{"https", "2001:db8::1", 8443, "https://[2001:db8::1]:8443/"},
	}
	for _, u := range urls {
		if got := originURL(u.scheme, u.host, u.port).String(); got != u.want {
			t.Errorf("originURL(%q, %q, %d) = %q, want %q", u.scheme, u.host, u.port, got, u.want)
		}
	}
	hosts := []struct {
		a, b string
		want bool
	}{
		{"WWW.Example.com", "www.example.com", true},
		{"www.example.com.", "www.example.com", true},
		{"example.com", "www.example.com", false},
		{"::1", "0:0::1", true},
		{"::ffff:127.0.0.1", "127.0.0.1", true},
		{"127.0.0.1", "localhost", false},
	}
	for _, h := range hosts {
		if got := sameHost(h.a, h.b); got != h.want {
			t.Errorf("sameHost(%q, %q) = %v, want %v", h.a, h.b, got, h.want)
		}
	}
}
