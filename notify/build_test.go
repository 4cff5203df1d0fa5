package notify

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

func TestCandidates(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	created := now.Add(-10 * 24 * time.Hour)
	web := store.Target{ID: 1, Target: tlswarden.Target{Host: "a.example", Port: 443, Owner: "web"}, CreatedAt: created.Add(-time.Hour)}
	other := store.Target{ID: 2, Target: tlswarden.Target{Host: "b.example", Port: 443, Owner: "db"}, CreatedAt: created.Add(-time.Hour)}
	fresh := store.Target{ID: 3, Target: tlswarden.Target{Host: "c.example", Port: 443, Owner: "web"}, CreatedAt: now.Add(-time.Hour)}
	// Added after the subscription too, but long scanned: its regressions
	// are events, it is not new.
	old := store.Target{ID: 4, Target: tlswarden.Target{Host: "d.example", Port: 443, Owner: "web"}, CreatedAt: created.Add(time.Hour)}
	details := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	in := Input{
		Subscription: store.Subscription{ID: 7, Name: "web team", Owner: "web", Regressions: true, Fixes: true,
			ExpiryDays: 30, MinSeverity: tlswarden.SeverityMedium, CreatedAt: created},
		Targets: []store.ScanState{
			{Target: web, Latest: store.Scan{ID: 10, Compliance: tlswarden.NonCompliant}},
			{Target: other, Latest: store.Scan{ID: 11, Compliance: tlswarden.NonCompliant}},
			{Target: fresh, Latest: store.Scan{ID: 12, Compliance: tlswarden.NonCompliant, Profile: "p", Started: now.Add(-30 * time.Minute)}},
			{Target: old, Latest: store.Scan{ID: 13, Compliance: tlswarden.NonCompliant, Started: now.Add(-time.Hour)}},
		},
		Events: []store.Event{
			{ID: 100, TargetID: 1, Kind: store.EventFindingResolved, Details: details(map[string]any{"summary": "rule x no longer fails", "rule": "x", "severity": "high"})},
			{ID: 101, TargetID: 1, Kind: store.EventVersionAdded, Regression: true, Details: details(map[string]any{"summary": "TLS 1.0 is now accepted", "endpoints": []string{"a"}})},
			{ID: 102, TargetID: 2, Kind: store.EventVersionAdded, Regression: true, Details: details(map[string]any{"summary": "not covered"})},
			{ID: 103, TargetID: 1, Kind: store.EventFindingOpened, Regression: true, Details: details(map[string]any{"summary": "low", "rule": "y", "severity": "low"})},
			{ID: 104, TargetID: 1, Kind: store.EventCertReplaced, Details: details(map[string]any{"summary": "routine"})},
		},
		Certs: []Cert{
			{TargetID: 1, SHA256: "aa", NotAfter: now.Add(10 * 24 * time.Hour), Endpoint: "1.2.3.4:443"},
			{TargetID: 1, SHA256: "aa", NotAfter: now.Add(10 * 24 * time.Hour), Endpoint: "[::1]:443"},
			{TargetID: 1, SHA256: "bb", NotAfter: now.Add(90 * 24 * time.Hour)},
			{TargetID: 2, SHA256: "cc", NotAfter: now.Add(24 * time.Hour)},
		},
		Now:     now,
		BaseURL: "https://tlswarden.example/",
	}
	got := Candidates(in)
	var keys []string
	for _, it := range got {
		keys = append(keys, it.Key)
	}
	want := []string{"event:101", "new:3", "cert:1:aa", "event:100"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Fatalf("keys (-want +got):\n%s", diff)
	}
	if got[0].Link != "https://tlswarden.example/targets/1" || got[0].Target.Name == "" {
		t.Errorf("first item: %+v", got[0])
	}
	if c := got[2]; len(c.Endpoints) != 2 || c.Summary != "certificate expires in 10 days (2026-12-17)" {
		t.Errorf("certificate item: %+v", c)
	}
	if got[3].Severity != "high" || got[3].Regression {
		t.Errorf("fix item: %+v", got[3])
	}

	d := Build(in.Subscription, got, now, in.BaseURL)
	if d.Summary != "1 regression, 1 new target not compliant, 1 certificate expiring soon, 1 fix" {
		t.Errorf("summary %q", d.Summary)
	}
	if d.Subscription.Scope != "owner web" || d.Schema != Schema || d.Link != "https://tlswarden.example/" {
		t.Errorf("digest head: %+v", d)
	}
}

func TestBuildCapsItems(t *testing.T) {
	var items []Item
	for i := range MaxItems + 5 {
		items = append(items, Item{Kind: ItemEvent, Regression: true, Key: fmt.Sprintf("event:%d", i)})
	}
	d := Build(store.Subscription{ID: 1, Name: "all"}, items, time.Now(), "")
	if len(d.Items) != MaxItems || d.Omitted != 5 || d.Counts.Regressions != MaxItems+5 || d.Link != "" {
		t.Errorf("%d items, %d omitted, counts %+v", len(d.Items), d.Omitted, d.Counts)
	}
	if d := Build(store.Subscription{ID: 1}, nil, time.Now(), ""); d.Items == nil || d.Summary != "nothing to report" {
		t.Errorf("empty digest: %+v", d)
	}
}
