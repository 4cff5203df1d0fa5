package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/store"
)

// TestSessionCookie: the pages' sign-in cookie authorises the API's reads
// (a person follows a page's JSON link) and never its writes.
func TestSessionCookie(t *testing.T) {
	e := newEnvWith(t, "sqlite", false, func(c *api.Config) { c.AuthReads = true })
	admin := e.token
	e.token = ""
	do := func(method, path, cookie string) int {
		req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, strings.NewReader(`{"host": "example.org"}`))
		if err != nil {
			t.Fatal(err)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: cookie})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	reader := createToken(t, e.st, "reader", store.RoleRead)
	for _, tc := range []struct {
		method, cookie string
		want           int
	}{
		{"GET", "", http.StatusUnauthorized},
		{"GET", "tlsw_unknown", http.StatusUnauthorized},
		{"GET", reader, http.StatusOK},
		{"POST", admin, http.StatusUnauthorized},
	} {
		if got := do(tc.method, "/api/v1/targets", tc.cookie); got != tc.want {
			t.Errorf("%s with cookie %.8q: %d, want %d", tc.method, tc.cookie, got, tc.want)
		}
	}
}
