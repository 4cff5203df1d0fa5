package waivers_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/waivers"
)

// storeLegacy stores the lab's legacy report (TLS 1.0) as a target's
// latest scan.
func storeLegacy(t *testing.T, st store.Store) store.Target {
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
	rep.Target.Owner = "legacy-team"
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
	tg, err = st.GetTarget(ctx, tg.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// latest returns the target's latest scan, its finding for rule, and the
// events of that scan.
func latest(t *testing.T, st store.Store, targetID int64, rule string) (store.Scan, tlswarden.Finding, []store.Event) {
	t.Helper()
	sc, err := st.LatestScan(t.Context(), targetID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.GetScanResult(t.Context(), sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Evaluation.Endpoints[0].Findings {
		if f.RuleID == rule {
			return sc, f, res.Events
		}
	}
	t.Fatalf("no finding for %s", rule)
	return sc, tlswarden.Finding{}, nil
}

func hasEvent(evs []store.Event, kind store.EventKind, regression bool) bool {
	for _, e := range evs {
		if e.Kind == kind && e.Regression == regression {
			return true
		}
	}
	return false
}

func TestApproveRevokeExpireRejudge(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, name).Store
			ctx := t.Context()
			tg := storeLegacy(t, st)
			now := time.Now()
			svc, err := waivers.New(waivers.Config{Store: st, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			first, f, _ := latest(t, st, tg.ID, "tls.version.min")
			if f.Outcome != tlswarden.RuleFail || f.Waived {
				t.Fatalf("before any waiver: %+v", f)
			}
			w, err := svc.Request(ctx, store.Waiver{Owner: "legacy-team", Rule: "tls.version.min", Reason: "vendor appliance",
				Expires: now.AddDate(0, 0, 10), RequestedBy: "alice", RequesterKey: "token:1"})
			if err != nil {
				t.Fatal(err)
			}
			if sc, f, _ := latest(t, st, tg.ID, "tls.version.min"); sc.ID != first.ID || f.Waived {
				t.Error("a waiver waiting for approval was applied")
			}
			if _, err := svc.Approve(ctx, w.ID, "alice", "token:1"); err == nil {
				t.Error("the requester approved their own waiver")
			}
			if _, err := svc.Approve(ctx, w.ID, "bob", "token:2"); err != nil {
				t.Fatal(err)
			}
			sc, f, evs := latest(t, st, tg.ID, "tls.version.min")
			if sc.ID == first.ID || sc.Trigger != store.TriggerReevaluation || !f.Waived || f.Waiver == nil || f.Waiver.Reason != "vendor appliance" {
				t.Errorf("after approval: scan %+v, finding %+v", sc, f)
			}
			if !hasEvent(evs, history.EventFindingWaived, false) {
				t.Errorf("no finding_waived event: %+v", evs)
			}
			waived := true
			fs, err := st.ListFindings(ctx, store.FindingFilter{TargetID: tg.ID, RuleIDs: []string{"tls.version.min"}, Waived: &waived})
			if err != nil || len(fs) != 1 {
				t.Errorf("waived findings of the estate: %d, %v", len(fs), err)
			}

			// The day after its expiry, the waiver stops applying at once.
			now = w.Expires.AddDate(0, 0, 11)
			n, err := svc.ExpireDue(ctx)
			if err != nil || n != 1 {
				t.Fatalf("expire: %d, %v", n, err)
			}
			_, f, evs = latest(t, st, tg.ID, "tls.version.min")
			if f.Waived || f.Waiver == nil {
				t.Errorf("after expiry: %+v (want not waived, the lapsed waiver shown)", f)
			}
			if !hasEvent(evs, history.EventFindingUnwaived, true) {
				t.Errorf("no finding_unwaived regression: %+v", evs)
			}
			if n, err := svc.ExpireDue(ctx); err != nil || n != 0 {
				t.Errorf("a second look: %d, %v", n, err)
			}
			log, err := svc.Store().ListWaiverAudit(ctx, w.ID)
			if err != nil || len(log) != 3 || log[2].Action != store.WaiverActionExpired {
				t.Errorf("audit: %+v, %v", log, err)
			}
		})
	}
}

func TestRevokeRejudges(t *testing.T) {
	st := testdb.Open(t, "sqlite").Store
	ctx := t.Context()
	tg := storeLegacy(t, st)
	svc, err := waivers.New(waivers.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	w, err := svc.Request(ctx, store.Waiver{TargetID: tg.ID, Rule: "tls.version.min", Reason: "r", Expires: time.Now().AddDate(0, 1, 0), RequestedBy: "alice", RequesterKey: "token:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(ctx, w.ID, "bob", "token:2"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Revoke(ctx, w.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	_, f, evs := latest(t, st, tg.ID, "tls.version.min")
	if f.Waived || f.Waiver != nil || !hasEvent(evs, history.EventFindingUnwaived, true) {
		t.Errorf("after revoking: %+v, events %+v", f, evs)
	}
}
