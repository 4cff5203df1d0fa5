package store

import (
	"testing"
	"time"
)

func TestWaiverStates(t *testing.T) {
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	w := Waiver{ID: 1, Owner: "web", Rule: "tls.version.min", Expires: day, RequesterKey: "token:1"}
	lastMinute, nextDay := day.Add(24*time.Hour-time.Minute), day.Add(24*time.Hour)
	if got := w.State(lastMinute); got != WaiverRequested {
		t.Errorf("unapproved: %s", got)
	}
	if _, noted := w.NoteExpired(nextDay); noted {
		t.Error("an unapproved waiver's expiry was noted")
	}
	a, err := w.Approve("bob", "token:2", day)
	if err != nil {
		t.Fatal(err)
	}
	if a.State(lastMinute) != WaiverActive || !a.Applies(lastMinute) || a.State(nextDay) != WaiverExpired || a.Applies(nextDay) {
		t.Errorf("approved: %s at the last minute, %s the next day", a.State(lastMinute), a.State(nextDay))
	}
	if _, noted := a.NoteExpired(lastMinute); noted {
		t.Error("expiry noted before it happened")
	}
	n, noted := a.NoteExpired(nextDay)
	if !noted || n.ExpiryNotedAt.IsZero() {
		t.Error("expiry not noted")
	}
	if _, again := n.NoteExpired(nextDay.Add(time.Hour)); again {
		t.Error("expiry noted twice")
	}
	r, err := a.Revoke("carol", day)
	if err != nil || r.State(lastMinute) != WaiverRevoked || r.Applies(lastMinute) {
		t.Errorf("revoked: %v %s", err, r.State(lastMinute))
	}
}
