package probes

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
)

// corsPage is a strict page without CORS: scored alone, it is 120 (A+)
// with the plain-HTTP check off.
var corsPage = served{headers: [][2]string{
	{"Strict-Transport-Security", "max-age=63072000"},
	{"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "no-referrer"},
	{"Content-Type", "text/plain"},
}, body: "hello"}

// withCORS serves corsPage with CORS headers set by cors on every response,
// the preflight's included, which gets 204 from the handler.
func withCORS(cors func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cors(w, r)
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		corsPage.ServeHTTP(w, r)
	})
}

// TestHTTPCORS sends the preflight to real servers and scores what comes
// back with the Observatory's test: only an echo of our origin with
// credentials costs 50 points, and with them the bonuses.
func TestHTTPCORS(t *testing.T) {
	str := func(s string) *string { return &s }
	// getOnly answers GET (and HEAD) only: ServeMux refuses OPTIONS with
	// 405, even though the GET allows any origin.
	getOnly := http.NewServeMux()
	getOnly.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		corsPage.ServeHTTP(w, r)
	})
	tests := []struct {
		name    string
		handler http.Handler
		// want holds the preflight's facts; the test fills in URL, origin
		// and status.
		want   tlswarden.CORSResult
		result string
		score  int
		grade  string
	}{
		{"no CORS headers", corsPage, tlswarden.CORSResult{StatusCode: 200},
			"cross-origin-resource-sharing-not-implemented", 120, "A+"},
		{"OPTIONS refused with 405", getOnly, tlswarden.CORSResult{StatusCode: 405, GETAllowOrigin: true},
			"cross-origin-resource-sharing-not-implemented", 120, "A+"},
		{"any origin", withCORS(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}), tlswarden.CORSResult{StatusCode: 204, AllowOrigin: str("*"), GETAllowOrigin: true},
			"cross-origin-resource-sharing-implemented-with-public-access", 120, "A+"},
		{"one other origin, with credentials", withCORS(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "https://app.example.test")
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Add("Vary", "Origin")
		}), tlswarden.CORSResult{StatusCode: 204, AllowOrigin: str("https://app.example.test"), AllowCredentials: str("true"), GETAllowOrigin: true},
			"cross-origin-resource-sharing-implemented-with-restricted-access", 120, "A+"},
		{"any origin echoed, with credentials", withCORS(func(w http.ResponseWriter, r *http.Request) {
			if o := r.Header.Get("Origin"); o != "" {
				w.Header().Set("Access-Control-Allow-Origin", o)
				w.Header().Set("Access-Control-Allow-Credentials", "true")
			}
		}), tlswarden.CORSResult{StatusCode: 204, AllowOrigin: str(DefaultCORSOrigin), AllowCredentials: str("true")},
			"cross-origin-resource-sharing-implemented-with-universal-access", 50, "C"},
	}
	for _, tt := range tests {
		for _, h2 := range []bool{false, true} {
			t.Run(tt.name+"/h2="+strconv.FormatBool(h2), func(t *testing.T) {
				srv := httpsServer(t, tt.handler, h2)
				ep := localhost(srv, t)
				got, err := runHTTP(t, quick, ep)
				if err != nil {
					t.Fatalf("probe failed: %v", err)
				}
				want := tt.want
				want.URL, want.Origin, want.Status = got.FinalURL, DefaultCORSOrigin, tlswarden.StatusOK
				if diff := cmp.Diff(&want, got.CORS); diff != "" {
					t.Errorf("preflight (-want +got):\n%s", diff)
				}
				if got.Connections != 1 {
					t.Errorf("%d connections, want 1: the preflight reuses the GET's", got.Connections)
				}
				hs := policy.ScoreHeaders(&tlswarden.EndpointReport{Endpoint: ep, Status: tlswarden.StatusOK, HTTP: got})
				if r := corsTest(hs); r.Result != tt.result || hs.Score != tt.score || hs.Grade != tt.grade {
					t.Errorf("CORS test %+v, score %d %s; want %s, %d %s", r, hs.Score, hs.Grade, tt.result, tt.score, tt.grade)
				}
			})
		}
	}
}

// corsTest returns the score's cross-origin-resource-sharing test.
func corsTest(hs *tlswarden.HeaderScore) tlswarden.HeaderTest {
	for _, test := range hs.Tests {
		if test.Name == "cross-origin-resource-sharing" {
			return test
		}
	}
	return tlswarden.HeaderTest{}
}

// TestHTTPCORSRequest checks what the preflight sends, the Observatory's
// request with our origin, and where: the URL the redirects ended on, on
// the connection the GETs used.
func TestHTTPCORSRequest(t *testing.T) {
	type seen struct{ method, path, origin, acrm, accept, ua string }
	var (
		mu  sync.Mutex
		got []seen
	)
	srv := httpsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method"), r.Header.Get("Accept"), r.UserAgent()})
		mu.Unlock()
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/app/", http.StatusFound)
		}
	}), false)
	ep := localhost(srv, t)
	const origin = "https://scanner.example.test:8443"
	cfg := quick
	cfg.CORSOrigin, cfg.UserAgent = origin, "cors-test/1"
	res, err := runHTTP(t, cfg, ep)
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{"GET", "/", "", "", acceptHTML, "cors-test/1"},
		{"GET", "/app/", "", "", acceptHTML, "cors-test/1"},
		{"OPTIONS", "/app/", origin, "GET", acceptHTML, "cors-test/1"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{})); diff != "" {
		t.Errorf("requests seen by the server (-want +got):\n%s", diff)
	}
	if res.CORS == nil || res.CORS.URL != res.FinalURL || !strings.HasSuffix(res.FinalURL, "/app/") || res.CORS.Origin != origin {
		t.Errorf("preflight %+v after final URL %q", res.CORS, res.FinalURL)
	}
	if res.Connections != 1 {
		t.Errorf("%d connections, want 1 (kept alive for the redirect and the preflight)", res.Connections)
	}
}

// TestHTTPCORSFailures checks that a preflight that fails, here one that
// never gets an answer or a reset, is recorded and bounded, and fails
// neither the probe nor the plain-HTTP check after it.
func TestHTTPCORSFailures(t *testing.T) {
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			// Never an answer: a handler that returned would send 200,
			// and its request's context can end before the client gives
			// up (the race run saw it). The server's Close waits for it.
			time.Sleep(3 * time.Second)
			panic(http.ErrAbortHandler)
		}
		corsPage.ServeHTTP(w, r)
	})
	reset := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			panic(http.ErrAbortHandler) // the server drops the connection
		}
		corsPage.ServeHTTP(w, r)
	})
	tests := []struct {
		name    string
		handler http.Handler
		status  tlswarden.Status
		errHas  string
		// conns counts the plain-HTTP connection, the HTTPS one the GET
		// and the preflight share, and the one net/http dials to replay
		// the preflight (an idempotent request) once when a reused
		// connection dies before answering.
		conns int
	}{
		{"preflight never answered", hang, tlswarden.StatusTimeout, "context deadline exceeded", 2},
		{"connection dropped on OPTIONS", reset, tlswarden.StatusReset, "EOF", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httpsServer(t, tt.handler, false)
			srv.Config.ErrorLog = nil
			ep := localhost(srv, t)
			plain := plainServer(t, http.RedirectHandler("https://localhost/", http.StatusMovedPermanently))
			cfg := HTTPConfig{Timeout: 500 * time.Millisecond, PlainPort: plain}
			start := time.Now()
			got, err := runHTTP(t, cfg, ep)
			if elapsed := time.Since(start); elapsed > 2*time.Second {
				t.Errorf("took %v; the preflight is bounded by %v", elapsed, cfg.Timeout)
			}
			if err != nil {
				t.Fatalf("a failed preflight failed the probe: %v", err)
			}
			if got.StatusCode != 200 || got.HSTS == nil || got.Plain == nil || got.Plain.Status != tlswarden.StatusOK {
				t.Errorf("facts lost: status %d, HSTS %+v, plain %+v", got.StatusCode, got.HSTS, got.Plain)
			}
			c := got.CORS
			if c == nil || c.Status != tt.status || !strings.Contains(c.Error, "OPTIONS") || !strings.Contains(c.Error, tt.errHas) || c.StatusCode != 0 {
				t.Fatalf("preflight %+v, want status %s with an OPTIONS error containing %q", c, tt.status, tt.errHas)
			}
			if got.Connections != tt.conns {
				t.Errorf("%d connections, want %d", got.Connections, tt.conns)
			}
			hs := policy.ScoreHeaders(&tlswarden.EndpointReport{Endpoint: ep, Status: tlswarden.StatusOK, HTTP: got})
			if r := corsTest(hs); r.Evaluated || r.Result != "not_evaluated: the CORS preflight ended with "+string(tt.status) {
				t.Errorf("CORS test %+v, want not evaluated", r)
			}
		})
	}
}

// TestHTTPCORSNotSent checks that no preflight is sent when the HTTPS
// fetch fails: here the response's header block is over the cap.
func TestHTTPCORSNotSent(t *testing.T) {
	var options atomic.Int32
	srv := httpsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			options.Add(1)
		}
		w.Header().Set("X-Big", strings.Repeat("a", 128<<10))
	}), false)
	got, err := runHTTP(t, quick, localhost(srv, t))
	if err == nil || got.CORS != nil || options.Load() != 0 {
		t.Errorf("error %v, preflight %+v, %d OPTIONS seen; want the fetch to fail and no preflight", err, got.CORS, options.Load())
	}
}
