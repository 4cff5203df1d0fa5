package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// testScanStates checks the queries the metrics collector reads: the
// latest scan, how it failed, and the last successful scan, whose
// documents stay readable after later scans fail.
func testScanStates(t *testing.T, newDB NewDB) {
	s := migrated(t, newDB)
	ps, ok := s.(store.PostureStore)
	if !ok {
		t.Fatalf("%T does not implement store.PostureStore", s)
	}
	ctx := t.Context()
	a := createTarget(t, s, "a.example.org", "org-a")
	b := createTarget(t, s, "b.example.org", "org-b")
	c := createTarget(t, s, "c.example.org", "org-c")

	good := scanWith(t, s, a.ID, day(0), result(day(0).Add(time.Hour), 2, 0))
	// Started before the successes below, finished after them: never the
	// last success.
	late := createScan(t, s, a.ID, day(0).Add(2*time.Hour))
	down := result(day(1).Add(time.Hour), 2, 0)
	down.Report.Endpoints[1].Status, down.Report.Endpoints[1].Error = tlswarden.StatusRefused, "refused"
	partial := scanWith(t, s, a.ID, day(1), down)
	allDown := result(day(2).Add(time.Hour), 1, 0)
	allDown.Report.Endpoints[0].Status = tlswarden.StatusTimeout
	failed := scanWith(t, s, a.ID, day(2), allDown)
	dns := store.ScanResult{Report: tlswarden.Report{Schema: tlswarden.ReportSchema, Target: c.Target,
		Finished: day(0).Add(time.Minute), Status: tlswarden.StatusDNSError, Error: "no such host"}}
	cScan := scanWith(t, s, c.ID, day(0), dns)
	createScan(t, s, c.ID, day(3)) // running: never the latest
	check(t, "FinishScan of the late scan", s.FinishScan(ctx, late.ID, result(day(3), 2, 0)))

	states, err := ps.ListScanStates(ctx)
	check(t, "ListScanStates", err)
	type state struct {
		Host                  string
		Latest, LastSuccess   int64
		LatestFailure         tlswarden.Status
		LatestStatus, Success tlswarden.Status
	}
	var got []state
	for _, st := range states {
		got = append(got, state{st.Target.Host, st.Latest.ID, st.LastSuccess.ID, st.LatestFailure,
			st.Latest.Status, st.LastSuccess.Status})
	}
	diff(t, "scan states", []state{
		{"a.example.org", failed.ID, partial.ID, tlswarden.StatusTimeout, tlswarden.StatusOK, tlswarden.StatusOK},
		{"b.example.org", 0, 0, "", "", ""},
		{"c.example.org", cScan.ID, 0, tlswarden.StatusDNSError, tlswarden.StatusDNSError, ""},
	}, got)
	diff(t, "target b", b, states[1].Target)
	if f := states[0].LastSuccess.Finished; !f.Equal(day(1).Add(time.Hour)) {
		t.Errorf("last success finished %v, want %v", f, day(1).Add(time.Hour))
	}

	eps, err := ps.ListEndpointPostures(ctx, []int64{good.ID, partial.ID, 1 << 40})
	check(t, "ListEndpointPostures", err)
	if len(eps) != 4 {
		t.Fatalf("ListEndpointPostures: %d endpoints, want 4", len(eps))
	}
	want := result(day(0).Add(time.Hour), 2, 0)
	wantEP := store.PostureOf(&want.Report.Endpoints[1], &want.Evaluation.Endpoints[1], "nhs-internet-first")
	wantEP.ScanID, wantEP.Ordinal = good.ID, 1
	diff(t, "endpoint posture", wantEP, eps[1])
	if eps[0].ScanID != good.ID || eps[2].ScanID != partial.ID || eps[3].Ordinal != 1 || eps[3].Status != tlswarden.StatusRefused {
		t.Errorf("endpoints out of order or mislabelled: %+v", eps)
	}
	none, err := ps.ListEndpointPostures(ctx, nil)
	check(t, "ListEndpointPostures(nil)", err)
	if len(none) != 0 {
		t.Errorf("ListEndpointPostures(nil) = %d endpoints", len(none))
	}
	if _, err := ps.ListScanStates(canceled(t)); err == nil {
		t.Errorf("ListScanStates with a canceled context: no error")
	}
	if _, err := ps.ListEndpointPostures(canceled(t), []int64{good.ID}); !errors.Is(err, context.Canceled) {
		t.Errorf("ListEndpointPostures with a canceled context: %v, want context.Canceled", err)
	}
}

// PostureFallback checks that ListEndpointPostures reads the postures of
// scans finished before the store kept them (schema version 4) from their
// documents, as FinishScan would have derived them, in order among those
// it kept. s is a new store on an empty database; forget deletes what
// FinishScan kept of the given scans' postures, as only the
// implementation's own SQL can, so that they look as if finished before
// the migration.
func PostureFallback(t *testing.T, s store.Store, forget func(scanIDs []int64) error) {
	ctx := t.Context()
	check(t, "Migrate", s.Migrate(ctx))
	ps, ok := s.(store.PostureStore)
	if !ok {
		t.Fatalf("%T does not implement store.PostureStore", s)
	}
	tgt := createTarget(t, s, "a.example.org", "org-a")
	judgedScan := result(day(0).Add(time.Hour), 3, 2)
	unjudged := result(day(1).Add(time.Hour), 1, 0)
	unjudged.Evaluation = nil
	ids := []int64{
		scanWith(t, s, tgt.ID, day(0), judgedScan).ID,
		scanWith(t, s, tgt.ID, day(1), unjudged).ID,
		scanWith(t, s, tgt.ID, day(2), result(day(2).Add(time.Hour), 2, 1)).ID,
		createScan(t, s, tgt.ID, day(3)).ID, // running: skipped
	}
	var want []store.EndpointPosture
	for _, id := range ids[:3] {
		r, err := s.GetScanResult(ctx, id)
		check(t, "GetScanResult", err)
		for i := range r.Report.Endpoints {
			var ee *tlswarden.EndpointEvaluation
			profile := ""
			if r.Evaluation != nil {
				ee, profile = &r.Evaluation.Endpoints[i], r.Evaluation.Profile.Name
			}
			p := store.PostureOf(&r.Report.Endpoints[i], ee, profile)
			p.ScanID, p.Ordinal = id, i
			want = append(want, p)
		}
	}
	kept, err := ps.ListEndpointPostures(ctx, ids)
	check(t, "ListEndpointPostures", err)
	diff(t, "kept postures", want, kept)
	if kept[0].Evaluation == nil || len(kept[0].Evaluation.Failed) == 0 || kept[3].Evaluation != nil {
		t.Errorf("postures lack their evaluation's or have one they should not: %+v", kept)
	}

	check(t, "forget", forget([]int64{ids[0], ids[2]}))
	mixed, err := ps.ListEndpointPostures(ctx, ids)
	check(t, "ListEndpointPostures after forgetting", err)
	diff(t, "postures derived from the documents", want, mixed)
	check(t, "forget", forget(ids))
	reversed := slices.Clone(ids)
	slices.Reverse(reversed)
	derived, err := ps.ListEndpointPostures(ctx, reversed)
	check(t, "ListEndpointPostures of forgotten scans", err)
	diff(t, "postures derived from the documents", want, derived)
}
