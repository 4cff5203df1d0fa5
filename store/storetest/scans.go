package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// fullResult is a finished scan with everything a result can hold: a
// resolution, an endpoint that failed, a waived finding, and events with
// and without times and details.
func fullResult(finished time.Time) store.ScanResult {
	r := result(finished, 3, 4)
	r.Report.Resolution = &tlswarden.Resolution{
		Name:      "example.org",
		Chain:     []tlswarden.CNAME{{Name: "example.org", Target: "lb.example.net", TTL: 300}},
		Addresses: []tlswarden.Address{{Addr: netip.MustParseAddr("10.0.0.0"), TTL: 60}},
		Queries:   []tlswarden.QueryResult{{Type: "A", Outcome: tlswarden.OutcomeOK}, {Type: "AAAA", Outcome: tlswarden.OutcomeNoData}},
	}
	ep := &r.Report.Endpoints[1]
	ep.Status, ep.Error, ep.TLS = tlswarden.StatusTimeout, "i/o timeout", nil
	ee := &r.Evaluation.Endpoints[1]
	ee.Compliance, ee.Grade = tlswarden.ComplianceUnknown, nil
	f := &r.Evaluation.Endpoints[2].Findings[0]
	f.Waived, f.Waiver = true, &tlswarden.Waiver{Target: "example.org", Rule: f.RuleID, Reason: "migration under way", Expires: day(40)}
	r.Events = []store.Event{
		{Kind: store.EventVersionAdded, Regression: true, Details: json.RawMessage(`{"version": "TLSv1.0", "endpoint": "10.0.0.0:443"}`)},
		{Kind: store.EventGradeChanged, At: finished.Add(-time.Second), Details: json.RawMessage(`{"from":"A","to":"B"}`)},
	}
	return r
}

func testScanLifecycle(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	tgt := createTarget(t, s, "example.org", "web")
	sc, err := s.CreateScan(ctx, store.Scan{TargetID: tgt.ID, Trigger: store.TriggerRequest, RequestedBy: "alice", Started: day(0).Add(time.Nanosecond)})
	check(t, "CreateScan", err)
	want := store.Scan{ID: sc.ID, TargetID: tgt.ID, Trigger: store.TriggerRequest, RequestedBy: "alice", Started: day(0), Status: store.StatusRunning}
	diff(t, "created scan", want, sc)
	got, err := s.GetScan(ctx, sc.ID)
	check(t, "GetScan", err)
	diff(t, "GetScan of a running scan", want, got)
	running, err := s.GetScanResult(ctx, sc.ID)
	check(t, "GetScanResult of a running scan", err)
	diff(t, "result of a running scan", store.ScanResult{Report: tlswarden.Report{Status: store.StatusRunning}}, running)
	_, err = s.LatestScan(ctx, tgt.ID)
	wantErr(t, "LatestScan with only a running scan", err, store.ErrNotFound)

	in := fullResult(day(0).Add(5*time.Minute + time.Nanosecond))
	check(t, "FinishScan", s.FinishScan(ctx, sc.ID, in))
	wantResult, err := in.Normalize()
	check(t, "Normalize", err)
	for i := range wantResult.Events {
		wantResult.Events[i].TargetID, wantResult.Events[i].ScanID = tgt.ID, sc.ID
	}
	gotResult, err := s.GetScanResult(ctx, sc.ID)
	check(t, "GetScanResult", err)
	diff(t, "GetScanResult", wantResult, gotResult, jsonEqual, cmpopts.IgnoreFields(store.Event{}, "ID"))

	want.Finished, want.Status, want.Profile, want.Compliance = day(0).Add(5*time.Minute), tlswarden.StatusOK, "nhs-internet-first", tlswarden.NonCompliant
	got, err = s.GetScan(ctx, sc.ID)
	check(t, "GetScan", err)
	diff(t, "GetScan of a finished scan", want, got)
	latest, err := s.LatestScan(ctx, tgt.ID)
	check(t, "LatestScan", err)
	diff(t, "LatestScan", want, latest)
	tgt, err = s.GetTarget(ctx, tgt.ID)
	check(t, "GetTarget", err)
	if tgt.LatestScanID != sc.ID {
		t.Errorf("target's LatestScanID = %d, want %d", tgt.LatestScanID, sc.ID)
	}

	wantErr(t, "FinishScan twice", s.FinishScan(ctx, sc.ID, in), store.ErrConflict)
	wantErr(t, "FinishScan of a missing scan", s.FinishScan(ctx, sc.ID+1000, in), store.ErrNotFound)
	_, err = s.GetScan(ctx, sc.ID+1000)
	wantErr(t, "GetScan missing", err, store.ErrNotFound)
	_, err = s.GetScanResult(ctx, sc.ID+1000)
	wantErr(t, "GetScanResult missing", err, store.ErrNotFound)
	second := createScan(t, s, tgt.ID, day(1))
	scans, err := s.ListScans(ctx, store.ScanFilter{TargetID: tgt.ID})
	check(t, "ListScans", err)
	diff(t, "ListScans", []store.Scan{second, want}, scans)
}

func testScanValidation(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	tgt := createTarget(t, s, "example.org", "web")
	_, err := s.CreateScan(ctx, store.Scan{TargetID: tgt.ID + 1000})
	wantErr(t, "CreateScan of a missing target", err, store.ErrNotFound)
	_, err = s.CreateScan(ctx, store.Scan{})
	wantErr(t, "CreateScan without a target", err, store.ErrInvalid)
	_, err = s.CreateScan(ctx, store.Scan{TargetID: tgt.ID, Trigger: "cron"})
	wantErr(t, "CreateScan with an unknown trigger", err, store.ErrInvalid)
	sc, err := s.CreateScan(ctx, store.Scan{TargetID: tgt.ID})
	check(t, "CreateScan with defaults", err)
	if sc.Trigger != store.TriggerRequest || sc.Started.IsZero() {
		t.Errorf("CreateScan defaults: trigger %q, started %v; want request, now", sc.Trigger, sc.Started)
	}

	tests := []struct {
		name  string
		edit  func(*store.ScanResult)
		field string
	}{
		{"no finish time", func(r *store.ScanResult) { r.Report.Finished = time.Time{} }, "report.finished"},
		{"no status", func(r *store.ScanResult) { r.Report.Status = "" }, "report.status"},
		{"status running", func(r *store.ScanResult) { r.Report.Status = store.StatusRunning }, "report.status"},
		{"endpoint without address", func(r *store.ScanResult) { r.Report.Endpoints[2].Endpoint.Addr = netip.AddrPort{} }, "report.endpoints[2].endpoint.address"},
		{"endpoint without status", func(r *store.ScanResult) { r.Report.Endpoints[0].Status = "" }, "report.endpoints[0].status"},
		{"evaluation of fewer endpoints", func(r *store.ScanResult) { r.Evaluation.Endpoints = r.Evaluation.Endpoints[:2] }, "evaluation.endpoints"},
		{"evaluation of another endpoint", func(r *store.ScanResult) { r.Evaluation.Endpoints[1].Endpoint.Host = "other.example.org" }, "evaluation.endpoints[1].endpoint"},
		{"finding without rule", func(r *store.ScanResult) { r.Evaluation.Endpoints[1].Findings[2].RuleID = "" }, "evaluation.endpoints[1].findings[2].rule"},
		{"finding without outcome", func(r *store.ScanResult) { r.Evaluation.Endpoints[0].Findings[0].Outcome = "" }, "evaluation.endpoints[0].findings[0].outcome"},
		{"event without kind", func(r *store.ScanResult) { r.Events[1].Kind = "" }, "events[1].kind"},
		{"event with bad details", func(r *store.ScanResult) { r.Events[0].Details = json.RawMessage(`{"a":`) }, "events[0].details"},
	}
	for _, tc := range tests {
		r := fullResult(day(0))
		tc.edit(&r)
		err := s.FinishScan(ctx, sc.ID, r)
		wantErr(t, tc.name, err, store.ErrInvalid)
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a *ValidationError for field %q", tc.name, err, tc.field)
		}
	}
	got, err := s.GetScan(ctx, sc.ID)
	check(t, "GetScan", err)
	if !got.Running() {
		t.Errorf("an invalid result finished the scan: %+v", got)
	}
}

// wantNothingStored checks that a scan whose FinishScan failed is still
// running and left no trace.
func wantNothingStored(t *testing.T, s store.Store, sc store.Scan) {
	t.Helper()
	ctx := t.Context()
	got, err := s.GetScan(ctx, sc.ID)
	check(t, "GetScan", err)
	diff(t, "scan after a failed finish", sc, got)
	r, err := s.GetScanResult(ctx, sc.ID)
	check(t, "GetScanResult", err)
	diff(t, "result after a failed finish", store.ScanResult{Report: tlswarden.Report{Status: store.StatusRunning}}, r)
	_, err = s.LatestScan(ctx, sc.TargetID)
	wantErr(t, "LatestScan after a failed finish", err, store.ErrNotFound)
	evs, err := s.ListEvents(ctx, store.EventFilter{TargetID: sc.TargetID})
	check(t, "ListEvents", err)
	if len(evs) != 0 {
		t.Errorf("a failed finish left %d events", len(evs))
	}
}

// testFinishScanAtomic fails a large FinishScan on its last endpoint, a
// duplicate that the database rejects after the scan row and a thousand
// reports were written: nothing may remain.
func testFinishScanAtomic(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	tgt := createTarget(t, s, "example.org", "web")
	sc := createScan(t, s, tgt.ID, day(0))
	r := result(day(0).Add(time.Minute), 1000, 5)
	r.Events = []store.Event{{Kind: store.EventGradeChanged}}
	bad := r
	bad.Report.Endpoints = append(slices.Clip(r.Report.Endpoints), r.Report.Endpoints[0])
	bad.Evaluation = new(tlswarden.Evaluation)
	*bad.Evaluation = *r.Evaluation
	bad.Evaluation.Endpoints = append(slices.Clip(r.Evaluation.Endpoints), r.Evaluation.Endpoints[0])
	wantErr(t, "FinishScan with a duplicate endpoint", s.FinishScan(ctx, sc.ID, bad), store.ErrConflict)
	wantNothingStored(t, s, sc)

	check(t, "FinishScan after the failure", s.FinishScan(ctx, sc.ID, r))
	got, err := s.GetScanResult(ctx, sc.ID)
	check(t, "GetScanResult", err)
	if len(got.Report.Endpoints) != 1000 || len(got.Evaluation.Endpoints) != 1000 || len(got.Events) != 1 {
		t.Errorf("stored %d endpoints and %d events, want 1000 and 1", len(got.Report.Endpoints), len(got.Events))
	}
}

// testFinishScanCanceledMidway cancels a large FinishScan while it runs:
// either it finished before the cancellation, whole, or nothing remains.
func testFinishScanCanceledMidway(t *testing.T, newDB NewDB) {
	s := migrated(t, newDB)
	tgt := createTarget(t, s, "example.org", "web")
	sc := createScan(t, s, tgt.ID, day(0))
	r := result(day(0).Add(time.Minute), 3000, 5)
	ctx, cancel := context.WithCancel(t.Context())
	timer := time.AfterFunc(20*time.Millisecond, cancel)
	defer timer.Stop()
	err := s.FinishScan(ctx, sc.ID, r)
	if err == nil {
		t.Log("FinishScan completed before the cancellation")
		got, err := s.GetScanResult(t.Context(), sc.ID)
		check(t, "GetScanResult", err)
		if len(got.Report.Endpoints) != len(r.Report.Endpoints) {
			t.Errorf("stored %d endpoints, want %d", len(got.Report.Endpoints), len(r.Report.Endpoints))
		}
		return
	}
	wantErr(t, "canceled FinishScan", err, context.Canceled)
	wantNothingStored(t, s, sc)
	check(t, "FinishScan after the cancellation", s.FinishScan(t.Context(), sc.ID, r))
}

func testLatestAndPrevious(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	tgt := createTarget(t, s, "example.org", "web")
	other := createTarget(t, s, "other.example.org", "web")
	s1, s2, s3 := createScan(t, s, tgt.ID, day(0)), createScan(t, s, tgt.ID, day(1)), createScan(t, s, tgt.ID, day(2))
	scanWith(t, s, other.ID, day(3), result(day(3), 1, 1))
	finishAt := func(sc *store.Scan, at time.Time) {
		check(t, "FinishScan", s.FinishScan(ctx, sc.ID, result(at, 1, 1)))
		sc.Finished, sc.Status, sc.Profile, sc.Compliance = at, tlswarden.StatusOK, "nhs-internet-first", tlswarden.NonCompliant
	}
	// s2 started before s3 but finishes after it: s3 stays the latest.
	finishAt(&s1, day(0).Add(time.Hour))
	finishAt(&s3, day(2).Add(time.Hour))
	finishAt(&s2, day(3))
	s4 := createScan(t, s, tgt.ID, day(4))

	latest, err := s.LatestScan(ctx, tgt.ID)
	check(t, "LatestScan", err)
	diff(t, "LatestScan", s3, latest)
	for _, tc := range []struct {
		of, want store.Scan
	}{{s4, s3}, {s3, s2}, {s2, s1}} {
		prev, err := s.PreviousScan(ctx, tc.of.ID)
		check(t, "PreviousScan", err)
		diff(t, "PreviousScan", tc.want, prev)
	}
	_, err = s.PreviousScan(ctx, s1.ID)
	wantErr(t, "PreviousScan of the first scan", err, store.ErrNotFound)
	_, err = s.PreviousScan(ctx, s4.ID+1000)
	wantErr(t, "PreviousScan of a missing scan", err, store.ErrNotFound)
	_, err = s.LatestScan(ctx, other.ID+1000)
	wantErr(t, "LatestScan of a missing target", err, store.ErrNotFound)

	scans, err := s.ListScans(ctx, store.ScanFilter{TargetID: tgt.ID, Limit: 3})
	check(t, "ListScans", err)
	diff(t, "ListScans with a limit", []store.Scan{s4, s3, s2}, scans)
	all, err := s.ListScans(ctx, store.ScanFilter{})
	check(t, "ListScans of every target", err)
	if len(all) != 5 {
		t.Errorf("ListScans of every target: %d scans, want 5", len(all))
	}
}

func testDeleteTargetCascades(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	tgt := createTarget(t, s, "example.org", "web")
	keep := createTarget(t, s, "keep.example.org", "web")
	s1 := scanWith(t, s, tgt.ID, day(0), fullResult(day(0)))
	s2 := scanWith(t, s, tgt.ID, day(1), fullResult(day(1)))
	kept := scanWith(t, s, keep.ID, day(1), fullResult(day(1)))
	check(t, "DeleteTarget", s.DeleteTarget(ctx, tgt.ID))
	for _, id := range []int64{s1.ID, s2.ID} {
		_, err := s.GetScan(ctx, id)
		wantErr(t, "GetScan of a deleted target's scan", err, store.ErrNotFound)
		_, err = s.GetScanResult(ctx, id)
		wantErr(t, "GetScanResult of a deleted target's scan", err, store.ErrNotFound)
	}
	fs, err := s.ListFindings(ctx, store.FindingFilter{})
	check(t, "ListFindings", err)
	evs, err := s.ListEvents(ctx, store.EventFilter{})
	check(t, "ListEvents", err)
	for _, f := range fs {
		if f.ScanID != kept.ID {
			t.Errorf("finding of scan %d survived its target's deletion", f.ScanID)
		}
	}
	for _, e := range evs {
		if e.TargetID != keep.ID {
			t.Errorf("event of target %d survived its deletion", e.TargetID)
		}
	}
	if len(fs) == 0 || len(evs) == 0 {
		t.Errorf("the other target's findings (%d) or events (%d) went too", len(fs), len(evs))
	}
}
