package storetest

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

func endpointKey(e store.EndpointSummary) string {
	return fmt.Sprintf("%s|%s|%s|%s", e.Target.Host, e.Endpoint.Addr, e.Status, e.MinVersion)
}

func testListEndpoints(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	a := createTarget(t, s, "a.example.org", "web", "prod")
	b := createTarget(t, s, "b.example.org", "data", "pci")
	oldA := scanWith(t, s, a.ID, day(0), result(day(0), 2, 0))
	r := result(day(1), 3, 1)
	ep := &r.Report.Endpoints[1]
	ep.Status, ep.TLS = tlswarden.StatusTimeout, nil
	r.Evaluation.Endpoints[1].Compliance, r.Evaluation.Endpoints[1].Grade = tlswarden.ComplianceUnknown, nil
	r.Report.Endpoints[2] = endpointReport(2, false)
	r.Evaluation.Endpoints[2].Compliance, r.Evaluation.Endpoints[2].Grade.Letter = tlswarden.Compliant, "A"
	latestA := scanWith(t, s, a.ID, day(1), r)
	scanWith(t, s, b.ID, day(1), result(day(1), 1, 0))
	createScan(t, s, b.ID, day(2)) // running: B's latest is still day 1

	const (
		a0    = "a.example.org|10.0.0.0:443|ok|TLSv1.0"
		a1    = "a.example.org|10.0.0.1:443|timeout|unknown(0x0000)"
		a2    = "a.example.org|10.0.0.2:443|ok|TLSv1.2"
		b0    = "b.example.org|10.0.0.0:443|ok|TLSv1.0"
		oldA0 = "a.example.org|10.0.0.0:443|ok|TLSv1.0"
		oldA1 = "a.example.org|10.0.0.1:443|ok|TLSv1.0"
	)
	tests := []struct {
		name string
		f    store.EndpointFilter
		want []string
	}{
		{"all latest", store.EndpointFilter{}, []string{a0, a1, a2, b0}},
		{"accepts below TLS 1.2", store.EndpointFilter{AcceptsBelow: tlswarden.TLS12}, []string{a0, b0}},
		{"status", store.EndpointFilter{Statuses: []tlswarden.Status{tlswarden.StatusTimeout}}, []string{a1}},
		{"compliance", store.EndpointFilter{Compliances: []tlswarden.Compliance{tlswarden.NonCompliant, tlswarden.ComplianceUnknown}}, []string{a0, a1}},
		{"grade", store.EndpointFilter{Grades: []string{"A"}}, []string{a2, b0}},
		{"owner", store.EndpointFilter{Owner: "data"}, []string{b0}},
		{"tag", store.EndpointFilter{Tag: "prod"}, []string{a0, a1, a2}},
		{"target", store.EndpointFilter{TargetID: b.ID}, []string{b0}},
		{"one scan", store.EndpointFilter{ScanID: oldA.ID}, []string{oldA0, oldA1}},
		{"one scan and a filter", store.EndpointFilter{ScanID: latestA.ID, Statuses: []tlswarden.Status{tlswarden.StatusOK}}, []string{a0, a2}},
		{"scans", store.EndpointFilter{ScanIDs: []int64{latestA.ID, oldA.ID}}, []string{oldA0, oldA1, a0, a1, a2}},
		{"scans and a filter", store.EndpointFilter{ScanIDs: []int64{oldA.ID, latestA.ID}, Statuses: []tlswarden.Status{tlswarden.StatusTimeout}}, []string{a1}},
		{"no scans", store.EndpointFilter{ScanIDs: []int64{}}, nil},
		{"limit", store.EndpointFilter{Limit: 2}, []string{a0, a1}},
		{"no match", store.EndpointFilter{Grades: []string{"F"}}, nil},
	}
	for _, tc := range tests {
		eps, err := s.ListEndpoints(ctx, tc.f)
		check(t, tc.name, err)
		var got []string
		for _, e := range eps {
			got = append(got, endpointKey(e))
		}
		diff(t, tc.name, tc.want, got, cmpopts.EquateEmpty())
	}

	eps, err := s.ListEndpoints(ctx, store.EndpointFilter{TargetID: a.ID, Grades: []string{"A"}})
	check(t, "ListEndpoints", err)
	want := []store.EndpointSummary{{
		ScanID:       latestA.ID,
		ScanFinished: day(1),
		TargetID:     a.ID,
		Target:       tlswarden.Target{Host: "a.example.org", Port: 443, Kind: tlswarden.KindHTTPS, Owner: "web", Tags: []string{"prod"}},
		Endpoint:     tlswarden.Endpoint{Host: "h2.example.org", Addr: netip.MustParseAddrPort("10.0.0.2:443")},
		Status:       tlswarden.StatusOK,
		MinVersion:   tlswarden.TLS12,
		MaxVersion:   tlswarden.TLS13,
		Grade:        "A",
		Compliance:   tlswarden.Compliant,
		Profile:      "nhs-internet-first",
	}}
	diff(t, "endpoint summary", want, eps)
}
