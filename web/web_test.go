package web_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/web"
)

// readLab reads one of the lab's saved reports.
func readLab(t *testing.T, name string) tlswarden.Report {
	t.Helper()
	raw, err := os.ReadFile("../policy/testdata/lab/" + name + ".report.json")
	if err != nil {
		t.Fatal(err)
	}
	var rep tlswarden.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// estate is a store holding two targets: the lab's legacy server (owner
// legacy-team, with a waiver and a lapsed one, scanned twice: first as
// the modern server, then as the legacy one, a regression) and the modern
// server (owner web-team, tag prod).
type estate struct {
	st             store.Store
	legacy, modern store.Target
	legacyScan     int64
	legacyRep      tlswarden.Report
}

func newEstate(t *testing.T, backend string) *estate {
	t.Helper()
	st := testdb.Open(t, backend).Store
	e := &estate{st: st}
	legacy, modern := readLab(t, "legacy"), readLab(t, "modern")
	e.legacyRep = legacy
	p, _ := policy.Builtin(policy.DefaultProfile)
	p.Waivers = []tlswarden.Waiver{
		{Target: legacy.Target.Host, Rule: "tls.version.tls13", Reason: "vendor appliance until its replacement", Expires: legacy.Finished.AddDate(0, 1, 0)},
		{Target: legacy.Target.Host, Rule: "cipher.fs_only", Reason: "old clients", Expires: legacy.Finished.AddDate(0, 0, -3)},
	}
	e.legacy = e.target(t, legacy.Target, "legacy-team", "dc1")
	// The modern report moved onto the legacy target's address, a month
	// earlier: the legacy report is then a regression.
	before := modern
	before.Target, before.Started, before.Finished = legacy.Target, legacy.Started.AddDate(0, -1, 0), legacy.Finished.AddDate(0, -1, 0)
	for i := range before.Endpoints {
		before.Endpoints[i].Endpoint = legacy.Endpoints[0].Endpoint
	}
	first, _ := e.finish(t, e.legacy.ID, &before, p, nil)
	_, e.legacyScan = e.finish(t, e.legacy.ID, &legacy, p, &first)
	e.modern = e.target(t, modern.Target, "web-team", "prod")
	e.finish(t, e.modern.ID, &modern, p, nil)
	return e
}

func (e *estate) target(t *testing.T, tt tlswarden.Target, owner, tag string) store.Target {
	t.Helper()
	tt.Owner, tt.Tags = owner, []string{tag}
	tg, err := e.st.CreateTarget(t.Context(), store.Target{Target: tt, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// finish stores a scan of rep judged by p, with the events since prev.
func (e *estate) finish(t *testing.T, targetID int64, rep *tlswarden.Report, p *policy.Profile, prev *store.ScanResult) (store.ScanResult, int64) {
	t.Helper()
	sc, err := e.st.CreateScan(t.Context(), store.Scan{TargetID: targetID, Started: rep.Started})
	if err != nil {
		t.Fatal(err)
	}
	ev := policy.Evaluate(rep, p, policy.Options{})
	res := store.ScanResult{Report: *rep, Evaluation: &ev}
	if prev != nil {
		res.Events = history.Compare(prev, &res)
	}
	if err := e.st.FinishScan(t.Context(), sc.ID, res); err != nil {
		t.Fatal(err)
	}
	return res, sc.ID
}

func newServer(t *testing.T, st store.Store, authReads bool) *web.Server {
	t.Helper()
	s, err := web.New(web.Config{Store: st, AuthReads: authReads, OpenAPI: []byte("openapi: 3.1.0\n")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get serves one GET from loopback and returns the response and body.
func get(t *testing.T, h http.Handler, path string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), "GET", path, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func wantAll(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// text is the page's text without tags and with spaces collapsed, as a
// person reads it.
func text(body string) string {
	body = regexp.MustCompile(`(?s)<[^>]*>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(body), " ")
}

func TestPages(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEstate(t, name)
			s := newServer(t, e.st, false)
			t.Run("estate", func(t *testing.T) { testEstate(t, e, s) })
			t.Run("report", func(t *testing.T) { testReport(t, e, s) })
			t.Run("history", func(t *testing.T) { testHistory(t, e, s) })
		})
	}
}

func testEstate(t *testing.T, e *estate, s *web.Server) {
	resp, body := get(t, s, "/")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for k, want := range map[string]string{"Content-Security-Policy": web.ContentSecurityPolicy, "X-Content-Type-Options": "nosniff",
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	txt := text(body)
	// Two endpoints, the legacy one non-compliant; the modern one is
	// compliant only if its lab certificate counted as trusted.
	wantAll(t, "estate", txt, "of 2 endpoints", "Below TLS 1.2 1 accept TLS 1.1 or older", "legacy-team", "web-team", "TLSv1.0")
	wantAll(t, "estate", body, `href="/?below=1"`, `href="/?compliance=non_compliant"`, `href="/api/v1/endpoints?"`,
		`<label for="q">`, `<label for="owner">`, `<label for="severity">`, `<label for="rule">`, `<label for="kind">`, `<label for="tag">`)
	legacyRow, modernRow := strings.Index(body, fmt.Sprintf(`href="/targets/%d"`, e.legacy.ID)), strings.Index(body, fmt.Sprintf(`href="/targets/%d"`, e.modern.ID))
	if legacyRow < 0 || modernRow < 0 || legacyRow > modernRow {
		t.Errorf("the endpoint below TLS 1.2 is not listed first (legacy at %d, modern at %d)", legacyRow, modernRow)
	}
	if !regexp.MustCompile(`href="/\?grade=C"[^>]*>\s*<span[^>]*>C</span> 1`).MatchString(body) {
		t.Error("the grade distribution lacks C: 1 linked to its list")
	}
	if !strings.Contains(body, `href="/?severity=critical"`) || !strings.Contains(body, `href="/?rule=tls.version.min"`) {
		t.Error("failure counts by severity and rule do not link to their lists")
	}
	filters := []struct {
		query       string
		legacy, mod bool
	}{
		{"owner=web-team", false, true},
		{"tag=dc1", true, false},
		{"q=127.0", true, true},
		{"q=nomatch", false, false},
		{"severity=critical", true, false},
		{"rule=tls.version.min", true, false},
		{"below=1", true, false},
		{"kind=smtp", false, false},
		{"grade=C", true, false},
	}
	for _, f := range filters {
		_, b := get(t, s, "/?"+f.query)
		hasL, hasM := strings.Contains(b, fmt.Sprintf(`href="/targets/%d"`, e.legacy.ID)), strings.Contains(b, fmt.Sprintf(`href="/targets/%d"`, e.modern.ID))
		if hasL != f.legacy || hasM != f.mod {
			t.Errorf("?%s lists legacy %v, modern %v; want %v, %v", f.query, hasL, hasM, f.legacy, f.mod)
		}
	}
	if resp, _ := get(t, s, "/?severity=dire"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an unknown severity: %s", resp.Status)
	}
}

func testReport(t *testing.T, e *estate, s *web.Server) {
	resp, body := get(t, s, fmt.Sprintf("/targets/%d", e.legacy.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %s\n%s", resp.Status, body)
	}
	txt := text(body)
	rep := e.legacyRep
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	wantAll(t, "report", txt,
		"Endpoint "+rep.Endpoints[0].Endpoint.Addr.String(), "Grade C", "capped at B : TLS 1.0 or 1.1 accepted", // the grade and the caps
		"TLSv1.0 yes 6 server's preference", "TLSv1.3 no", // versions
		"TLS_ECDHE_RSA_WITH_RC4_128_SHA x25519 insecure", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 x25519 strong", "(no forward secrecy)",
		"x25519, secp256r1", "Trusted", "CN=localhost", "Expires "+day(rep.Endpoints[0].Cert.Chain[0].NotAfter), // groups, chain
		"strict-transport-security missing Use only HTTPS",                           // headers and their meaning
		"critical fail tls.version.min", "accepts TLSv1.0, TLSv1.1", "Why this rule", // a finding with its rationale
		"nhs-internet-first 2.01", "NHS Digital Internet First policy", // the policy source
		"medium waived tls.version.tls13", "Waived until "+day(rep.Finished.AddDate(0, 1, 0))+". Reason: vendor appliance until its replacement",
		"Waiver expired "+day(rep.Finished.AddDate(0, 0, -3))+": it no longer applies. Reason: old clients",
	)
	wantAll(t, "report", body, fmt.Sprintf(`href="/api/v1/scans/%d/result"`, e.legacyScan), fmt.Sprintf(`href="/targets/%d/history"`, e.legacy.ID))
	if resp, b := get(t, s, fmt.Sprintf("/scans/%d", e.legacyScan)); resp.StatusCode != http.StatusOK || !strings.Contains(text(b), "Grade C") {
		t.Errorf("the scan's own page: %s", resp.Status)
	}
	for _, p := range []string{"/targets/99999", "/targets/x", "/nowhere"} {
		if resp, b := get(t, s, p); resp.StatusCode != http.StatusNotFound || !strings.Contains(b, "<h1>404 Not Found</h1>") {
			t.Errorf("%s: %s", p, resp.Status)
		}
	}
}

func testHistory(t *testing.T, e *estate, s *web.Server) {
	resp, body := get(t, s, fmt.Sprintf("/targets/%d/history", e.legacy.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history: %s", resp.Status)
	}
	wantAll(t, "history", body, `<svg class="chart" role="img"`, "<polyline points=", fmt.Sprintf(`href="/api/v1/events?target_id=%d"`, e.legacy.ID))
	txt := text(body)
	fin := e.legacyRep.Finished.UTC()
	wantAll(t, "history", txt, "2 scans from "+fin.AddDate(0, -1, 0).Format("2006-01-02")+" to "+fin.Format("2006-01-02")+"; latest grade C, oldest version accepted TLSv1.0",
		"regression : version added TLSv1.0 is now accepted", "grade C")
	// The grade fell from the top band to C: the second dot is lower (a
	// larger y) than the first.
	dots := regexp.MustCompile(`<circle cx="(\d+)" cy="(\d+)" r="4" class="dot grade-dot"><title>[^<]*grade ([A-Z+-]+)</title>`).FindAllStringSubmatch(body, -1)
	if len(dots) != 2 || dots[0][3] == "C" || dots[1][3] != "C" || dots[0][2] >= dots[1][2] {
		t.Errorf("grade dots %v: want a fall to C", dots)
	}
}

func TestSignIn(t *testing.T) {
	st := testdb.Open(t, "sqlite").Store
	s := newServer(t, st, true)
	secret := createToken(t, st, store.RoleRead)

	resp, _ := get(t, s, "/targets/1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=%2Ftargets%2F1" {
		t.Fatalf("a page without sign-in: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	resp, body := get(t, s, "/signin?next=/targets/1")
	csrf := cookieNamed(resp, "tlswarden_csrf")
	if n := strings.Count(strings.Join(resp.Header.Values("Set-Cookie"), "\n"), "tlswarden_csrf="); n != 1 {
		t.Errorf("the sign-in page sets %d CSRF cookies, want 1", n)
	}
	if resp.StatusCode != http.StatusOK || csrf == nil || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in page: %s, CSRF cookie %+v", resp.Status, csrf)
	}
	wantAll(t, "sign-in page", body, `<label for="token">Token</label>`, `name="csrf" value="`+csrf.Value+`"`, `name="next" value="/targets/1"`)

	post := func(remote string, form url.Values, cookies ...*http.Cookie) *http.Response {
		req := httptest.NewRequestWithContext(t.Context(), "POST", "/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = remote
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Result()
	}
	good := url.Values{"token": {secret}, "csrf": {csrf.Value}, "next": {"/targets/1"}}
	if r := post("127.0.0.1:4000", good); r.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without the CSRF cookie: %s", r.Status)
	}
	if r := post("192.0.2.7:4000", good, csrf); r.StatusCode != http.StatusForbidden || cookieNamed(r, "tlswarden_session") != nil {
		t.Errorf("sign-in over plain HTTP from another machine: %s", r.Status)
	}
	if _, b := get(t, s, "/signin"); !strings.Contains(b, "Sign in") {
		t.Error("no sign-in page")
	}
	bad := url.Values{"token": {"tlsw_wrong"}, "csrf": {csrf.Value}}
	if r := post("127.0.0.1:4000", bad, csrf); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %s", r.Status)
	}
	r := post("127.0.0.1:4000", good, csrf)
	sess := cookieNamed(r, "tlswarden_session")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/targets/1" || sess == nil {
		t.Fatalf("sign-in: %s to %q", r.Status, r.Header.Get("Location"))
	}
	if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure || sess.Path != "/" {
		t.Errorf("session cookie over plain HTTP: %+v", sess)
	}
	if resp, body := get(t, s, "/", sess); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign out") {
		t.Errorf("signed in: %s", resp.Status)
	}
	// An open redirect is not a place to go after signing in.
	evil := url.Values{"token": {secret}, "csrf": {csrf.Value}, "next": {"//evil.example/"}}
	if r := post("127.0.0.1:4000", evil, csrf); r.Header.Get("Location") != "/" {
		t.Errorf("next //evil.example/ went to %q", r.Header.Get("Location"))
	}
}

func TestSignInOverHTTPS(t *testing.T) {
	st := testdb.Open(t, "sqlite").Store
	srv := httptest.NewUnstartedServer(newServer(t, st, true))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	secret := createToken(t, st, store.RoleRead)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(srv.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csrf := cookieNamed(resp, "tlswarden_csrf")
	if csrf == nil || !csrf.Secure || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("over HTTPS: CSRF cookie %+v, HSTS %q", csrf, resp.Header.Get("Strict-Transport-Security"))
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/signin", strings.NewReader(url.Values{"token": {secret}, "csrf": {csrf.Value}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sess := cookieNamed(resp, "tlswarden_session"); resp.StatusCode != http.StatusSeeOther || sess == nil || !sess.Secure || !sess.HttpOnly {
		t.Errorf("sign-in over HTTPS: %s, cookie %+v", resp.Status, sess)
	}
}

func TestStaticAndOpenAPI(t *testing.T) {
	s := newServer(t, testdb.Open(t, "sqlite").Store, true)
	resp, body := get(t, s, "/static/style.css")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(body, ":focus") {
		t.Errorf("stylesheet: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, s, "/openapi.yaml"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the API description needs a sign-in when reads do: %s", resp.Status)
	}
	s = newServer(t, testdb.Open(t, "sqlite").Store, false)
	if resp, body := get(t, s, "/openapi.yaml"); resp.StatusCode != http.StatusOK || body != "openapi: 3.1.0\n" {
		t.Errorf("openapi: %s %q", resp.Status, body)
	}
}

func createToken(t *testing.T, st store.Store, role store.Role) string {
	t.Helper()
	return createNamedToken(t, st, role, "a")
}

func createNamedToken(t *testing.T, st store.Store, role store.Role, fill string) string {
	t.Helper()
	secret := "tlsw_" + strings.Repeat(fill, 43)
	sum := sha256Sum(secret)
	if _, err := st.(store.TokenStore).CreateToken(t.Context(), store.Token{Name: "pages", Role: role, Prefix: secret[:12], Hash: sum}); err != nil {
		t.Fatal(err)
	}
	return secret
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}
