package api_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/store"
)

// A duplicate target is a 409 in the same plain words on both stores,
// without the database's constraint text.
func TestDuplicateTargetMessage(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			var a, b store.Target
			e.want("POST", "/api/v1/targets", map[string]any{"host": "www.example.org"}, http.StatusCreated, &a)
			e.want("POST", "/api/v1/targets", map[string]any{"host": "mail.example.org"}, http.StatusCreated, &b)
			want := fmt.Sprintf("a target https://www.example.org:443 already exists (id %d)", a.ID)
			var eb errorBody
			e.want("POST", "/api/v1/targets", map[string]any{"host": "WWW.example.org."}, http.StatusConflict, &eb)
			if eb.Error != want || eb.Field != "host" {
				t.Errorf("duplicate create: %+v, want %q", eb, want)
			}
			e.want("PATCH", fmt.Sprintf("/api/v1/targets/%d", b.ID), map[string]any{"host": "www.example.org"}, http.StatusConflict, &eb)
			if eb.Error != want {
				t.Errorf("update into a duplicate: %+v, want %q", eb, want)
			}
		})
	}
}

// A request whose client went away is logged at debug, not as an error
// anyone could fill the log with.
func TestClientAbortLoggedAtDebug(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := testdb.Open(t, name)
			var logs bytes.Buffer
			h, err := api.New(api.Config{Store: b.Store, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/targets", nil).WithContext(ctx))
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("aborted request: %d %s", rec.Code, rec.Body)
			}
			if !strings.Contains(logs.String(), "level=DEBUG msg=\"request failed\"") || strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("aborted request's log:\n%s", logs.String())
			}
		})
	}
}
