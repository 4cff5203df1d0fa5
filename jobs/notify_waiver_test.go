package jobs_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/waivers"
)

// TestNotifyWaiverRejudged approves a waiver for a scanned target's
// failing rule: the judgement again records a finding_waived event, and
// the subscription covering the target gets it in a digest a debounce
// later (by a real webhook receiver on loopback), not at the hourly
// sweep, which this test never runs.
func TestNotifyWaiverRejudged(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			p := newPKI(t)
			srv := tlstest.NewSwitchServer(t, p.legacy, nil) // TLS 1.0: tls.version.min fails
			tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)
			q := b.Queue(t, fast(jobs.Config{
				Scanner:        newScanner(t, p.ca.Cert.Cert),
				Notifier:       notify.NewSender(notify.SenderConfig{MinInterval: 10 * time.Millisecond, Timeout: 5 * time.Second}),
				NotifyDebounce: 200 * time.Millisecond,
			}))
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			scanNow(t, q, tg.ID)
			settle(t, q) // whatever the first scan queued is done before the subscription exists
			rcv := newHook(t)
			subscribe(t, b.Store.(store.SubscriptionStore), store.Subscription{Name: "fixes", Channel: store.ChannelWebhook,
				URL: rcv.srv.URL + "/hook", Secret: "0123456789abcdef0123", Fixes: true})

			svc, err := waivers.New(waivers.Config{Store: b.Store, Judged: q.NotifyJudged})
			if err != nil {
				t.Fatal(err)
			}
			w, err := svc.Request(ctx, store.Waiver{TargetID: tg.ID, Rule: "tls.version.min", Reason: "vendor appliance",
				Expires: time.Now().AddDate(0, 0, 10), RequestedBy: "alice", RequesterKey: "token:1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Approve(ctx, w.ID, "bob", "token:2"); err != nil {
				t.Fatal(err)
			}
			// A digest job was queued by the approval; wait for it to be sent.
			var got []delivery
			for deadline := time.Now().Add(30 * time.Second); len(got) == 0; time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no digest within 30s of the approval")
				}
				got = rcv.requests()
			}
			settle(t, q)
			if got = rcv.requests(); len(got) != 1 {
				t.Fatalf("receiver got %d digests, want 1", len(got))
			}
			var dg notify.Digest
			if err := json.Unmarshal(got[0].body, &dg); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, it := range dg.Items {
				found = found || it.EventKind == string(history.EventFindingWaived) && it.Rule == "tls.version.min"
			}
			if !found {
				t.Errorf("the digest has no finding_waived item for tls.version.min: %s", got[0].body)
			}
		})
	}
}
