package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/tlswarden/tlswarden/store"
)

// The targets list is written a target at a time, in exactly the shape
// (and bytes) of the one-piece encoding it replaces.
func TestTargetsListStreamedShape(t *testing.T) {
	e := newEnv(t, "sqlite", false)
	for _, n := range []int{0, 1, 3} {
		for i := range n {
			e.want("POST", "/api/v1/targets", map[string]any{"host": fmt.Sprintf("t%d-%d.example", n, i), "tags": []string{"set-" + fmt.Sprint(n)}}, http.StatusCreated, nil)
		}
		status, body := e.call("GET", fmt.Sprintf("/api/v1/targets?tag=set-%d", n), nil)
		var list struct {
			Targets []store.Target `json:"targets"`
		}
		if err := json.Unmarshal(body, &list); err != nil || status != http.StatusOK || len(list.Targets) != n {
			t.Fatalf("%d targets: %d, %v: %s", n, status, err, body)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if list.Targets == nil {
			list.Targets = []store.Target{}
		}
		enc.Encode(map[string]any{"targets": list.Targets})
		if !bytes.Equal(body, want.Bytes()) {
			t.Errorf("%d targets: streamed body differs from the one-piece encoding:\n%s\nwant:\n%s", n, body, want.Bytes())
		}
	}
}
