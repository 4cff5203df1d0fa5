package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tlswarden/tlswarden/api"
)

func TestSecurityHeaders(t *testing.T) {
	h := api.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	want := map[string]string{
		"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"X-Frame-Options":              "DENY",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
	}
	for _, tc := range []struct {
		name string
		srv  *httptest.Server
		hsts string
	}{
		{"plain HTTP", httptest.NewServer(h), ""},
		{"TLS", httptest.NewTLSServer(h), api.HSTSValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.srv.Close()
			resp, err := tc.srv.Client().Get(tc.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k, v := range want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if got := resp.Header.Get("Strict-Transport-Security"); got != tc.hsts {
				t.Errorf("Strict-Transport-Security: %q, want %q", got, tc.hsts)
			}
		})
	}
}
