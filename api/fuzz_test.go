package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/jobs"
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
		req.Header.Set("Content-Type", "application/json")
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

// FuzzScanRequestBody sends arbitrary bodies to POST
// /api/v1/targets/{id}/scans on a real store and queue: every answer is a
// 202 or a 4xx with a JSON error, and an accepted requested_by is kept
// whole and valid, never cut.
func FuzzScanRequestBody(f *testing.F) {
	b := testdb.Open(f, "sqlite")
	q := b.Queue(f, jobs.Config{Store: b.Store})
	h, err := api.New(api.Config{Store: b.Store, Scans: q, OpenWrites: true, MaxBodyBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	// Each input asks about a target of its own, so that it is not a
	// duplicate of an earlier input's job.
	var n int
	newTarget := func(tb testing.TB) string {
		n++
		tg, err := b.Store.CreateTarget(tb.Context(), store.Target{Target: tlswarden.Target{Host: fmt.Sprintf("t%d.example", n), Port: 443}, Enabled: true})
		if err != nil {
			tb.Fatal(err)
		}
		return fmt.Sprintf("/api/v1/targets/%d/scans", tg.ID)
	}
	for _, seed := range []string{``, `{}`, `{"requested_by":"alice"}`, `{"requested_by":"a` + strings.Repeat("é", 60) + `"}`,
		`{"requested_by":"\u0000"}`, `{"requested_by":"\ud800"}`, `{"requested_by":1}`, `{"requested_by":"x"} {}`, `{"by":"me"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, newTarget(t), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusAccepted:
			var r jobs.Request
			if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
				t.Fatalf("%q: 202 with %v: %s", body, err, rec.Body)
			}
			if err := store.CheckText("requested_by", r.RequestedBy, store.MaxRequestedByLen); err != nil || r.RequestedBy == "" {
				t.Fatalf("%q: accepted requested_by %q: %v", body, r.RequestedBy, err)
			}
			var in struct {
				RequestedBy string `json:"requested_by"`
			}
			if json.Unmarshal([]byte(body), &in) == nil && in.RequestedBy != "" && in.RequestedBy != r.RequestedBy {
				t.Fatalf("%q: requested_by %q kept as %q", body, in.RequestedBy, r.RequestedBy)
			}
		case rec.Code >= 400 && rec.Code < 500:
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%q: status %d without a JSON error: %s", body, rec.Code, rec.Body)
			}
		default:
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		}
	})
}
