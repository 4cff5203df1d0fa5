package storetest

import (
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/store"
)

// testEndpointReport: one endpoint of a scan reads as it does in the whole
// result; one past the last, of a running scan or of no scan is
// ErrNotFound.
func testEndpointReport(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	es, ok := s.(store.EndpointReportStore)
	if !ok {
		t.Fatalf("%T does not implement store.EndpointReportStore", s)
	}
	tgt := createTarget(t, s, "example.org", "web")
	sc := scanWith(t, s, tgt.ID, day(0), fullResult(day(0).Add(time.Minute)))
	whole, err := s.GetScanResult(ctx, sc.ID)
	check(t, "GetScanResult", err)
	for i := range whole.Report.Endpoints {
		rep, ev, err := es.GetEndpointReport(ctx, sc.ID, i)
		check(t, "GetEndpointReport", err)
		diff(t, "endpoint report", whole.Report.Endpoints[i], rep)
		diff(t, "endpoint evaluation", &whole.Evaluation.Endpoints[i], ev)
	}
	unjudged := result(day(1).Add(time.Minute), 1, 1)
	unjudged.Evaluation = nil
	sc2 := scanWith(t, s, tgt.ID, day(1), unjudged)
	_, ev, err := es.GetEndpointReport(ctx, sc2.ID, 0)
	check(t, "GetEndpointReport of an unjudged scan", err)
	if ev != nil {
		t.Errorf("evaluation of an unjudged scan's endpoint: %+v, want nil", ev)
	}
	running := createScan(t, s, tgt.ID, day(2))
	for _, c := range []struct {
		scanID  int64
		ordinal int
	}{{sc.ID, len(whole.Report.Endpoints)}, {running.ID, 0}, {999999, 0}} {
		_, _, err := es.GetEndpointReport(ctx, c.scanID, c.ordinal)
		wantErr(t, "GetEndpointReport of a missing endpoint", err, store.ErrNotFound)
	}
}
