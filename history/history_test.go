package history_test

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/store"
)

// ep describes one endpoint of a scan in the few facts history reads.
type ep struct {
	addr     string
	versions []tlswarden.Version // accepted; every other version refused
	errored  []tlswarden.Version // could not be tested
	fails    []string            // failed rules; every other rule in rules passed
	notEval  []string            // rules not evaluated
	grade    string
	leaf     string
	expired  bool
	noTLS    bool
}

var rules = []string{"tls-min-version", "cert-trusted", "hsts"}

func scan(eps ...ep) *store.ScanResult {
	r := &store.ScanResult{
		Report:     tlswarden.Report{Status: tlswarden.StatusOK, Finished: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		Evaluation: &tlswarden.Evaluation{},
	}
	for _, e := range eps {
		endpoint := tlswarden.Endpoint{Host: "example.org", Addr: netip.MustParseAddrPort(e.addr)}
		rep := tlswarden.EndpointReport{Endpoint: endpoint, Status: tlswarden.StatusOK}
		if !e.noTLS {
			rep.TLS = &tlswarden.TLSResult{}
			for _, v := range tlswarden.AllVersions {
				vr := tlswarden.VersionResult{Version: v}
				for _, a := range e.versions {
					vr.Supported = vr.Supported || a == v
				}
				for _, x := range e.errored {
					if x == v {
						vr.Error = "timeout"
					}
				}
				rep.TLS.Versions = append(rep.TLS.Versions, vr)
			}
		}
		if e.leaf != "" {
			rep.Cert = &tlswarden.CertResult{
				Chain:           []tlswarden.Certificate{{SHA256: e.leaf, Expired: e.expired, NotAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
				Trusted:         !e.expired,
				HostnameMatches: true,
			}
		}
		ee := tlswarden.EndpointEvaluation{Endpoint: endpoint}
		if e.grade != "" {
			ee.Grade = &tlswarden.Grade{Letter: e.grade}
		}
		for _, id := range rules {
			f := tlswarden.Finding{RuleID: id, Title: "title of " + id, Severity: tlswarden.SeverityHigh, Outcome: tlswarden.RulePass}
			for _, x := range e.fails {
				if x == id {
					f.Outcome, f.Message = tlswarden.RuleFail, "message of "+id
				}
			}
			for _, x := range e.notEval {
				if x == id {
					f.Outcome = tlswarden.RuleNotEvaluated
				}
			}
			ee.Findings = append(ee.Findings, f)
		}
		r.Report.Endpoints = append(r.Report.Endpoints, rep)
		r.Evaluation.Endpoints = append(r.Evaluation.Endpoints, ee)
	}
	return r
}

// event is an event as the tests compare it: kind, regression and the
// details that matter.
type event struct {
	Kind       store.EventKind
	Regression bool
	Details    history.Details
}

func compare(t *testing.T, prev, cur *store.ScanResult) []event {
	t.Helper()
	var out []event
	for _, e := range history.Compare(prev, cur) {
		var d history.Details
		if err := json.Unmarshal(e.Details, &d); err != nil {
			t.Fatalf("details of %s are not JSON: %v", e.Kind, err)
		}
		out = append(out, event{e.Kind, e.Regression, d})
	}
	return out
}

const (
	a = "192.0.2.1:443"
	b = "192.0.2.2:443"
	c = "[2001:db8::1]:443"
)

var (
	modern = []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}
	legacy = []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12, tlswarden.TLS13}
)

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prev, cur *store.ScanResult
		want      []event
	}{
		{
			name: "first scan has nothing to compare",
			prev: nil,
			cur:  scan(ep{addr: a, versions: legacy, fails: []string{"tls-min-version"}, grade: "C"}),
		},
		{
			name: "nothing changed",
			prev: scan(ep{addr: a, versions: modern, grade: "A", leaf: "aa"}),
			cur:  scan(ep{addr: a, versions: modern, grade: "A", leaf: "aa"}),
		},
		{
			name: "TLS 1.0 and 1.1 accepted again: min version fell below TLS 1.2",
			prev: scan(ep{addr: a, versions: modern, grade: "A"}),
			cur:  scan(ep{addr: a, versions: legacy, fails: []string{"tls-min-version"}, grade: "C"}),
			want: []event{
				{store.EventVersionAdded, true, history.Details{Summary: "TLSv1.0 is now accepted on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, Version: tlswarden.TLS10, BelowTLS12: true}},
				{store.EventVersionAdded, true, history.Details{Summary: "TLSv1.1 is now accepted on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, Version: tlswarden.TLS11, BelowTLS12: true}},
				{store.EventGradeChanged, true, history.Details{Summary: "grade dropped from A to C on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, From: "A", To: "C"}},
				{store.EventFindingOpened, true, history.Details{Summary: "rule tls-min-version (title of tls-min-version) now fails on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"},
					Rule: "tls-min-version", Title: "title of tls-min-version", Severity: tlswarden.SeverityHigh, Message: "message of tls-min-version"}},
			},
		},
		{
			name: "legacy versions dropped: improvements, no regression",
			prev: scan(ep{addr: a, versions: legacy, fails: []string{"tls-min-version"}, grade: "C"}),
			cur:  scan(ep{addr: a, versions: modern, grade: "A+"}),
			want: []event{
				{store.EventVersionRemoved, false, history.Details{Summary: "TLSv1.0 is no longer accepted on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, Version: tlswarden.TLS10}},
				{store.EventVersionRemoved, false, history.Details{Summary: "TLSv1.1 is no longer accepted on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, Version: tlswarden.TLS11}},
				{store.EventGradeChanged, false, history.Details{Summary: "grade rose from C to A+ on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, From: "C", To: "A+"}},
				{store.EventFindingResolved, false, history.Details{Summary: "rule tls-min-version (title of tls-min-version) no longer fails on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"},
					Rule: "tls-min-version", Title: "title of tls-min-version", Severity: tlswarden.SeverityHigh, Message: "message of tls-min-version"}},
			},
		},
		{
			name: "adding TLS 1.0 where TLS 1.1 was accepted is a regression, not a fall below TLS 1.2",
			prev: scan(ep{addr: a, versions: []tlswarden.Version{tlswarden.TLS11, tlswarden.TLS12}}),
			cur:  scan(ep{addr: a, versions: []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12}}),
			want: []event{
				{store.EventVersionAdded, true, history.Details{Summary: "TLSv1.0 is now accepted on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, Version: tlswarden.TLS10}},
			},
		},
		{
			name: "losing TLS 1.3 is a regression",
			prev: scan(ep{addr: a, versions: modern}),
			cur:  scan(ep{addr: a, versions: []tlswarden.Version{tlswarden.TLS12}}),
			want: []event{
				{store.EventVersionRemoved, true, history.Details{Summary: "TLSv1.3 is no longer accepted on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, Version: tlswarden.TLS13}},
			},
		},
		{
			name: "a version that could not be tested is not a change",
			prev: scan(ep{addr: a, versions: modern}),
			cur:  scan(ep{addr: a, versions: []tlswarden.Version{tlswarden.TLS12}, errored: []tlswarden.Version{tlswarden.TLS13}}),
		},
		{
			name: "a failed TLS probe or rules not evaluated are not changes",
			prev: scan(ep{addr: a, versions: legacy, fails: []string{"tls-min-version"}, grade: "C"}),
			cur:  scan(ep{addr: a, noTLS: true, notEval: []string{"tls-min-version"}}),
		},
		{
			name: "one change on two endpoints is one event",
			prev: scan(ep{addr: a, versions: modern}, ep{addr: b, versions: modern}),
			cur:  scan(ep{addr: b, versions: legacy}, ep{addr: a, versions: append([]tlswarden.Version{tlswarden.TLS10}, modern...)}),
			want: []event{
				{store.EventVersionAdded, true, history.Details{Summary: "TLSv1.0 is now accepted on 2 endpoints", Endpoints: []string{"example.org@192.0.2.1:443", "example.org@192.0.2.2:443"}, Version: tlswarden.TLS10, BelowTLS12: true}},
				{store.EventVersionAdded, true, history.Details{Summary: "TLSv1.1 is now accepted on example.org@192.0.2.2:443", Endpoints: []string{"example.org@192.0.2.2:443"}, Version: tlswarden.TLS11, BelowTLS12: true}},
			},
		},
		{
			name: "a new address serving the same configuration gives no events",
			prev: scan(ep{addr: a, versions: legacy, fails: []string{"hsts"}, grade: "B", leaf: "aa"}),
			cur:  scan(ep{addr: c, versions: legacy, fails: []string{"hsts"}, grade: "B", leaf: "bb"}),
		},
		{
			name: "a new address serving a worse configuration is compared with the whole previous scan",
			prev: scan(ep{addr: a, versions: modern, grade: "A"}, ep{addr: b, versions: modern, grade: "B"}),
			cur:  scan(ep{addr: a, versions: modern, grade: "A"}, ep{addr: c, versions: legacy, fails: []string{"tls-min-version"}, grade: "C"}),
			want: []event{
				{store.EventVersionAdded, true, history.Details{Summary: "TLSv1.0 is now accepted on example.org@[2001:db8::1]:443", Endpoints: []string{"example.org@[2001:db8::1]:443"}, Version: tlswarden.TLS10, BelowTLS12: true}},
				{store.EventVersionAdded, true, history.Details{Summary: "TLSv1.1 is now accepted on example.org@[2001:db8::1]:443", Endpoints: []string{"example.org@[2001:db8::1]:443"}, Version: tlswarden.TLS11, BelowTLS12: true}},
				{store.EventGradeChanged, true, history.Details{Summary: "grade dropped from B to C on example.org@[2001:db8::1]:443", Endpoints: []string{"example.org@[2001:db8::1]:443"}, From: "B", To: "C"}},
				{store.EventFindingOpened, true, history.Details{Summary: "rule tls-min-version (title of tls-min-version) now fails on example.org@[2001:db8::1]:443", Endpoints: []string{"example.org@[2001:db8::1]:443"},
					Rule: "tls-min-version", Title: "title of tls-min-version", Severity: tlswarden.SeverityHigh, Message: "message of tls-min-version"}},
			},
		},
		{
			name: "an endpoint that disappeared gives no events",
			prev: scan(ep{addr: a, versions: modern}, ep{addr: b, versions: legacy, fails: []string{"tls-min-version"}}),
			cur:  scan(ep{addr: a, versions: modern}),
		},
		{
			name: "the previous scan failed: nothing to compare",
			prev: &store.ScanResult{Report: tlswarden.Report{Status: tlswarden.StatusDNSError}},
			cur:  scan(ep{addr: a, versions: legacy, fails: []string{"tls-min-version"}, grade: "C"}),
		},
		{
			name: "certificate replaced by a valid one",
			prev: scan(ep{addr: a, leaf: "aa", expired: true}),
			cur:  scan(ep{addr: a, leaf: "bb"}),
			want: []event{
				{store.EventCertReplaced, false, history.Details{Summary: "certificate replaced on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, From: "aa", To: "bb"}},
			},
		},
		{
			name: "certificate replaced by an invalid one",
			prev: scan(ep{addr: a, leaf: "aa"}),
			cur:  scan(ep{addr: a, leaf: "bb", expired: true}),
			want: []event{
				{store.EventCertReplaced, true, history.Details{Summary: "certificate replaced by one that is expired on 2026-01-01 on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"},
					From: "aa", To: "bb", Reason: "expired on 2026-01-01"}},
			},
		},
		{
			name: "the same certificate expired",
			prev: scan(ep{addr: a, leaf: "aa"}),
			cur:  scan(ep{addr: a, leaf: "aa", expired: true}),
			want: []event{
				{history.EventCertInvalid, true, history.Details{Summary: "certificate became invalid: expired on 2026-01-01 on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, To: "aa", Reason: "expired on 2026-01-01"}},
			},
		},
		{
			name: "T ranks with F: F to T is a change but not a regression",
			prev: scan(ep{addr: a, grade: "F"}),
			cur:  scan(ep{addr: a, grade: "T"}),
			want: []event{
				{store.EventGradeChanged, false, history.Details{Summary: "grade changed from F to T on example.org@192.0.2.1:443", Endpoints: []string{"example.org@192.0.2.1:443"}, From: "F", To: "T"}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compare(t, tc.prev, tc.cur)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompareDetailsAreValidEvents(t *testing.T) {
	prev := scan(ep{addr: a, versions: modern, grade: "A", leaf: "aa"})
	cur := scan(ep{addr: a, versions: legacy, fails: []string{"tls-min-version", "hsts"}, grade: "C", leaf: "bb"})
	evs := history.Compare(prev, cur)
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	res := *cur
	res.Events = evs
	if _, err := res.Normalize(); err != nil {
		t.Errorf("the store would refuse the events: %v", err)
	}
}
