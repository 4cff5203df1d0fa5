package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/store"
)

// FuzzWriteBodies sends arbitrary bodies to the API's write endpoints,
// backed by a real SQLite store: every answer must be a success or a 4xx
// with a JSON error, never a 5xx or a panic.
func FuzzWriteBodies(f *testing.F) {
	b := testdb.Open(f, "sqlite")
	h, err := api.New(api.Config{Store: b.Store, MaxBodyBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	secret, tok := api.NewToken("fuzz", store.RoleAdmin)
	if _, err := b.Store.(store.TokenStore).CreateToken(f.Context(), tok); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []struct {
		path, body string
	}{
		{"/api/v1/targets", `{"host":"example.org","port":443,"owner":"team-a","tags":["web"]}`},
		{"/api/v1/targets", `{"host":"bücher.example","port":99999}`},
		{"/api/v1/targets", `{"host":"xn--a.example"}`},
		{"/api/v1/targets", `{"host":"a","unknown":1}`},
		{"/api/v1/targets", `[1,2,3]`},
		{"/api/v1/targets/import", `{"targets":[{"host":"a.example"},{"host":""}]}`},
		{"/api/v1/targets/import", `{"targets":null}`},
		{"/api/v1/targets", `{"host":"a.example"}{}`},
	} {
		f.Add(seed.path, seed.body)
	}
	f.Fuzz(func(t *testing.T, path, body string) {
		if path != "/api/v1/targets" && path != "/api/v1/targets/import" {
			path = "/api/v1/targets"
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: status %d: %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("POST %s %q: status %d without a JSON error: %s", path, body, rec.Code, rec.Body)
			}
		}
	})
}
