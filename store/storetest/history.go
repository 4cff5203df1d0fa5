package storetest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// findingKey names a listed finding by target, endpoint, rule and outcome.
func findingKey(f store.EstateFinding) string {
	return fmt.Sprintf("%s|%s|%s|%s", f.Target.Host, f.Endpoint.Addr, f.RuleID, f.Outcome)
}

func finding(rule string, sev tlswarden.Severity, outcome tlswarden.RuleOutcome) tlswarden.Finding {
	return tlswarden.Finding{RuleID: rule, Title: "Rule " + rule, Severity: sev, Outcome: outcome, Message: rule + " says so"}
}

func testListFindings(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	a := createTarget(t, s, "a.example.org", "web", "prod")
	b := createTarget(t, s, "b.example.org", "data", "prod", "pci")
	c := createTarget(t, s, "c.example.org", "web", "dev")
	createTarget(t, s, "d.example.org", "web", "prod") // never scanned
	old := judged(day(0), []tlswarden.Finding{finding("old-rule", tlswarden.SeverityHigh, tlswarden.RuleFail)})
	for _, tgt := range []store.Target{a, b, c} {
		scanWith(t, s, tgt.ID, day(0), old)
	}
	tlsFail := finding("tls-min-version", tlswarden.SeverityHigh, tlswarden.RuleFail)
	scanWith(t, s, a.ID, day(1), judged(day(1).Add(time.Minute),
		[]tlswarden.Finding{tlsFail, finding("hsts", tlswarden.SeverityMedium, tlswarden.RulePass)},
		[]tlswarden.Finding{finding("dns-caa", tlswarden.SeverityLow, tlswarden.RuleFail)}))
	waived := tlsFail
	waived.Waived = true
	waived.Waiver = &tlswarden.Waiver{Target: "b.example.org", Rule: tlsFail.RuleID, Reason: "legacy clients until March", Expires: day(30)}
	latestB := scanWith(t, s, b.ID, day(1), judged(day(1).Add(2*time.Minute),
		[]tlswarden.Finding{waived},
		[]tlswarden.Finding{finding("cert-expiry", tlswarden.SeverityCritical, tlswarden.RuleFail)}))
	scanWith(t, s, c.ID, day(1), judged(day(1), []tlswarden.Finding{
		finding("hsts", tlswarden.SeverityMedium, tlswarden.RuleNotEvaluated),
		finding("ocsp", tlswarden.SeverityMedium, tlswarden.RuleNotApplicable)}))
	createScan(t, s, c.ID, day(2)) // running: its target's latest is still day 1

	const (
		aTLS  = "a.example.org|10.0.0.0:443|tls-min-version|fail"
		aCAA  = "a.example.org|10.0.0.1:443|dns-caa|fail"
		bTLS  = "b.example.org|10.0.0.0:443|tls-min-version|fail"
		bCert = "b.example.org|10.0.0.1:443|cert-expiry|fail"
		cHSTS = "c.example.org|10.0.0.0:443|hsts|not_evaluated"
	)
	high, critical := tlswarden.SeverityHigh, tlswarden.SeverityCritical
	fail := []tlswarden.RuleOutcome{tlswarden.RuleFail}
	yes, no := true, false
	tests := []struct {
		name string
		f    store.FindingFilter
		want []string
	}{
		{"all that need attention", store.FindingFilter{}, []string{aTLS, aCAA, bTLS, bCert, cHSTS}},
		{"severity", store.FindingFilter{Severities: []tlswarden.Severity{high}}, []string{aTLS, bTLS}},
		{"severities", store.FindingFilter{Severities: []tlswarden.Severity{high, critical}}, []string{aTLS, bTLS, bCert}},
		{"minimum severity", store.FindingFilter{MinSeverity: tlswarden.SeverityMedium}, []string{aTLS, bTLS, bCert, cHSTS}},
		{"rule", store.FindingFilter{RuleIDs: []string{"hsts"}}, []string{cHSTS}},
		{"rule of an old scan only", store.FindingFilter{RuleIDs: []string{"old-rule"}}, nil},
		{"outcome", store.FindingFilter{Outcomes: fail}, []string{aTLS, aCAA, bTLS, bCert}},
		{"not evaluated", store.FindingFilter{Outcomes: []tlswarden.RuleOutcome{tlswarden.RuleNotEvaluated}}, []string{cHSTS}},
		{"passes are not listed", store.FindingFilter{Outcomes: []tlswarden.RuleOutcome{tlswarden.RulePass, tlswarden.RuleNotApplicable}}, nil},
		{"owner", store.FindingFilter{Owner: "web"}, []string{aTLS, aCAA, cHSTS}},
		{"tag", store.FindingFilter{Tag: "pci"}, []string{bTLS, bCert}},
		{"tag and outcome", store.FindingFilter{Tag: "prod", Outcomes: fail}, []string{aTLS, aCAA, bTLS, bCert}},
		{"target", store.FindingFilter{TargetID: c.ID}, []string{cHSTS}},
		{"waived", store.FindingFilter{Waived: &yes}, []string{bTLS}},
		{"not waived", store.FindingFilter{Waived: &no, Severities: []tlswarden.Severity{high}}, []string{aTLS}},
	}
	for _, tc := range tests {
		fs, err := s.ListFindings(ctx, tc.f)
		check(t, tc.name, err)
		got := make([]string, len(fs))
		for i, f := range fs {
			got[i] = findingKey(f)
		}
		diff(t, tc.name, tc.want, got, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(x, y string) bool { return x < y }))
		if !slices.IsSortedFunc(fs, func(x, y store.EstateFinding) int { return int(x.ID - y.ID) }) {
			t.Errorf("%s: findings not in ID order", tc.name)
		}
	}

	all, err := s.ListFindings(ctx, store.FindingFilter{})
	check(t, "ListFindings", err)
	var paged []store.EstateFinding
	for f := (store.FindingFilter{Limit: 2}); ; f.AfterID = paged[len(paged)-1].ID {
		page, err := s.ListFindings(ctx, f)
		check(t, "ListFindings page", err)
		if len(page) > 2 {
			t.Fatalf("page of %d findings with Limit 2", len(page))
		}
		paged = append(paged, page...)
		if len(page) < 2 {
			break
		}
	}
	diff(t, "findings read page by page", all, paged)

	i := slices.IndexFunc(all, func(f store.EstateFinding) bool { return findingKey(f) == bTLS })
	want := store.EstateFinding{
		ID:           all[i].ID,
		Finding:      waived,
		TargetID:     b.ID,
		Target:       tlswarden.Target{Host: "b.example.org", Port: 443, Kind: tlswarden.KindHTTPS, Owner: "data", Tags: []string{"pci", "prod"}},
		Endpoint:     tlswarden.Endpoint{Host: "h0.example.org", Addr: netip.MustParseAddrPort("10.0.0.0:443")},
		ScanID:       latestB.ID,
		ScanFinished: day(1).Add(2 * time.Minute),
	}
	diff(t, "listed finding", want, all[i])
}

func testListEvents(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	a := createTarget(t, s, "a.example.org", "web")
	b := createTarget(t, s, "b.example.org", "web")
	withEvents := func(finished time.Time, evs ...store.Event) store.ScanResult {
		r := result(finished, 1, 1)
		r.Events = evs
		return r
	}
	a1 := scanWith(t, s, a.ID, day(0), withEvents(day(0).Add(time.Hour),
		store.Event{Kind: store.EventFindingOpened, Regression: true, Details: json.RawMessage(`{"rule_id":"tls-min-version"}`)}))
	scanWith(t, s, b.ID, day(0), withEvents(day(0).Add(12*time.Hour),
		store.Event{Kind: store.EventGradeChanged, Regression: true, Details: json.RawMessage(`{"from":"A","to":"C"}`)},
		store.Event{Kind: store.EventCertReplaced}))
	scanWith(t, s, a.ID, day(1), withEvents(day(1),
		store.Event{Kind: store.EventFindingResolved},
		store.Event{Kind: store.EventVersionRemoved, At: day(1).Add(-time.Minute)}))

	tests := []struct {
		name string
		f    store.EventFilter
		want []store.EventKind
	}{
		{"all", store.EventFilter{}, []store.EventKind{"finding_opened", "grade_changed", "cert_replaced", "finding_resolved", "version_removed"}},
		{"since, inclusive", store.EventFilter{Since: day(0).Add(12 * time.Hour)}, []store.EventKind{"grade_changed", "cert_replaced", "finding_resolved", "version_removed"}},
		{"target", store.EventFilter{TargetID: a.ID}, []store.EventKind{"finding_opened", "finding_resolved", "version_removed"}},
		{"regressions", store.EventFilter{Regression: true}, []store.EventKind{"finding_opened", "grade_changed"}},
		{"kinds", store.EventFilter{Kinds: []store.EventKind{store.EventGradeChanged, store.EventVersionRemoved}}, []store.EventKind{"grade_changed", "version_removed"}},
		{"since and target", store.EventFilter{Since: day(1), TargetID: b.ID}, nil},
		{"limit", store.EventFilter{Limit: 2}, []store.EventKind{"finding_opened", "grade_changed"}},
	}
	for _, tc := range tests {
		evs, err := s.ListEvents(ctx, tc.f)
		check(t, tc.name, err)
		var got []store.EventKind
		for _, e := range evs {
			got = append(got, e.Kind)
		}
		diff(t, tc.name, tc.want, got)
	}

	all, err := s.ListEvents(ctx, store.EventFilter{})
	check(t, "ListEvents", err)
	rest, err := s.ListEvents(ctx, store.EventFilter{AfterID: all[1].ID})
	check(t, "ListEvents after an ID", err)
	diff(t, "events after the second", all[2:], rest, jsonEqual)
	want := store.Event{ID: all[0].ID, TargetID: a.ID, ScanID: a1.ID, Kind: store.EventFindingOpened, Regression: true,
		Details: json.RawMessage(`{"rule_id": "tls-min-version"}`), At: day(0).Add(time.Hour)}
	diff(t, "first event", want, all[0], jsonEqual)
	diff(t, "default details", json.RawMessage(`{}`), all[2].Details, jsonEqual)
	diff(t, "event time", day(1).Add(-time.Minute), all[4].At)
}

func testPruneScans(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	a := createTarget(t, s, "a.example.org", "web")
	b := createTarget(t, s, "b.example.org", "web")
	c := createTarget(t, s, "c.example.org", "web")
	withEvent := func(finished time.Time) store.ScanResult {
		r := result(finished, 2, 2)
		r.Events = []store.Event{{Kind: store.EventGradeChanged}}
		return r
	}
	a0 := scanWith(t, s, a.ID, day(0), withEvent(day(0)))
	a10 := scanWith(t, s, a.ID, day(10), withEvent(day(10)))
	a20 := scanWith(t, s, a.ID, day(20), withEvent(day(20)))
	b0 := scanWith(t, s, b.ID, day(0), withEvent(day(0)))
	c1 := createScan(t, s, c.ID, day(1)) // never finished

	n, err := s.PruneScans(ctx, day(15))
	check(t, "PruneScans", err)
	if n != 3 {
		t.Errorf("PruneScans deleted %d scans, want 3", n)
	}
	for _, sc := range []store.Scan{a0, a10, c1} {
		_, err := s.GetScan(ctx, sc.ID)
		wantErr(t, "GetScan of a pruned scan", err, store.ErrNotFound)
		_, err = s.GetScanResult(ctx, sc.ID)
		wantErr(t, "GetScanResult of a pruned scan", err, store.ErrNotFound)
	}
	for _, tc := range []struct {
		target int64
		want   int64
	}{{a.ID, a20.ID}, {b.ID, b0.ID}} {
		latest, err := s.LatestScan(ctx, tc.target)
		check(t, "LatestScan after pruning", err)
		if latest.ID != tc.want {
			t.Errorf("latest scan of target %d is %d, want %d", tc.target, latest.ID, tc.want)
		}
	}
	evs, err := s.ListEvents(ctx, store.EventFilter{TargetID: a.ID})
	check(t, "ListEvents", err)
	var scanIDs []int64
	for _, e := range evs {
		scanIDs = append(scanIDs, e.ScanID)
	}
	diff(t, "events' scans after pruning", []int64{0, 0, a20.ID}, scanIDs)
	fs, err := s.ListFindings(ctx, store.FindingFilter{TargetID: a.ID})
	check(t, "ListFindings", err)
	if len(fs) != 4 {
		t.Errorf("latest scan has %d findings after pruning, want 4", len(fs))
	}
	for _, cutoff := range []time.Time{day(15), day(100)} {
		n, err = s.PruneScans(ctx, cutoff)
		check(t, "PruneScans again", err)
		if n != 0 {
			t.Errorf("PruneScans(%v) deleted %d scans, want 0: only latest scans remain", cutoff, n)
		}
	}
}
