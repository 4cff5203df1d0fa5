package storetest

import (
	"testing"

	"github.com/tlswarden/tlswarden/store"
)

// testTargetIntrusive checks a target's exemption from the intrusive
// checks is kept by every write (create, update, import) and that an
// import that changes only it counts as a change.
func testTargetIntrusive(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	appliance := newTarget("appliance.example.org", "web")
	appliance.Intrusive = false
	created, err := s.CreateTarget(ctx, appliance)
	check(t, "CreateTarget", err)
	got, err := s.GetTarget(ctx, created.ID)
	check(t, "GetTarget", err)
	if created.Intrusive || got.Intrusive {
		t.Fatalf("created %+v, read back %+v: want intrusive false", created, got)
	}
	other := createTarget(t, s, "web.example.org", "web")
	if !other.Intrusive {
		t.Fatalf("target created intrusive came back %+v", other)
	}

	got.Intrusive = true
	updated, err := s.UpdateTarget(ctx, got)
	check(t, "UpdateTarget", err)
	if !updated.Intrusive {
		t.Errorf("updated to intrusive, got %+v", updated)
	}

	rows := []store.Target{newTarget("appliance.example.org", "web"), newTarget("web.example.org", "web")}
	rows[0].Intrusive, rows[1].Intrusive = false, true
	res, err := s.ImportTargets(ctx, rows)
	check(t, "ImportTargets", err)
	diff(t, "import added, changed, unchanged", [3]int{0, 1, 1}, [3]int{res.Added, res.Changed, res.Unchanged})
	ts, err := s.ListTargets(ctx, store.TargetFilter{})
	check(t, "ListTargets", err)
	intrusive := map[string]bool{}
	for _, tg := range ts {
		intrusive[tg.Host] = tg.Intrusive
	}
	diff(t, "intrusive by host after import", map[string]bool{"appliance.example.org": false, "web.example.org": true}, intrusive)
}
