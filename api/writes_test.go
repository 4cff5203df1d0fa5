package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/store"
)

// TestCrossSiteWrites: with writes open (serve --demo), as with a token, a
// write from another site is refused, body-less scan requests included,
// and a body must be declared JSON; curl-like clients and same-origin
// pages go through.
func TestCrossSiteWrites(t *testing.T) {
	e := newEnvWith(t, "sqlite", true, func(c *api.Config) { c.OpenWrites = true })
	var tg store.Target
	e.want("POST", "/api/v1/targets", map[string]any{"host": "127.0.0.1", "port": 1}, http.StatusCreated, &tg)
	scans := fmt.Sprintf("/api/v1/targets/%d/scans", tg.ID)
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
		want                     int
	}{
		{"text/plain form post", "POST", "/api/v1/targets", `{"host":"a.example"}`, map[string]string{"Content-Type": "text/plain"}, 415},
		{"urlencoded form post", "POST", "/api/v1/targets", `host=a.example`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"body without a type", "POST", "/api/v1/targets", `{"host":"a.example"}`, nil, 415},
		{"JSON from another origin", "POST", "/api/v1/targets", `{"host":"a.example"}`, map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"cross-site fetch", "POST", "/api/v1/targets", `{"host":"a.example"}`, map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, 403},
		{"same-site fetch", "DELETE", fmt.Sprintf("/api/v1/targets/%d", tg.ID), ``, map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"body-less scan from another site", "POST", scans, ``, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"body-less scan from another origin", "POST", scans, ``, map[string]string{"Origin": "https://evil.example"}, 403},
		{"curl", "POST", "/api/v1/targets", `{"host":"b.example"}`, map[string]string{"Content-Type": "application/json"}, 201},
		{"same-origin page", "POST", "/api/v1/targets", `{"host":"c.example"}`, map[string]string{"Content-Type": "application/json; charset=utf-8", "Sec-Fetch-Site": "same-origin", "Origin": e.url}, 201},
		{"same host by Origin", "POST", "/api/v1/targets", `{"host":"d.example"}`, map[string]string{"Content-Type": "application/json", "Origin": "http://" + u.Host}, 201},
		{"merge patch", "PATCH", fmt.Sprintf("/api/v1/targets/%d", tg.ID), `{"owner":"web"}`, map[string]string{"Content-Type": "application/merge-patch+json"}, 200},
		{"body-less scan", "POST", scans, ``, nil, 202},
		{"cross-site read", "GET", "/api/v1/targets", ``, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, e.url+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	var list struct{ Targets []store.Target }
	e.want("GET", "/api/v1/targets", nil, http.StatusOK, &list)
	if len(list.Targets) != 4 {
		t.Errorf("%d targets, want the 4 written by allowed requests: %+v", len(list.Targets), list.Targets)
	}
}
