package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

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

	eps, err := ps.ListScanEndpoints(ctx, []int64{good.ID, partial.ID, 1 << 40})
	check(t, "ListScanEndpoints", err)
	if len(eps) != 4 {
		t.Fatalf("ListScanEndpoints: %d endpoints, want 4", len(eps))
	}
	want := result(day(0).Add(time.Hour), 2, 0)
	diff(t, "endpoint report", want.Report.Endpoints[1], eps[1].Report, cmpopts.EquateEmpty())
	diff(t, "endpoint evaluation", &want.Evaluation.Endpoints[1], eps[1].Evaluation, cmpopts.EquateEmpty())
	if eps[0].ScanID != good.ID || eps[2].ScanID != partial.ID || eps[3].Ordinal != 1 || eps[0].Profile != "nhs-internet-first" {
		t.Errorf("endpoints out of order or mislabelled: %+v", eps)
	}
	none, err := ps.ListScanEndpoints(ctx, nil)
	check(t, "ListScanEndpoints(nil)", err)
	if len(none) != 0 {
		t.Errorf("ListScanEndpoints(nil) = %d endpoints", len(none))
	}
	if _, err := ps.ListScanStates(canceled(t)); err == nil {
		t.Errorf("ListScanStates with a canceled context: no error")
	}
}
