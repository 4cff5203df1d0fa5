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

// send makes one request with the given Authorization header ("" for
// none) and returns the response with its body read.
func send(t *testing.T, method, url, auth, body string) (*http.Response, errorBody) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb errorBody
	if resp.StatusCode >= 400 {
		if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error == "" {
			t.Errorf("%s %s: status %d without a JSON error: %v", method, url, resp.StatusCode, err)
		}
	}
	return resp, eb
}

func TestAuth(t *testing.T) {
	for _, backend := range testdb.Names {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			testAuth(t, backend)
		})
	}
}

func testAuth(t *testing.T, backend string) {
	e := newEnv(t, backend, false)
	reads := newEnvWith(t, backend, false, func(c *api.Config) { c.AuthReads = true })
	open := newEnvWith(t, backend, false, func(c *api.Config) { c.OpenWrites = true })
	admin, revoked := "Bearer "+e.token, "Bearer "+createToken(t, e.st, "old", store.RoleAdmin)
	reader := "Bearer " + createToken(t, e.st, "grafana", store.RoleRead)
	readsReader := "Bearer " + createToken(t, reads.st, "grafana", store.RoleRead)
	ts := e.st.(store.TokenStore)
	toks, err := ts.ListTokens(t.Context())
	if err != nil || len(toks) != 3 {
		t.Fatalf("tokens: %+v, %v", toks, err)
	}
	if err := ts.RevokeToken(t.Context(), toks[1].ID); err != nil {
		t.Fatal(err)
	}
	const target = `{"host": "a.example"}`
	for _, tc := range []struct {
		name          string
		env           *env
		method, path  string
		auth, body    string
		status        int
		challenge     string // in WWW-Authenticate
		msg           string // in the error
		notChallenged bool
	}{
		{"read without token", e, "GET", "/api/v1/targets", "", "", http.StatusOK, "", "", false},
		{"health without token", reads, "GET", "/healthz", "", "", http.StatusOK, "", "", false},
		{"ready without token", reads, "GET", "/readyz", "", "", http.StatusOK, "", "", false},
		{"write without token", e, "POST", "/api/v1/targets", "", target, http.StatusUnauthorized, `Bearer realm="tlswarden"`, "Bearer TOKEN", false},
		{"write to an unknown route", e, "POST", "/api/v1/nothing", "", target, http.StatusUnauthorized, "Bearer", "", false},
		{"unknown method", e, "PURGE", "/api/v1/targets", "", "", http.StatusUnauthorized, "Bearer", "", false},
		{"basic auth", e, "POST", "/api/v1/targets", "Basic YWRtaW46YWRtaW4=", target, http.StatusUnauthorized, "Bearer", "", false},
		{"unknown token", e, "DELETE", "/api/v1/targets/1", "Bearer tlsw_nope", "", http.StatusUnauthorized, `error="invalid_token"`, "unknown or revoked", false},
		{"huge token", e, "DELETE", "/api/v1/targets/1", "Bearer " + strings.Repeat("x", 10000), "", http.StatusUnauthorized, `error="invalid_token"`, "", false},
		{"revoked token", e, "POST", "/api/v1/targets", revoked, target, http.StatusUnauthorized, `error="invalid_token"`, "", false},
		{"read token writes", e, "POST", "/api/v1/targets", reader, target, http.StatusForbidden, `error="insufficient_scope"`, "role read", false},
		{"read token reads", e, "GET", "/api/v1/targets", reader, "", http.StatusOK, "", "", false},
		{"admin writes", e, "POST", "/api/v1/targets", admin, target, http.StatusCreated, "", "", true},
		{"lower-case scheme", e, "PATCH", "/api/v1/targets/1", "bearer " + e.token, `{"owner": "web"}`, http.StatusOK, "", "", true},
		{"reads need a token", reads, "GET", "/api/v1/targets", "", "", http.StatusUnauthorized, "Bearer", "", false},
		{"a 404 needs a token too", reads, "GET", "/api/v1/nothing", "", "", http.StatusUnauthorized, "Bearer", "", false},
		{"read token with auth-reads", reads, "GET", "/api/v1/targets", readsReader, "", http.StatusOK, "", "", true},
		{"token of another store", reads, "GET", "/api/v1/targets", reader, "", http.StatusUnauthorized, "", "", false},
		{"open writes", open, "POST", "/api/v1/targets", "", target, http.StatusCreated, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, eb := send(t, tc.method, tc.env.url+tc.path, tc.auth, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %+v", resp.StatusCode, tc.status, eb)
			}
			got := resp.Header.Get("WWW-Authenticate")
			if !strings.Contains(got, tc.challenge) || (tc.notChallenged && got != "") {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if !strings.Contains(eb.Error, tc.msg) {
				t.Errorf("error %q, want it to say %q", eb.Error, tc.msg)
			}
		})
	}
	// Tokens are checked, and their use recorded, only where needed: the
	// read token of e went to open reads and a write it could not make.
	toks, err = ts.ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if toks[0].LastUsedAt.IsZero() || !toks[1].LastUsedAt.IsZero() || !toks[2].LastUsedAt.IsZero() {
		t.Errorf("last used times of admin, revoked, read: %v, %v, %v", toks[0].LastUsedAt, toks[1].LastUsedAt, toks[2].LastUsedAt)
	}
	toks, err = reads.st.(store.TokenStore).ListTokens(t.Context())
	if err != nil || len(toks) != 2 || toks[1].LastUsedAt.IsZero() {
		t.Errorf("the read token of the auth-reads API was not recorded as used: %+v, %v", toks, err)
	}
}

// TestRequire checks the guard the service puts on /metrics.
func TestRequire(t *testing.T) {
	b := testdb.Open(t, "sqlite")
	h, err := api.New(api.Config{Store: b.Store})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("metrics\n")) })
	srv := httptest.NewServer(h.Require(store.RoleRead, ok))
	t.Cleanup(srv.Close)
	read := "Bearer " + createToken(t, b.Store, "prometheus", store.RoleRead)
	if resp, _ := send(t, "GET", srv.URL, "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without token: %d", resp.StatusCode)
	}
	if resp, _ := send(t, "GET", srv.URL, read, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("with a read token: %d", resp.StatusCode)
	}
}

func TestNewToken(t *testing.T) {
	a, ta := api.NewToken("a", store.RoleAdmin)
	b, _ := api.NewToken("a", store.RoleAdmin)
	if a == b || !strings.HasPrefix(a, api.TokenPrefix) || len(a) != len(api.TokenPrefix)+43 {
		t.Errorf("tokens %q and %q", a, b)
	}
	if err := ta.Validate(); err != nil || !strings.HasPrefix(a, ta.Prefix) || string(ta.Hash) != string(api.HashToken(a)) {
		t.Errorf("token record %+v: %v", ta, err)
	}
}

func TestConfigNeedsTokens(t *testing.T) {
	var s store.Store // a store that keeps no tokens: none at all here
	if _, err := api.New(api.Config{Store: s}); err == nil || !strings.Contains(err.Error(), "token store") {
		t.Errorf("api.New without a token store: %v", err)
	}
}
