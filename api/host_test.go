package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tlswarden/tlswarden/api"
)

func TestHostCheck(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := api.HostCheck([]string{"TLSWarden.example.org"}, ok)
	for host, want := range map[string]int{
		"127.0.0.1:8080": 204, "[::1]:8080": 204, "10.1.2.3": 204, "localhost:8080": 204, "app.localhost": 204,
		"tlswarden.example.org": 204, "TLSWARDEN.example.org.:443": 204,
		"rebound.attacker.example": 421, "tlswarden.example.org.attacker.example": 421, "": 421, "127.0.0.1.nip.io": 421,
	} {
		req := httptest.NewRequest("GET", "/api/v1/targets", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, want)
		}
	}
}

// API answers, errors included, are never cached.
func TestNoStore(t *testing.T) {
	e := newEnv(t, "sqlite", false)
	for _, path := range []string{"/api/v1/targets", "/api/v1/targets/99", "/healthz"} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", e.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", path, got)
		}
	}
}
