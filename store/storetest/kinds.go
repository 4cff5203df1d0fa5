package storetest

import (
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// testTargetKindKey: a target is unique by kind, host and port: a mail
// server and a web server on one name and port are two targets, found
// apart by kind, imported apart, and the same kind twice conflicts.
func testTargetKindKey(t *testing.T, newDB NewDB) {
	s := migrated(t, newDB)
	ctx := t.Context()
	target := func(k tlswarden.Kind) store.Target {
		return store.Target{Target: tlswarden.Target{Host: "mx.example.org", Port: 465, Kind: k}, Enabled: true}
	}
	web, err := s.CreateTarget(ctx, target(tlswarden.KindHTTPS))
	check(t, "CreateTarget https", err)
	mail, err := s.CreateTarget(ctx, target(tlswarden.KindSMTPS))
	check(t, "CreateTarget smtps on the same host and port", err)
	_, err = s.CreateTarget(ctx, target(tlswarden.KindSMTPS))
	wantErr(t, "CreateTarget smtps twice", err, store.ErrConflict)

	got, err := s.FindTarget(ctx, tlswarden.KindSMTPS, "MX.example.org.", 465)
	check(t, "FindTarget smtps", err)
	diff(t, "FindTarget smtps", mail.ID, got.ID)
	got, err = s.FindTarget(ctx, "", "mx.example.org", 465)
	check(t, "FindTarget with no kind", err)
	diff(t, "FindTarget with no kind (https)", web.ID, got.ID)
	_, err = s.FindTarget(ctx, tlswarden.KindIMAPS, "mx.example.org", 465)
	wantErr(t, "FindTarget of a kind not registered", err, store.ErrNotFound)

	owned := target(tlswarden.KindSMTPS)
	owned.Owner = "mail"
	imp := target(tlswarden.KindSMTP)
	imp.Port = 25
	res, err := s.ImportTargets(ctx, []store.Target{owned, imp})
	check(t, "ImportTargets", err)
	if res.Changed != 1 || res.Added != 1 || res.Rows[0].Target.ID != mail.ID {
		t.Errorf("import: %+v, want the smtps row to change target %d and smtp to be added", res, mail.ID)
	}
	if _, err := store.NormalizeRows([]store.Target{target(tlswarden.KindSMTPS), target(tlswarden.KindHTTPS)}); err != nil {
		t.Errorf("rows of two kinds on one host and port: %v", err)
	}
	if _, err := store.NormalizeRows([]store.Target{target(tlswarden.KindSMTPS), target(tlswarden.KindSMTPS)}); err == nil {
		t.Error("a repeated kind, host and port was accepted")
	}
}
