package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// waivers returns s as a WaiverStore, failing when it is not one.
func waivers(tb testing.TB, s store.Store) store.WaiverStore {
	tb.Helper()
	ws, ok := s.(store.WaiverStore)
	if !ok {
		tb.Fatalf("%T does not implement store.WaiverStore", s)
	}
	return ws
}

func testWaivers(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ws := waivers(t, s)
	tg, err := s.CreateTarget(ctx, store.Target{Target: tlswarden.Target{Host: "old.example.org", Port: 443, Owner: "web"}})
	check(t, "create target", err)
	next := time.Now().AddDate(0, 1, 0)
	w, err := ws.CreateWaiver(ctx, store.Waiver{TargetID: tg.ID, Rule: " tls.version.min ", Reason: "vendor appliance", Expires: next,
		RequestedBy: "alice", RequesterKey: "token:1", ApprovedBy: "smuggled", ApprovedAt: next})
	check(t, "create waiver", err)
	if w.ID <= 0 || w.Rule != "tls.version.min" || w.State(time.Now()) != store.WaiverRequested || w.ApprovedBy != "" ||
		w.Expires.Hour() != 0 || w.Expires.Day() != next.UTC().Day() {
		t.Errorf("created %+v", w)
	}
	got, err := ws.GetWaiver(ctx, w.ID)
	check(t, "get waiver", err)
	diff(t, "get waiver", w, got)

	_, err = ws.ApproveWaiver(ctx, w.ID, "alice again", "token:1")
	var ve *store.ValidationError
	if !errors.As(err, &ve) || ve.Field != "approved_by" {
		t.Errorf("the requester approving: %v", err)
	}
	approved, err := ws.ApproveWaiver(ctx, w.ID, "bob", "token:2")
	check(t, "approve", err)
	if approved.State(time.Now()) != store.WaiverActive || approved.ApprovedBy != "bob" || approved.ApprovedAt.IsZero() {
		t.Errorf("approved %+v", approved)
	}
	_, err = ws.ApproveWaiver(ctx, w.ID, "carol", "token:3")
	wantErr(t, "approve twice", err, store.ErrConflict)
	noted, err := ws.NoteWaiverExpired(ctx, w.ID, time.Now())
	if err != nil || noted {
		t.Errorf("noting the expiry of an active waiver: %v, %v", noted, err)
	}
	later := approved.Expires.AddDate(0, 0, 1)
	for i, want := range []bool{true, false} {
		noted, err := ws.NoteWaiverExpired(ctx, w.ID, later)
		if err != nil || noted != want {
			t.Errorf("noting the expiry the day after, time %d: %v, %v; want %v", i+1, noted, err, want)
		}
	}

	owner, err := ws.CreateWaiver(ctx, store.Waiver{Owner: "web", Rule: "http.hsts", Reason: "internal only", Expires: time.Now(),
		RequestedBy: "bob", RequesterKey: "token:2"})
	check(t, "create an owner's waiver expiring today", err)
	if !owner.Covers(tg) || owner.Covers(store.Target{Target: tlswarden.Target{Owner: "mail"}}) {
		t.Errorf("owner waiver covers: %+v", owner)
	}
	revoked, err := ws.RevokeWaiver(ctx, w.ID, "carol")
	check(t, "revoke", err)
	if revoked.State(time.Now()) != store.WaiverRevoked || revoked.RevokedBy != "carol" {
		t.Errorf("revoked %+v", revoked)
	}
	_, err = ws.RevokeWaiver(ctx, w.ID, "carol")
	wantErr(t, "revoke twice", err, store.ErrConflict)
	_, err = ws.ApproveWaiver(ctx, 99999, "bob", "token:2")
	wantErr(t, "approve a missing waiver", err, store.ErrNotFound)

	list, err := ws.ListWaivers(ctx, store.WaiverFilter{})
	check(t, "list", err)
	if len(list) != 2 || list[0].ID != w.ID || list[1].Owner != "web" {
		t.Errorf("waivers: %+v", list)
	}
	list, err = ws.ListWaivers(ctx, store.WaiverFilter{TargetID: tg.ID})
	check(t, "list a target's", err)
	if len(list) != 1 || list[0].ID != w.ID {
		t.Errorf("the target's waivers: %+v", list)
	}
	log, err := ws.ListWaiverAudit(ctx, w.ID)
	check(t, "audit", err)
	var actions []store.WaiverAction
	for _, a := range log {
		actions = append(actions, a.Action)
	}
	diff(t, "audit actions", []store.WaiverAction{store.WaiverActionRequested, store.WaiverActionApproved, store.WaiverActionExpired, store.WaiverActionRevoked}, actions)
	if log[1].Actor != "bob" || log[1].Waiver.ApprovedBy != "bob" || log[3].Waiver.RevokedBy != "carol" || log[0].At.IsZero() || log[2].Waiver.ExpiryNotedAt.IsZero() {
		t.Errorf("audit entries: %+v", log)
	}
	all, err := ws.ListWaiverAudit(ctx, 0)
	check(t, "all audit", err)
	if len(all) != 5 {
		t.Errorf("%d audit entries in all, want 5", len(all))
	}
	// Deleting the target removes its waiver; the audit log stays.
	check(t, "delete target", s.DeleteTarget(ctx, tg.ID))
	_, err = ws.GetWaiver(ctx, w.ID)
	wantErr(t, "a deleted target's waiver", err, store.ErrNotFound)
	log, err = ws.ListWaiverAudit(ctx, w.ID)
	check(t, "audit after delete", err)
	if len(log) != 4 {
		t.Errorf("audit after the target went: %d entries", len(log))
	}
}

func testWaiverValidation(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ws := waivers(t, s)
	ok := store.Waiver{Owner: "web", Rule: "tls.version.min", Reason: "why", Expires: time.Now().AddDate(0, 0, 7), RequestedBy: "alice", RequesterKey: "token:1"}
	tests := []struct {
		name  string
		edit  func(*store.Waiver)
		field string
	}{
		{"no scope", func(w *store.Waiver) { w.Owner = "" }, "target_id"},
		{"two scopes", func(w *store.Waiver) { w.Tag = "prod" }, "target_id"},
		{"no rule", func(w *store.Waiver) { w.Rule = " " }, "rule"},
		{"no reason", func(w *store.Waiver) { w.Reason = "" }, "reason"},
		{"no requester", func(w *store.Waiver) { w.RequesterKey = "" }, "requested_by"},
		{"expired", func(w *store.Waiver) { w.Expires = time.Now().AddDate(0, 0, -2) }, "expires"},
	}
	for _, tc := range tests {
		w := ok
		tc.edit(&w)
		_, err := ws.CreateWaiver(ctx, w)
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want invalid %s", tc.name, err, tc.field)
		}
	}
	w := ok
	w.Owner, w.TargetID = "", 99999
	_, err := ws.CreateWaiver(ctx, w)
	wantErr(t, "a missing target's waiver", err, store.ErrNotFound)
	list, err := ws.ListWaivers(ctx, store.WaiverFilter{})
	check(t, "list", err)
	audit, err := ws.ListWaiverAudit(ctx, 0)
	check(t, "audit", err)
	if len(list) != 0 || len(audit) != 0 {
		t.Errorf("refused waivers left %d rows and %d audit entries", len(list), len(audit))
	}
}
