package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/web"
)

func TestSubscriptionsPage(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := testdb.Open(t, name).Store
			s, err := web.New(web.Config{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			admin := &http.Cookie{Name: "tlswarden_session", Value: createNamedToken(t, st, store.RoleAdmin, "a")}
			reader := &http.Cookie{Name: "tlswarden_session", Value: createNamedToken(t, st, store.RoleRead, "c")}
			csrf := &http.Cookie{Name: "tlswarden_csrf", Value: strings.Repeat("Z", 26)}
			post := func(path string, form url.Values, cookies ...*http.Cookie) (int, string, string) {
				req := httptest.NewRequestWithContext(t.Context(), "POST", path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.RemoteAddr = "127.0.0.1:4000"
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				b, _ := io.ReadAll(rec.Result().Body)
				return rec.Code, text(string(b)), string(b)
			}
			const hookURL = "https://hooks.example.com/services/T0/B0/SECRETTOKEN"
			const secret = "signing-secret-0123456789"
			form := url.Values{"csrf": {csrf.Value}, "name": {"web team"}, "scope_kind": {"owner"}, "scope": {"web"},
				"channel": {"webhook"}, "url": {hookURL}, "secret": {secret}, "regressions": {"1"}, "min_severity": {"high"}, "expiry_days": {"21"}}

			if code, _, _ := post("/notifications", form, reader, csrf); code != http.StatusForbidden {
				t.Errorf("a read token adding a subscription: %d", code)
			}
			noCSRF := url.Values{}
			for k, v := range form {
				if k != "csrf" {
					noCSRF[k] = v
				}
			}
			if code, _, _ := post("/notifications", noCSRF, admin, csrf); code != http.StatusForbidden {
				t.Errorf("a form without its CSRF token: %d", code)
			}
			code, page, raw := post("/notifications", form, admin, csrf)
			if code != http.StatusCreated || !strings.Contains(page, "Subscription 1 added") ||
				!strings.Contains(page, "1 web team owner web webhook https://hooks.example.com/… regressions (high and above), certificates expiring within 21 days enabled") {
				t.Fatalf("add: %d\n%s", code, page)
			}
			for _, leak := range []string{"SECRETTOKEN", secret} {
				if strings.Contains(raw, leak) {
					t.Errorf("the page shows %q", leak)
				}
			}
			bad := url.Values{"csrf": {csrf.Value}, "name": {"x"}, "channel": {"webhook"}, "url": {hookURL}, "regressions": {"1"}}
			if code, page, _ := post("/notifications", bad, admin, csrf); code != http.StatusBadRequest || !strings.Contains(page, "secret") {
				t.Errorf("a webhook without a secret: %d\n%s", code, page)
			}

			// A delivery recorded by the jobs shows with its status and why.
			ss := st.(store.SubscriptionStore)
			digest, _ := json.Marshal(map[string]any{"summary": "2 regressions"})
			d, err := ss.CreateDelivery(t.Context(), store.Delivery{SubscriptionID: 1, Items: []string{"event:1", "event:2"}, Digest: digest}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ss.RecordAttempt(t.Context(), d.ID, store.DeliveryFailed, "notify: https://hooks.example.com/… answered 410 Gone", time.Now()); err != nil {
				t.Fatal(err)
			}
			_, got := get(t, s, "/notifications", reader, csrf)
			if page := text(got); !strings.Contains(page, "failed 2 regressions 1") || !strings.Contains(page, "answered 410 Gone") ||
				strings.Contains(page, "Remove 1") || !strings.Contains(page, "Sign in with an admin token") {
				t.Errorf("the page for a reader:\n%s", page)
			}

			if code, page, _ := post("/notifications/1/state", url.Values{"csrf": {csrf.Value}, "disabled": {"true"}}, admin, csrf); code != http.StatusOK || !strings.Contains(page, "Subscription 1 disabled") || !strings.Contains(page, "Enable 1") {
				t.Errorf("disable: %d\n%s", code, page)
			}
			if code, page, _ := post("/notifications/1/remove", url.Values{"csrf": {csrf.Value}}, admin, csrf); code != http.StatusOK || !strings.Contains(page, "Subscription 1 removed") || !strings.Contains(page, "No subscriptions") {
				t.Errorf("remove: %d\n%s", code, page)
			}
			if code, _, _ := post("/notifications/1/remove", url.Values{"csrf": {csrf.Value}}, admin, csrf); code != http.StatusBadRequest {
				t.Errorf("removing it again: %d", code)
			}
		})
	}
}
