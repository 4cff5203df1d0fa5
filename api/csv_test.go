package api_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/internal/testdb"
)

// TestPostureCSVFormulas: owners and tags that a spreadsheet would run as
// formulas reach posture.csv neutralised, a single quote before them.
func TestPostureCSVFormulas(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			owners := map[string]string{
				"a.example": `=HYPERLINK("http://evil.example/","click")`,
				"b.example": "+1+2", "c.example": "-2+3", "d.example": "@SUM(1)",
				"e.example": "plain", "f.example": "a=b",
			}
			for host, owner := range owners {
				e.want("POST", "/api/v1/targets", map[string]any{"host": host, "owner": owner, "tags": []string{"=cmd"}}, http.StatusCreated, nil)
			}
			status, body := e.call("GET", "/api/v1/posture.csv", nil)
			if status != http.StatusOK {
				t.Fatalf("posture.csv: %d %s", status, body)
			}
			rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if err != nil || len(rows) != len(owners)+1 {
				t.Fatalf("posture.csv: %d rows, %v\n%s", len(rows), err, body)
			}
			for _, r := range rows[1:] {
				host, owner, tags := r[1], r[3], r[4]
				want := owners[host]
				if strings.ContainsAny(want[:1], "=+-@") {
					want = "'" + want
				}
				if owner != want || tags != "'=cmd" {
					t.Errorf("%s: owner %q, tags %q; want %q, %q", host, owner, tags, want, "'=cmd")
				}
			}
		})
	}
}
