package api_test

import (
	"net/http"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
)

// TestTargetKinds: a host written as a URL names the kind and default
// port; a scheme and a different kind together are a 400; a bare host on
// a kind's well-known port gets that kind and says so.
func TestTargetKinds(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			type created struct {
				Host       string
				Port       int
				Kind       tlswarden.Kind
				KindSource string `json:"kind_source"`
			}
			for _, tc := range []struct {
				body map[string]any
				want created
			}{
				{map[string]any{"host": "tls://dir.example.org:8636"}, created{"dir.example.org", 8636, tlswarden.KindTLS, ""}},
				{map[string]any{"host": "imaps://mail.example.org"}, created{"mail.example.org", 993, tlswarden.KindIMAPS, ""}},
				{map[string]any{"host": "smtps://mx.example.org", "kind": "smtps", "port": 465}, created{"mx.example.org", 465, tlswarden.KindSMTPS, ""}},
				{map[string]any{"host": "pop.example.org", "port": 995}, created{"pop.example.org", 995, tlswarden.KindPOP3S, "port"}},
				{map[string]any{"host": "web.example.org", "port": 995, "kind": "https"}, created{"web.example.org", 995, tlswarden.KindHTTPS, ""}},
				{map[string]any{"host": "web.example.org", "kind": "TLS", "port": 4443}, created{"web.example.org", 4443, tlswarden.KindTLS, ""}},
			} {
				var got created
				e.want("POST", "/api/v1/targets", tc.body, http.StatusCreated, &got)
				if got != tc.want {
					t.Errorf("POST %v: got %+v, want %+v", tc.body, got, tc.want)
				}
			}
			var eb errorBody
			for body, field := range map[string]string{
				`{"host": "tls://x.example.org:8443", "kind": "https"}`: "kind",
				`{"host": "smtps://x.example.org", "port": 25}`:         "port",
				`{"host": "gopher://x.example.org"}`:                    "host",
				`{"host": "x.example.org", "kind": "gopher"}`:           "kind",
			} {
				e.want("POST", "/api/v1/targets", body, http.StatusBadRequest, &eb)
				if eb.Field != field {
					t.Errorf("POST %s: field %q, want %q (%s)", body, eb.Field, field, eb.Error)
				}
			}
		})
	}
}
