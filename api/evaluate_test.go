package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// storeLegacyScan stores the lab's legacy report (TLS 1.0, RC4) as a
// finished scan judged by the default profile, and returns the scan.
func storeLegacyScan(t *testing.T, st store.Store) store.Scan {
	t.Helper()
	raw, err := os.ReadFile("../policy/testdata/lab/legacy.report.json")
	if err != nil {
		t.Fatal(err)
	}
	var rep tlswarden.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tg, err := st.CreateTarget(ctx, store.Target{Target: rep.Target, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := st.CreateScan(ctx, store.Scan{TargetID: tg.ID, Started: rep.Started})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := policy.Builtin(policy.DefaultProfile)
	ev := policy.Evaluate(&rep, p, policy.Options{})
	if err := st.FinishScan(ctx, sc.ID, store.ScanResult{Report: rep, Evaluation: &ev}); err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestEvaluateScan(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			sc := storeLegacyScan(t, e.st)
			var got struct {
				ScanID     int64                `json:"scan_id"`
				Evaluation tlswarden.Evaluation `json:"evaluation"`
			}
			path := fmt.Sprintf("/api/v1/scans/%d/evaluation", sc.ID)
			e.want("GET", path, nil, http.StatusOK, &got)
			if got.ScanID != sc.ID || got.Evaluation.Profile.Name != policy.DefaultProfile || got.Evaluation.Compliance != tlswarden.NonCompliant {
				t.Errorf("default re-evaluation: scan %d, %s, %s", got.ScanID, got.Evaluation.Profile.Name, got.Evaluation.Compliance)
			}
			e.want("GET", path+"?profile=mozilla-old&at=scan", nil, http.StatusOK, &got)
			if got.Evaluation.Profile.Name != "mozilla-old" || got.Evaluation.EvaluatedAt.After(sc.Started.Add(time.Minute)) {
				t.Errorf("mozilla-old as of the scan: %+v at %s", got.Evaluation.Profile, got.Evaluation.EvaluatedAt)
			}
			if !hasFailure(got.Evaluation, "cipher.tls12_allowlist") || hasFailure(got.Evaluation, "tls.version.min") {
				t.Errorf("mozilla-old should fail the suite allow-list and allow TLS 1.0: %+v", got.Evaluation.Endpoints)
			}
			// Nothing was stored: the scan keeps its own verdict.
			var stored store.Scan
			e.want("GET", fmt.Sprintf("/api/v1/scans/%d", sc.ID), nil, http.StatusOK, &stored)
			if stored.Profile != policy.DefaultProfile {
				t.Errorf("stored scan's profile became %q", stored.Profile)
			}
			var eb errorBody
			e.want("GET", path+"?profile=/etc/passwd", nil, http.StatusBadRequest, &eb)
			if eb.Field != "profile" {
				t.Errorf("a file as profile: %+v", eb)
			}
			e.want("GET", path+"?at=yesterday", nil, http.StatusBadRequest, &eb)
			if eb.Field != "at" {
				t.Errorf("bad at: %+v", eb)
			}
			e.want("GET", "/api/v1/scans/99999/evaluation", nil, http.StatusNotFound, nil)
		})
	}
}

func hasFailure(ev tlswarden.Evaluation, rule string) bool {
	for _, ee := range ev.Endpoints {
		for _, f := range ee.Findings {
			if f.RuleID == rule && f.Outcome == tlswarden.RuleFail {
				return true
			}
		}
	}
	return false
}
