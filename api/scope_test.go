package api_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/scope"
)

// TestTargetScope: with the service's scope, an IP literal it refuses is
// refused when registered (created, updated into, imported), not only when
// dialed; names and allowed addresses go through.
func TestTargetScope(t *testing.T) {
	allow := scope.Prefixes{netip.MustParsePrefix("192.0.2.0/24")}
	e := newEnvWith(t, "sqlite", false, func(c *api.Config) { c.Scope = &scope.Policy{Allow: allow} })
	e.want("POST", "/api/v1/targets", map[string]any{"host": "10.0.0.1"}, http.StatusBadRequest, nil)
	e.want("POST", "/api/v1/targets", map[string]any{"host": "169.254.169.254"}, http.StatusBadRequest, nil)
	e.want("POST", "/api/v1/targets", map[string]any{"host": "[::ffff:127.0.0.1]:443"}, http.StatusBadRequest, nil)
	e.want("POST", "/api/v1/targets", map[string]any{"host": "192.0.2.7"}, http.StatusCreated, nil)
	e.want("POST", "/api/v1/targets", map[string]any{"host": "www.example.org"}, http.StatusCreated, nil)
	e.want("PATCH", "/api/v1/targets/2", map[string]any{"host": "127.0.0.1"}, http.StatusBadRequest, nil)
	e.want("POST", "/api/v1/targets/import", []map[string]any{{"host": "a.example.org"}, {"host": "10.1.2.3"}}, http.StatusBadRequest, nil)
}
