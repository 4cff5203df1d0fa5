package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

func testMigrateTwice(t *testing.T, newDB NewDB) {
	s := migrated(t, newDB)
	check(t, "second Migrate", s.Migrate(t.Context()))
	createTarget(t, s, "example.org", "web")
}

// testMigrateConcurrently starts several stores on one empty database at
// once, as processes do when a deployment starts.
func testMigrateConcurrently(t *testing.T, newDB NewDB) {
	open := newDB(t)
	stores := []store.Store{open(), open(), open(), open()}
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		check(t, fmt.Sprintf("Migrate %d", i), err)
	}
	created := createTarget(t, stores[0], "example.org", "web")
	got, err := stores[3].GetTarget(t.Context(), created.ID)
	check(t, "GetTarget from another store", err)
	diff(t, "target", created, got)
}

func testTargetCRUD(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	in := store.Target{Target: tlswarden.Target{Host: " Example.ORG. ", Port: 8443, Owner: " web ", Tags: []string{"Prod", "pci", "prod"}}, Enabled: true, Schedule: "0  3 * * *"}
	created, err := s.CreateTarget(ctx, in)
	check(t, "CreateTarget", err)
	if created.ID <= 0 || created.CreatedAt.IsZero() || !created.UpdatedAt.Equal(created.CreatedAt) {
		t.Fatalf("CreateTarget returned %+v: want an ID and equal creation and update times", created)
	}
	want := store.Target{ID: created.ID, Target: tlswarden.Target{Host: "example.org", Port: 8443, Kind: tlswarden.KindHTTPS, Owner: "web", Tags: []string{"pci", "prod"}},
		Enabled: true, Schedule: "0 3 * * *", CreatedAt: created.CreatedAt, UpdatedAt: created.UpdatedAt}
	diff(t, "created target", want, created)

	got, err := s.GetTarget(ctx, created.ID)
	check(t, "GetTarget", err)
	diff(t, "GetTarget", created, got)
	got, err = s.FindTarget(ctx, "", "EXAMPLE.org.", 8443)
	check(t, "FindTarget", err)
	diff(t, "FindTarget", created, got)

	_, err = s.CreateTarget(ctx, store.Target{Target: tlswarden.Target{Host: "example.org", Port: 8443}})
	wantErr(t, "CreateTarget duplicate", err, store.ErrConflict)

	upd := got
	upd.Owner, upd.Tags, upd.Enabled, upd.Schedule = "platform", nil, false, ""
	updated, err := s.UpdateTarget(ctx, upd)
	check(t, "UpdateTarget", err)
	want.Owner, want.Tags, want.Enabled, want.Schedule, want.UpdatedAt = "platform", []string{}, false, "", updated.UpdatedAt
	diff(t, "updated target", want, updated)
	if updated.UpdatedAt.Before(created.UpdatedAt) {
		t.Errorf("UpdatedAt went back from %v to %v", created.UpdatedAt, updated.UpdatedAt)
	}
	got, err = s.GetTarget(ctx, created.ID)
	check(t, "GetTarget after update", err)
	diff(t, "GetTarget after update", updated, got)

	other := createTarget(t, s, "other.example.org", "web")
	other.Host, other.Port = "example.org", 8443
	_, err = s.UpdateTarget(ctx, other)
	wantErr(t, "UpdateTarget onto another target's host and port", err, store.ErrConflict)
	upd.ID = other.ID + 1000
	_, err = s.UpdateTarget(ctx, upd)
	wantErr(t, "UpdateTarget missing", err, store.ErrNotFound)

	check(t, "DeleteTarget", s.DeleteTarget(ctx, created.ID))
	_, err = s.GetTarget(ctx, created.ID)
	wantErr(t, "GetTarget deleted", err, store.ErrNotFound)
	wantErr(t, "DeleteTarget again", s.DeleteTarget(ctx, created.ID), store.ErrNotFound)
	_, err = s.FindTarget(ctx, tlswarden.KindHTTPS, "example.org", 8443)
	wantErr(t, "FindTarget deleted", err, store.ErrNotFound)
}

func testTargetValidation(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	valid := newTarget("example.org", "web")
	tests := []struct {
		name  string
		edit  func(*store.Target)
		field string
	}{
		{"empty host", func(t *store.Target) { t.Host = "" }, "host"},
		{"URL", func(t *store.Target) { t.Host = "https://example.org" }, "host"},
		{"space in host", func(t *store.Target) { t.Host = "exa mple.org" }, "host"},
		{"IPv6 zone", func(t *store.Target) { t.Host = "fe80::1%eth0" }, "host"},
		{"port 0", func(t *store.Target) { t.Port = 0 }, "port"},
		{"port too high", func(t *store.Target) { t.Port = 70000 }, "port"},
		{"unknown kind", func(t *store.Target) { t.Kind = "gopher" }, "kind"},
		{"long owner", func(t *store.Target) { t.Owner = strings.Repeat("x", store.MaxOwnerLen+1) }, "owner"},
		{"control in owner", func(t *store.Target) { t.Owner = "web\n" + "x" }, "owner"},
		{"empty tag", func(t *store.Target) { t.Tags = []string{" "} }, "tags"},
		{"tag with space", func(t *store.Target) { t.Tags = []string{"a b"} }, "tags"},
		{"too many tags", func(t *store.Target) {
			for i := range store.MaxTags + 1 {
				t.Tags = append(t.Tags, fmt.Sprint("t", i))
			}
		}, "tags"},
		{"cron with 3 fields", func(t *store.Target) { t.Schedule = "0 3 *" }, "schedule"},
		{"cron with junk", func(t *store.Target) { t.Schedule = "0 3 * * ;rm" }, "schedule"},
		{"cron out of range", func(t *store.Target) { t.Schedule = "99 99 99 99 99" }, "schedule"},
		{"unknown descriptor", func(t *store.Target) { t.Schedule = "@bogus" }, "schedule"},
		{"interval under a minute", func(t *store.Target) { t.Schedule = "@every 30s" }, "schedule"},
		{"interval not a duration", func(t *store.Target) { t.Schedule = "@every day" }, "schedule"},
		{"cron that never fires", func(t *store.Target) { t.Schedule = "0 0 30 2 *" }, "schedule"},
	}
	for _, tc := range tests {
		tgt := valid
		tc.edit(&tgt)
		_, err := s.CreateTarget(ctx, tgt)
		wantErr(t, tc.name, err, store.ErrInvalid)
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field {
			t.Errorf("%s: got %v, want a *ValidationError for field %q", tc.name, err, tc.field)
		}
	}
	ts, err := s.ListTargets(ctx, store.TargetFilter{})
	check(t, "ListTargets", err)
	if len(ts) != 0 {
		t.Errorf("invalid targets were stored: %v", ts)
	}
	_, err = s.FindTarget(ctx, "", "bad host", 443)
	wantErr(t, "FindTarget with a bad host", err, store.ErrInvalid)
	ok, err := s.CreateTarget(ctx, store.Target{Target: tlswarden.Target{Host: "::FFFF:192.0.2.1", Port: 443}})
	check(t, "CreateTarget with a mapped IPv4 address", err)
	if ok.Host != "192.0.2.1" {
		t.Errorf("IPv4-mapped address stored as %q, want 192.0.2.1", ok.Host)
	}
}

func testListTargets(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	a := createTarget(t, s, "a.example.org", "web", "prod")
	b := createTarget(t, s, "b.example.org", "data", "prod", "pci")
	c := createTarget(t, s, "c.example.org", "web", "dev")
	d := newTarget("a.example.org", "web", "prod")
	d.Port, d.Enabled = 8443, false
	d, err := s.CreateTarget(ctx, d)
	check(t, "CreateTarget", err)
	yes, no := true, false
	tests := []struct {
		name string
		f    store.TargetFilter
		want []store.Target
	}{
		{"all, by host and port", store.TargetFilter{}, []store.Target{a, d, b, c}},
		{"owner", store.TargetFilter{Owner: "web"}, []store.Target{a, d, c}},
		{"tag", store.TargetFilter{Tag: "prod"}, []store.Target{a, d, b}},
		{"enabled", store.TargetFilter{Enabled: &yes}, []store.Target{a, b, c}},
		{"disabled", store.TargetFilter{Enabled: &no}, []store.Target{d}},
		{"owner and tag", store.TargetFilter{Owner: "web", Tag: "dev"}, []store.Target{c}},
		{"no match", store.TargetFilter{Tag: "nope"}, nil},
	}
	for _, tc := range tests {
		got, err := s.ListTargets(ctx, tc.f)
		check(t, tc.name, err)
		diff(t, tc.name, tc.want, got, cmpopts.EquateEmpty())
	}
}

func importRows() []store.Target {
	return []store.Target{
		newTarget("a.example.org", "web", "prod"),
		newTarget("b.example.org", "data"),
		newTarget("c.example.org", "web"),
	}
}

func testImportTargets(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	first, err := s.ImportTargets(ctx, importRows())
	check(t, "first import", err)
	counts := func(r store.ImportResult) [3]int { return [3]int{r.Added, r.Changed, r.Unchanged} }
	diff(t, "first import added, changed, unchanged", [3]int{3, 0, 0}, counts(first))
	for _, row := range first.Rows {
		got, err := s.GetTarget(ctx, row.Target.ID)
		check(t, "GetTarget of an imported row", err)
		diff(t, "imported target", row.Target, got)
	}

	again, err := s.ImportTargets(ctx, importRows())
	check(t, "second import", err)
	diff(t, "second import added, changed, unchanged", [3]int{0, 0, 3}, counts(again))
	diff(t, "unchanged rows", first.Rows, again.Rows, cmpopts.IgnoreFields(store.ImportRow{}, "Action"))

	rows := importRows()[:2]
	rows[0].Owner = "platform"
	rows[1].Host = "B.Example.ORG."
	rows = append(rows, newTarget("d.example.org", "web"))
	third, err := s.ImportTargets(ctx, rows)
	check(t, "third import", err)
	diff(t, "third import added, changed, unchanged", [3]int{1, 1, 1}, counts(third))
	actions := []store.ImportAction{third.Rows[0].Action, third.Rows[1].Action, third.Rows[2].Action}
	diff(t, "third import actions", []store.ImportAction{store.ImportChanged, store.ImportUnchanged, store.ImportAdded}, actions)
	if third.Rows[0].Target.ID != first.Rows[0].Target.ID || third.Rows[0].Target.Owner != "platform" {
		t.Errorf("changed row: got %+v, want ID %d with owner platform", third.Rows[0].Target, first.Rows[0].Target.ID)
	}
	all, err := s.ListTargets(ctx, store.TargetFilter{})
	check(t, "ListTargets", err)
	if len(all) != 4 {
		t.Errorf("after imports: %d targets, want 4 (c.example.org left alone)", len(all))
	}
	empty, err := s.ImportTargets(ctx, nil)
	check(t, "empty import", err)
	diff(t, "empty import", [3]int{0, 0, 0}, counts(empty))
}

func testImportRejectsBadRows(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	_, err := s.ImportTargets(ctx, importRows())
	check(t, "import", err)
	rows := importRows()
	rows[0].Owner = "changed"
	rows = append(rows, newTarget("new.example.org", "web"), newTarget("bad host", "web"), newTarget("NEW.example.org", "web"))
	_, err = s.ImportTargets(ctx, rows)
	wantErr(t, "import with bad rows", err, store.ErrInvalid)
	diff(t, "rejected rows", []int{4, 5}, badRows(err))
	if _, err := s.FindTarget(ctx, "", "new.example.org", 443); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a good row of a rejected import was added (FindTarget: %v)", err)
	}
	a, err := s.FindTarget(ctx, "", "a.example.org", 443)
	check(t, "FindTarget", err)
	if a.Owner != "web" {
		t.Errorf("a good row of a rejected import was applied: owner %q", a.Owner)
	}
}

// testImportConcurrently imports the same rows from several goroutines at
// once: every import succeeds and each target is added once.
func testImportConcurrently(t *testing.T, newDB NewDB) {
	s := migrated(t, newDB)
	var rows []store.Target
	for i := range 50 {
		rows = append(rows, newTarget(fmt.Sprintf("host%d.example.org", i), "web"))
	}
	results := make([]store.ImportResult, 4)
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i], errs[i] = s.ImportTargets(t.Context(), rows) })
	}
	wg.Wait()
	added := 0
	for i := range results {
		check(t, fmt.Sprintf("import %d", i), errs[i])
		added += results[i].Added
	}
	if added != len(rows) {
		t.Errorf("concurrent imports added %d targets in all, want %d", added, len(rows))
	}
	all, err := s.ListTargets(t.Context(), store.TargetFilter{})
	check(t, "ListTargets", err)
	if len(all) != len(rows) {
		t.Errorf("%d targets stored, want %d", len(all), len(rows))
	}
}

// badRows returns the indexes of the *store.RowError values in err's tree.
func badRows(err error) []int {
	if re, ok := err.(*store.RowError); ok {
		return []int{re.Index}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return badRows(u.Unwrap())
	case interface{ Unwrap() []error }:
		var out []int
		for _, e := range u.Unwrap() {
			out = append(out, badRows(e)...)
		}
		return out
	}
	return nil
}
