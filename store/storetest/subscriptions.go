package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// subscriptions returns s as a SubscriptionStore, failing when it is not
// one.
func subscriptions(tb testing.TB, s store.Store) store.SubscriptionStore {
	tb.Helper()
	ss, ok := s.(store.SubscriptionStore)
	if !ok {
		tb.Fatalf("%T does not implement store.SubscriptionStore", s)
	}
	return ss
}

func testSubscriptions(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ss := subscriptions(t, s)
	a := createTarget(t, s, "a.example.org", "web")
	r := result(day(0).Add(time.Hour), 1, 1)
	r.Events = []store.Event{{Kind: store.EventFindingOpened, Regression: true}}
	scanWith(t, s, a.ID, day(0), r)
	evs, err := s.ListEvents(ctx, store.EventFilter{})
	check(t, "list events", err)

	sub, err := ss.CreateSubscription(ctx, store.Subscription{Name: " web team ", Owner: "web", Channel: "Webhook",
		URL: "https://receiver.example/hook", Secret: "0123456789abcdef", Regressions: true, ExpiryDays: 14,
		MinSeverity: tlswarden.SeverityHigh, CreatedBy: "admin", EventCursor: 99, ID: 42})
	check(t, "create subscription", err)
	if sub.ID <= 0 || sub.Name != "web team" || sub.Channel != store.ChannelWebhook || sub.EventCursor != evs[len(evs)-1].ID || sub.CreatedAt.IsZero() {
		t.Errorf("created %#v, cursor %d", sub, sub.EventCursor)
	}
	got, err := ss.GetSubscription(ctx, sub.ID)
	check(t, "get subscription", err)
	diff(t, "get subscription", sub, got)
	if got.URL != "https://receiver.example/hook" || got.Secret != "0123456789abcdef" {
		t.Error("the store lost the credentials")
	}
	for _, shown := range []string{fmt.Sprint(got), fmt.Sprintf("%+v %#v", got, got)} {
		if strings.Contains(shown, "receiver.example") || strings.Contains(shown, "0123456789") {
			t.Errorf("printing a subscription shows its credentials: %s", shown)
		}
	}
	if b, _ := json.Marshal(got); strings.Contains(string(b), "receiver.example") || strings.Contains(string(b), "0123456789") {
		t.Errorf("marshalling a subscription shows its credentials: %s", b)
	}
	slack, err := ss.CreateSubscription(ctx, store.Subscription{Name: "all", Channel: "slack", URL: "https://hooks.slack.example/services/x",
		Secret: "ignored for slack", Fixes: true, CreatedBy: "admin"})
	check(t, "create slack subscription", err)
	if slack.Secret != "" || slack.Scope() != "all" {
		t.Errorf("slack subscription %#v kept a secret or has scope %q", slack, slack.Scope())
	}
	disabled, err := ss.SetSubscriptionDisabled(ctx, slack.ID, true)
	check(t, "disable", err)
	if !disabled.Disabled {
		t.Error("not disabled")
	}
	list, err := ss.ListSubscriptions(ctx)
	check(t, "list subscriptions", err)
	diff(t, "list subscriptions", []store.Subscription{sub, disabled}, list)

	check(t, "advance", ss.AdvanceEventCursor(ctx, sub.ID, sub.EventCursor+10))
	check(t, "advance backwards", ss.AdvanceEventCursor(ctx, sub.ID, 1))
	if got, _ := ss.GetSubscription(ctx, sub.ID); got.EventCursor != sub.EventCursor+10 {
		t.Errorf("cursor %d, want %d: a cursor never moves back", got.EventCursor, sub.EventCursor+10)
	}
	wantErr(t, "advance a missing subscription", ss.AdvanceEventCursor(ctx, 9999, 1), store.ErrNotFound)

	check(t, "delete", ss.DeleteSubscription(ctx, slack.ID))
	wantErr(t, "delete twice", ss.DeleteSubscription(ctx, slack.ID), store.ErrNotFound)
	_, err = ss.GetSubscription(ctx, slack.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	_, err = ss.SetSubscriptionDisabled(ctx, slack.ID, false)
	wantErr(t, "disable deleted", err, store.ErrNotFound)
}

func testSubscriptionValidation(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ss := subscriptions(t, s)
	ok := store.Subscription{Name: "n", Channel: "teams", URL: "https://x.example/w", Regressions: true, CreatedBy: "admin"}
	tests := []struct {
		field string
		edit  func(*store.Subscription)
	}{
		{"name", func(s *store.Subscription) { s.Name = " " }},
		{"name", func(s *store.Subscription) { s.Name = "a\nb" }},
		{"owner", func(s *store.Subscription) { s.Owner, s.Tag = "o", "t" }},
		{"channel", func(s *store.Subscription) { s.Channel = "email" }},
		{"url", func(s *store.Subscription) { s.URL = "" }},
		{"url", func(s *store.Subscription) { s.URL = "ftp://x.example/" }},
		{"url", func(s *store.Subscription) { s.URL = "https:///nohost" }},
		{"url", func(s *store.Subscription) { s.URL = "https://x.example/#f" }},
		{"secret", func(s *store.Subscription) { s.Channel, s.Secret = "webhook", "short" }},
		{"regressions", func(s *store.Subscription) { s.Regressions = false }},
		{"expiry_days", func(s *store.Subscription) { s.ExpiryDays = 400 }},
		{"min_severity", func(s *store.Subscription) { s.MinSeverity = 9 }},
		{"created_by", func(s *store.Subscription) { s.CreatedBy = "" }},
	}
	for _, tc := range tests {
		sub := ok
		tc.edit(&sub)
		_, err := ss.CreateSubscription(ctx, sub)
		var ve *store.ValidationError
		if !errors.As(err, &ve) || ve.Field != tc.field || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v", tc.field, err)
		} else if strings.Contains(err.Error(), sub.URL) && sub.URL != "" {
			t.Errorf("%s: the error quotes the URL: %v", tc.field, err)
		}
	}
	if _, err := ss.CreateSubscription(ctx, ok); err != nil {
		t.Errorf("valid subscription: %v", err)
	}
}

func testDeliveries(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ss := subscriptions(t, s)
	sub, err := ss.CreateSubscription(ctx, store.Subscription{Name: "n", Channel: "slack", URL: "https://x.example/w", Regressions: true, CreatedBy: "admin"})
	check(t, "create subscription", err)
	other, err := ss.CreateSubscription(ctx, store.Subscription{Name: "o", Channel: "slack", URL: "https://x.example/o", Regressions: true, CreatedBy: "admin"})
	check(t, "create subscription", err)

	keys := []string{"event:3", "cert:1:ab", "event:1", "new:7"}
	unsent, err := ss.UnsentItems(ctx, sub.ID, keys)
	check(t, "unsent items", err)
	diff(t, "unsent before any delivery", keys, unsent)

	digest := json.RawMessage(`{"summary":"2 regressions"}`)
	d, err := ss.CreateDelivery(ctx, store.Delivery{SubscriptionID: sub.ID, Items: []string{"event:3", "event:1"}, Digest: digest,
		Status: store.DeliverySent, Attempts: 9}, 3)
	check(t, "create delivery", err)
	if d.ID <= 0 || d.Status != store.DeliveryPending || d.Attempts != 0 || d.CreatedAt.IsZero() {
		t.Errorf("created %+v", d)
	}
	diff(t, "event IDs", []int64{3, 1}, d.EventIDs())
	got, err := ss.GetDelivery(ctx, d.ID)
	check(t, "get delivery", err)
	diff(t, "get delivery", d, got)
	if cur, _ := ss.GetSubscription(ctx, sub.ID); cur.EventCursor != 3 {
		t.Errorf("cursor %d after the delivery, want 3", cur.EventCursor)
	}

	unsent, err = ss.UnsentItems(ctx, sub.ID, keys)
	check(t, "unsent items", err)
	diff(t, "unsent after a delivery", []string{"cert:1:ab", "new:7"}, unsent)
	unsent, err = ss.UnsentItems(ctx, other.ID, keys)
	check(t, "unsent items of another subscription", err)
	diff(t, "another subscription's unsent", keys, unsent)

	// Deduplication: an item sent once is never claimed again, and the
	// delivery that tried to is not written at all.
	_, err = ss.CreateDelivery(ctx, store.Delivery{SubscriptionID: sub.ID, Items: []string{"new:7", "event:1"}, Digest: digest}, 10)
	wantErr(t, "a delivery repeating an item", err, store.ErrConflict)
	if unsent, _ := ss.UnsentItems(ctx, sub.ID, []string{"new:7"}); len(unsent) != 1 {
		t.Error("a refused delivery claimed its items")
	}
	if cur, _ := ss.GetSubscription(ctx, sub.ID); cur.EventCursor != 3 {
		t.Errorf("a refused delivery moved the cursor to %d", cur.EventCursor)
	}
	_, err = ss.CreateDelivery(ctx, store.Delivery{SubscriptionID: 9999, Items: []string{"x"}, Digest: digest}, 0)
	wantErr(t, "a delivery for a missing subscription", err, store.ErrNotFound)
	_, err = ss.CreateDelivery(ctx, store.Delivery{SubscriptionID: sub.ID, Digest: digest}, 0)
	wantErr(t, "a delivery of nothing", err, store.ErrInvalid)

	d2, err := ss.CreateDelivery(ctx, store.Delivery{SubscriptionID: other.ID, Items: []string{"event:1"}, Digest: digest}, 1)
	check(t, "the same item to another subscription", err)

	failed, err := ss.RecordAttempt(ctx, d.ID, store.DeliveryPending, "receiver answered 500"+strings.Repeat("x", 2000), time.Now())
	check(t, "record failed attempt", err)
	if failed.Attempts != 1 || failed.Status != store.DeliveryPending || len(failed.LastError) != store.MaxDeliveryErrorLen || !failed.SentAt.IsZero() {
		t.Errorf("after a failed attempt: %+v", failed)
	}
	at := day(3)
	sent, err := ss.RecordAttempt(ctx, d.ID, store.DeliverySent, "", at)
	check(t, "record sent", err)
	if sent.Attempts != 2 || sent.Status != store.DeliverySent || sent.LastError != "" || !sent.SentAt.Equal(at) {
		t.Errorf("after sending: %+v", sent)
	}
	_, err = ss.RecordAttempt(ctx, d.ID, store.DeliveryFailed, "late", at)
	wantErr(t, "an attempt after sending", err, store.ErrConflict)
	_, err = ss.RecordAttempt(ctx, 9999, store.DeliverySent, "", at)
	wantErr(t, "an attempt of a missing delivery", err, store.ErrNotFound)
	_, err = ss.RecordAttempt(ctx, d2.ID, "lost", "", at)
	wantErr(t, "an unknown status", err, store.ErrInvalid)
	_, err = ss.RecordAttempt(ctx, d2.ID, store.DeliveryFailed, "404", at)
	check(t, "record failure", err)

	all, err := ss.ListDeliveries(ctx, store.DeliveryFilter{})
	check(t, "list deliveries", err)
	if len(all) != 2 || all[0].ID != d2.ID || all[1].ID != d.ID {
		t.Errorf("all deliveries, newest first: %+v", all)
	}
	for _, tc := range []struct {
		f    store.DeliveryFilter
		want int
	}{
		{store.DeliveryFilter{SubscriptionID: sub.ID}, 1},
		{store.DeliveryFilter{Status: store.DeliveryFailed}, 1},
		{store.DeliveryFilter{Status: store.DeliveryPending}, 0},
		{store.DeliveryFilter{Limit: 1}, 1},
	} {
		got, err := ss.ListDeliveries(ctx, tc.f)
		check(t, "list deliveries", err)
		if len(got) != tc.want {
			t.Errorf("%+v: %d deliveries, want %d", tc.f, len(got), tc.want)
		}
	}

	check(t, "delete subscription", ss.DeleteSubscription(ctx, sub.ID))
	_, err = ss.GetDelivery(ctx, d.ID)
	wantErr(t, "a deleted subscription's delivery", err, store.ErrNotFound)
}

// testDeliveriesConcurrently: two dispatchers claiming one item for one
// subscription at once; exactly one delivery holds it.
func testDeliveriesConcurrently(t *testing.T, newDB NewDB) {
	s, ctx := migrated(t, newDB), t.Context()
	ss := subscriptions(t, s)
	sub, err := ss.CreateSubscription(ctx, store.Subscription{Name: "n", Channel: "slack", URL: "https://x.example/w", Regressions: true, CreatedBy: "admin"})
	check(t, "create subscription", err)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = ss.CreateDelivery(ctx, store.Delivery{SubscriptionID: sub.ID, Items: []string{"event:1", fmt.Sprintf("x:%d", i)},
				Digest: json.RawMessage(`{}`)}, 1)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("a losing claim: %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Errorf("%d deliveries claimed one item", won)
	}
}
