package api_test

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// TestPostureCSVDrift: a name whose two addresses differ (one accepts TLS
// 1.0, the other not) has addresses_drift true on both rows of the
// posture export.
func TestPostureCSVDrift(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			raw, err := os.ReadFile("../policy/testdata/lab/legacy.report.json")
			if err != nil {
				t.Fatal(err)
			}
			var rep tlswarden.Report
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			second := rep.Endpoints[0]
			second.Endpoint.Addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), second.Endpoint.Addr.Port())
			var tr tlswarden.TLSResult
			b, _ := json.Marshal(second.TLS)
			_ = json.Unmarshal(b, &tr)
			for i := range tr.Versions {
				if tr.Versions[i].Version == tlswarden.TLS10 {
					tr.Versions[i].Supported, tr.Versions[i].Suites = false, nil
				}
			}
			second.TLS = &tr
			rep.Endpoints = append(rep.Endpoints, second)
			ctx := t.Context()
			tg, err := e.st.CreateTarget(ctx, store.Target{Target: rep.Target, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			sc, err := e.st.CreateScan(ctx, store.Scan{TargetID: tg.ID, Started: rep.Started})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := policy.Builtin(policy.DefaultProfile)
			ev := policy.Evaluate(&rep, p, policy.Options{})
			if err := e.st.FinishScan(ctx, sc.ID, store.ScanResult{Report: rep, Evaluation: &ev}); err != nil {
				t.Fatal(err)
			}
			status, body := e.call("GET", "/api/v1/posture.csv", nil)
			rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if status != http.StatusOK || err != nil || len(rows) != 3 {
				t.Fatalf("posture.csv: %d, %v\n%s", status, err, body)
			}
			col := len(rows[0]) - 1
			if rows[0][col] != "addresses_drift" || rows[1][col] != "true" || rows[2][col] != "true" {
				t.Errorf("addresses_drift column: %q, %q, %q; want the header, then true twice\n%s", rows[0][col], rows[1][col], rows[2][col], body)
			}
		})
	}
}
