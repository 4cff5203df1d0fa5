package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/waivers"
	"github.com/tlswarden/tlswarden/web"
)

func TestWaiversPage(t *testing.T) {
	e := newEstate(t, "sqlite")
	svc, err := waivers.New(waivers.Config{Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Store: e.st, Waivers: svc})
	if err != nil {
		t.Fatal(err)
	}
	alice := &http.Cookie{Name: "tlswarden_session", Value: createNamedToken(t, e.st, store.RoleAdmin, "a")}
	bob := &http.Cookie{Name: "tlswarden_session", Value: createNamedToken(t, e.st, store.RoleAdmin, "b")}
	reader := &http.Cookie{Name: "tlswarden_session", Value: createNamedToken(t, e.st, store.RoleRead, "c")}
	csrf := &http.Cookie{Name: "tlswarden_csrf", Value: strings.Repeat("Z", 26)}
	post := func(path string, form url.Values, cookies ...*http.Cookie) (int, string) {
		req := httptest.NewRequestWithContext(t.Context(), "POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "127.0.0.1:4000"
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, text(string(b))
	}
	form := url.Values{"csrf": {csrf.Value}, "scope_kind": {"target"}, "target_id": {fmt.Sprint(e.legacy.ID)}, "rule": {"tls.version.min"},
		"reason": {"vendor appliance"}, "expires": {time.Now().AddDate(0, 0, 20).Format("2006-01-02")}}

	if code, _ := post("/waivers", form, reader, csrf); code != http.StatusForbidden {
		t.Errorf("a read token requesting a waiver: %d", code)
	}
	noCSRF := url.Values{"scope_kind": form["scope_kind"], "target_id": form["target_id"], "rule": form["rule"], "reason": form["reason"], "expires": form["expires"]}
	if code, _ := post("/waivers", noCSRF, alice, csrf); code != http.StatusForbidden {
		t.Errorf("a form without its CSRF token: %d", code)
	}
	code, page := post("/waivers", form, alice, csrf)
	if code != http.StatusCreated || !strings.Contains(page, "Waiver 1 requested") || !strings.Contains(page, "1 requested target") {
		t.Fatalf("request: %d\n%s", code, page)
	}
	if _, page := get(t, s, "/waivers", alice, csrf); strings.Contains(page, "Approve 1") || !strings.Contains(page, "waiting for another admin") {
		t.Error("the requester is offered to approve their own waiver")
	}
	if code, page := post("/waivers/1/approve", url.Values{"csrf": {csrf.Value}}, alice, csrf); code != http.StatusBadRequest || !strings.Contains(page, "cannot approve their own waiver") {
		t.Errorf("self-approval: %d", code)
	}
	if _, page := get(t, s, "/waivers", bob, csrf); !strings.Contains(page, `action="/waivers/1/approve"`) {
		t.Error("another admin is not offered to approve")
	}
	code, page = post("/waivers/1/approve", url.Values{"csrf": {csrf.Value}}, bob, csrf)
	if code != http.StatusOK || !strings.Contains(page, "Waiver 1 approved") || !strings.Contains(page, "1 active target") {
		t.Fatalf("approve: %d\n%s", code, page)
	}
	// The legacy target's report shows the waived finding at once.
	if _, report := get(t, s, fmt.Sprintf("/targets/%d", e.legacy.ID)); !strings.Contains(text(report), "critical waived tls.version.min") {
		t.Error("the report does not show the approved waiver")
	}
	code, page = post("/waivers/1/revoke", url.Values{"csrf": {csrf.Value}}, alice, csrf)
	if code != http.StatusOK || !strings.Contains(page, "1 revoked") || !strings.Contains(page, "revoked") {
		t.Errorf("revoke: %d", code)
	}
	for _, step := range []string{"requested", "approved", "revoked"} {
		if !strings.Contains(page, step+" pages") {
			t.Errorf("the audit log lacks %q", step)
		}
	}
	if _, page := get(t, s, "/waivers", reader); strings.Contains(page, "Request a waiver") || !strings.Contains(page, "Sign in with an admin token") {
		t.Error("a reader is shown the admin forms")
	}
}
