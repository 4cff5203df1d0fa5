package jobs_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/store"
)

// hook is a webhook receiver on loopback that answers from a script and
// then with 200, keeping what it was sent.
type hook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	plan []func(http.ResponseWriter)
	got  []delivery
}

type delivery struct {
	body   []byte
	header http.Header
	at     time.Time
}

func newHook(t *testing.T, plan ...func(http.ResponseWriter)) *hook {
	h := &hook{plan: plan}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.mu.Lock()
		h.got = append(h.got, delivery{body: body, header: r.Header.Clone(), at: time.Now()})
		var answer func(http.ResponseWriter)
		if len(h.plan) > 0 {
			answer, h.plan = h.plan[0], h.plan[1:]
		}
		h.mu.Unlock()
		if answer != nil {
			answer(w)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) requests() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}

func answer(code int, header ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, "receiver says no")
	}
}

// lockedBuffer collects a logger's output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func subscribe(t *testing.T, ss store.SubscriptionStore, s store.Subscription) store.Subscription {
	t.Helper()
	s.CreatedBy = "test"
	s, err := ss.CreateSubscription(t.Context(), s)
	if err != nil {
		t.Fatalf("create subscription: %v", err)
	}
	return s
}

// settle waits until no notification job is left to run.
func settle(t *testing.T, q *jobs.Queue) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := q.NotifyJobsWaiting(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d notification jobs still waiting after 60s", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func deliveries(t *testing.T, ss store.SubscriptionStore, subID int64) []store.Delivery {
	t.Helper()
	ds, err := ss.ListDeliveries(t.Context(), store.DeliveryFilter{SubscriptionID: subID})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestNotifyDelivery runs a scan that regresses with subscriptions whose
// receivers are real HTTP servers on loopback: one fails (500, then 429
// with Retry-After) and recovers, one is gone for good, and Slack and
// Teams receivers take their own shapes. Each gets one digest, recorded;
// a scan that changes nothing sends nothing more; and no URL or secret
// reaches the log.
func TestNotifyDelivery(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			ss := b.Store.(store.SubscriptionStore)
			p := newPKI(t)
			srv := tlstest.NewSwitchServer(t, p.modern, nil)
			tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)
			var logs lockedBuffer
			cfg := fast(jobs.Config{
				Scanner:        newScanner(t, p.ca.Cert.Cert),
				Notifier:       notify.NewSender(notify.SenderConfig{MinInterval: 10 * time.Millisecond, Timeout: 5 * time.Second}),
				NotifyDebounce: 200 * time.Millisecond,
				PublicURL:      "https://tlswarden.test",
				Logger:         slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			q := b.Queue(t, cfg)
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			scanNow(t, q, tg.ID) // the first scan: nothing to compare, no events

			flaky := newHook(t, answer(http.StatusInternalServerError), answer(http.StatusTooManyRequests, "Retry-After", "1"))
			gone := newHook(t, answer(http.StatusGone))
			slack, teams := newHook(t), newHook(t)
			const secret = "s3cret-signing-key-0123456789"
			const token = "T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
			hookSub := subscribe(t, ss, store.Subscription{Name: "web hook", Owner: "web", Channel: store.ChannelWebhook,
				URL: flaky.srv.URL + "/hooks/" + token, Secret: secret, Regressions: true})
			goneSub := subscribe(t, ss, store.Subscription{Name: "gone", Channel: store.ChannelSlack,
				URL: gone.srv.URL + "/services/" + token, Regressions: true})
			slackSub := subscribe(t, ss, store.Subscription{Name: "slack", Tag: "nobody", Channel: store.ChannelSlack,
				URL: slack.srv.URL + "/services/" + token, Regressions: true})
			teamsSub := subscribe(t, ss, store.Subscription{Name: "teams", Channel: store.ChannelTeams,
				URL: teams.srv.URL + "/workflows/" + token + "?sig=" + secret, Regressions: true})
			slackAll := subscribe(t, ss, store.Subscription{Name: "slack all", Channel: store.ChannelSlack,
				URL: slack.srv.URL + "/services/" + token, Regressions: true})

			srv.SetConfig(p.legacy) // TLS 1.0 back on: regressions
			scanNow(t, q, tg.ID)
			settle(t, q)

			// The flaky receiver: three tries, the last one accepted and signed.
			got := flaky.requests()
			if len(got) != 3 {
				t.Fatalf("flaky receiver got %d requests, want 3 (500, 429, 200)", len(got))
			}
			if gap := got[2].at.Sub(got[1].at); gap < 900*time.Millisecond {
				t.Errorf("the retry after a 429 with Retry-After: 1 came %s later", gap)
			}
			last := got[2]
			if err := notify.Verify(secret, last.header.Get(notify.SignatureHeader), last.body, time.Now(), time.Minute); err != nil {
				t.Errorf("signature: %v", err)
			}
			var dg notify.Digest
			if err := json.Unmarshal(last.body, &dg); err != nil {
				t.Fatal(err)
			}
			if dg.Counts.Regressions == 0 || dg.Subscription.ID != hookSub.ID || dg.Link != "https://tlswarden.test/" {
				t.Errorf("digest: %+v", dg)
			}
			var sawTLS10 bool
			for _, it := range dg.Items {
				sawTLS10 = sawTLS10 || it.EventKind == string(store.EventVersionAdded) && strings.Contains(it.Summary, "TLSv1.0")
			}
			if !sawTLS10 {
				t.Errorf("digest does not report TLS 1.0 accepted: %+v", dg.Items)
			}
			ds := deliveries(t, ss, hookSub.ID)
			if len(ds) != 1 || ds[0].Status != store.DeliverySent || ds[0].Attempts != 3 || ds[0].SentAt.IsZero() {
				t.Fatalf("deliveries of the webhook subscription: %+v", ds)
			}
			if h := last.header.Get(notify.DeliveryHeader); h != "" && dg.DeliveryID != ds[0].ID {
				t.Errorf("delivery id %d in the digest, %d recorded", dg.DeliveryID, ds[0].ID)
			}

			// The receiver that is gone: one try, failed, and why.
			if n := len(gone.requests()); n != 1 {
				t.Errorf("gone receiver got %d requests, want 1", n)
			}
			ds = deliveries(t, ss, goneSub.ID)
			if len(ds) != 1 || ds[0].Status != store.DeliveryFailed || !strings.Contains(ds[0].LastError, "410") {
				t.Errorf("deliveries of the gone subscription: %+v", ds)
			}

			// Slack: one message from the subscription that covers the
			// target, none from the tag nobody carries.
			if n := len(deliveries(t, ss, slackSub.ID)); n != 0 {
				t.Errorf("the tag subscription has %d deliveries", n)
			}
			sl := slack.requests()
			if len(sl) != 1 {
				t.Fatalf("slack receiver got %d requests, want 1", len(sl))
			}
			var sm struct {
				Text   string `json:"text"`
				Blocks []struct {
					Type string `json:"type"`
				} `json:"blocks"`
			}
			if err := json.Unmarshal(sl[0].body, &sm); err != nil || !strings.Contains(sm.Text, "slack all") || len(sm.Blocks) < 2 || sm.Blocks[0].Type != "header" {
				t.Errorf("slack message (%v): %s", err, sl[0].body)
			}
			if sl[0].header.Get(notify.SignatureHeader) != "" {
				t.Error("a slack message carries a signature")
			}
			if ds := deliveries(t, ss, slackAll.ID); len(ds) != 1 || ds[0].Status != store.DeliverySent {
				t.Errorf("deliveries of the slack subscription: %+v", ds)
			}

			// Teams: an Adaptive Card.
			tm := teams.requests()
			if len(tm) != 1 {
				t.Fatalf("teams receiver got %d requests, want 1", len(tm))
			}
			var card struct {
				Type        string `json:"type"`
				Attachments []struct {
					ContentType string `json:"contentType"`
					Content     struct {
						Type string `json:"type"`
					} `json:"content"`
				} `json:"attachments"`
			}
			if err := json.Unmarshal(tm[0].body, &card); err != nil || card.Type != "message" || len(card.Attachments) != 1 ||
				card.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || card.Attachments[0].Content.Type != "AdaptiveCard" {
				t.Errorf("teams message (%v): %s", err, tm[0].body)
			}
			if ds := deliveries(t, ss, teamsSub.ID); len(ds) != 1 || ds[0].Status != store.DeliverySent {
				t.Errorf("deliveries of the teams subscription: %+v", ds)
			}

			// The same configuration scanned again: no new events, nothing
			// sent, even with every digest job run by the sweep.
			scanNow(t, q, tg.ID)
			if _, err := q.EnqueueDigests(ctx, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * cfg.NotifyDebounce)
			settle(t, q)
			if n := len(flaky.requests()); n != 3 {
				t.Errorf("after a scan without changes the webhook receiver has %d requests, want 3", n)
			}
			if n := len(slack.requests()) + len(teams.requests()); n != 2 {
				t.Errorf("after a scan without changes slack and teams have %d requests, want 2", n)
			}
			if n := len(deliveries(t, ss, hookSub.ID)); n != 1 {
				t.Errorf("webhook subscription has %d deliveries, want 1", n)
			}

			out := logs.String()
			for _, leak := range []string{token, secret, "/hooks/", "/services/", "/workflows/"} {
				if strings.Contains(out, leak) {
					t.Errorf("the log shows %q", leak)
				}
			}
			if !strings.Contains(out, "notification delivered") {
				t.Error("the log does not say a notification was delivered")
			}
		})
	}
}

// TestNotifyRunSummary scans four new, non-compliant targets whose
// certificates expire within the subscription's window, three requested
// at once and one scheduled seconds later (as the nightly run's jitter
// spreads them): the subscription gets one digest, after the run, naming
// the four new targets and their certificates, and the sweep that follows
// sends nothing more.
func TestNotifyRunSummary(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			ss := b.Store.(store.SubscriptionStore)
			ca := tlstest.NewCA(t, "notify test CA")
			notAfter := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Second)
			cert := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256, NotAfter: notAfter}).TLSCertificate()
			legacy := &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{cert}, CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
			rcv := newHook(t)
			sub := subscribe(t, ss, store.Subscription{Name: "web", Owner: "web", Channel: store.ChannelWebhook,
				URL: rcv.srv.URL + "/hook", Secret: "0123456789abcdef0123", Regressions: true, ExpiryDays: 30})
			q := b.Queue(t, fast(jobs.Config{
				Scanner:        newScanner(t, ca.Cert.Cert),
				Notifier:       notify.NewSender(notify.SenderConfig{MinInterval: 10 * time.Millisecond}),
				NotifyDebounce: 200 * time.Millisecond,
			}))
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			srv4 := tlstest.NewSwitchServer(t, legacy, nil)
			var reqs []int64
			for range 3 {
				srv := tlstest.NewSwitchServer(t, legacy, nil)
				tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)
				r, err := q.RequestScan(ctx, tg.ID, "test")
				if err != nil {
					t.Fatal(err)
				}
				reqs = append(reqs, r.ID)
			}
			// The fourth target's scan starts later, as the nightly run's
			// jitter spreads scans: the run ends with it, and so waits
			// the digest.
			late := addTarget(t, b.Store, srv4.Addr.Addr().String(), int(srv4.Addr.Port()), true)
			if err := q.InsertScanJobAt(ctx, late.ID, time.Now().Add(8*time.Second)); err != nil {
				t.Fatal(err)
			}
			for _, id := range reqs {
				if r := waitDone(t, q, id); r.State != "completed" {
					t.Fatalf("scan request %d ended %s: %v", id, r.State, r.Errors)
				}
			}
			for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				tg, err := b.Store.GetTarget(ctx, late.ID)
				if err != nil {
					t.Fatal(err)
				}
				if tg.LatestScanID != 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the late scan did not finish within 60s")
				}
			}
			settle(t, q)
			if _, err := q.EnqueueDigests(ctx, nil); err != nil { // the hourly sweep
				t.Fatal(err)
			}
			time.Sleep(600 * time.Millisecond)
			settle(t, q)

			got := rcv.requests()
			if len(got) != 1 {
				t.Fatalf("receiver got %d digests, want 1", len(got))
			}
			var dg notify.Digest
			if err := json.Unmarshal(got[0].body, &dg); err != nil {
				t.Fatal(err)
			}
			if dg.Counts.NewTargets != 4 || dg.Counts.ExpiringCertificates != 4 || len(dg.Items) != 8 {
				t.Fatalf("digest counts %+v, %d items: %s", dg.Counts, len(dg.Items), got[0].body)
			}
			for _, it := range dg.Items[4:] {
				if it.Kind != notify.ItemCertExpiry || !it.NotAfter.Equal(notAfter) || !strings.Contains(it.Summary, "expires in") {
					t.Errorf("certificate item: %+v", it)
				}
			}
			if ds := deliveries(t, ss, sub.ID); len(ds) != 1 || ds[0].Status != store.DeliverySent || len(ds[0].Items) != 8 {
				t.Errorf("deliveries: %+v", ds)
			}
		})
	}
}

// TestNotifyElsewhere: a process that sends no notifications itself still
// queues the digests of its scans for one that does.
func TestNotifyElsewhere(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			p := newPKI(t)
			srv := tlstest.NewSwitchServer(t, p.legacy, nil)
			tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)
			subscribe(t, b.Store.(store.SubscriptionStore), store.Subscription{Name: "all", Channel: store.ChannelSlack,
				URL: "https://hooks.example.com/services/x", Regressions: true})
			q := b.Queue(t, fast(jobs.Config{Scanner: newScanner(t, p.ca.Cert.Cert), NotifyElsewhere: true}))
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			scanNow(t, q, tg.ID) // non-compliant: TLS 1.0
			if n, err := q.NotifyJobsWaiting(ctx); err != nil || n != 1 {
				t.Errorf("%d notification jobs waiting (%v), want the digest's", n, err)
			}
		})
	}
}
