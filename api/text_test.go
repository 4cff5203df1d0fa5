package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/store"
)

// Free text is checked once, at the edge, in characters: a value within
// the documented maxLength is kept whole, one with a control character or
// over the length is a 400 naming the field, on both stores.
func TestFreeTextAtTheEdge(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, true)
			var tg store.Target
			e.want("POST", "/api/v1/targets", map[string]any{"host": "127.0.0.1", "port": 1}, http.StatusCreated, &tg)
			path := fmt.Sprintf("/api/v1/targets/%d/scans", tg.ID)
			for _, bad := range []string{"\u0000", "a\u0007b", "line\nforged", strings.Repeat("é", store.MaxRequestedByLen+1)} {
				var eb errorBody
				e.want("POST", path, map[string]any{"requested_by": bad}, http.StatusBadRequest, &eb)
				if eb.Field != "requested_by" {
					t.Errorf("requested_by %q: %+v, want field requested_by", bad, eb)
				}
			}
			ok := "a" + strings.Repeat("é", 60)
			var req struct {
				RequestedBy string `json:"requested_by"`
			}
			e.want("POST", path, map[string]any{"requested_by": ok}, http.StatusAccepted, &req)
			if req.RequestedBy != ok {
				t.Errorf("requested_by %q stored as %q", ok, req.RequestedBy)
			}
			owner := strings.Repeat("é", store.MaxOwnerLen)
			e.want("POST", "/api/v1/targets", map[string]any{"host": "b.example", "owner": owner}, http.StatusCreated, nil)
			var eb errorBody
			e.want("POST", "/api/v1/targets", map[string]any{"host": "c.example", "owner": "x\u0000"}, http.StatusBadRequest, &eb)
			if eb.Field != "owner" {
				t.Errorf("owner with NUL: %+v", eb)
			}
		})
	}
}
