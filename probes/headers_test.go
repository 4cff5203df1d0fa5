package probes

import (
	"math"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

func strp(s string) *string { return &s }

func TestParseHSTS(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   *tlswarden.HSTS
	}{
		{"absent", nil, nil},
		{"full", []string{"max-age=31536000; includeSubDomains; preload"},
			&tlswarden.HSTS{Valid: true, MaxAge: 31536000, IncludeSubDomains: true, Preload: true, Headers: 1}},
		{"quoted max-age, spaces", []string{`max-age = "300" ;`},
			&tlswarden.HSTS{Valid: true, MaxAge: 300, Headers: 1}},
		{"case-insensitive names", []string{"MAX-AGE=5; INCLUDESUBDOMAINS"},
			&tlswarden.HSTS{Valid: true, MaxAge: 5, IncludeSubDomains: true, Headers: 1}},
		{"unknown directives and empty ones ignored", []string{"max-age=10; foo=bar; ;"},
			&tlswarden.HSTS{Valid: true, MaxAge: 10, Headers: 1}},
		{"zero max-age", []string{"max-age=0"},
			&tlswarden.HSTS{Valid: true, MaxAge: 0, Headers: 1}},
		{"missing max-age", []string{"includeSubDomains"},
			&tlswarden.HSTS{IncludeSubDomains: true, Headers: 1, Problems: []string{"max-age directive missing"}}},
		{"max-age not a number", []string{"max-age=abc"},
			&tlswarden.HSTS{Headers: 1, Problems: []string{`max-age is not a number of seconds: "abc"`}}},
		{"negative max-age", []string{"max-age=-1"},
			&tlswarden.HSTS{Headers: 1, Problems: []string{`max-age is not a number of seconds: "-1"`}}},
		{"max-age without value", []string{"max-age="},
			&tlswarden.HSTS{Headers: 1, Problems: []string{"max-age has no value"}}},
		{"repeated directive", []string{"max-age=1; max-age=2"},
			&tlswarden.HSTS{MaxAge: 1, Headers: 1, Problems: []string{`directive "max-age" repeated`}}},
		{"repeated includeSubDomains", []string{"max-age=1; includesubdomains; includeSubDomains"},
			&tlswarden.HSTS{MaxAge: 1, IncludeSubDomains: true, Headers: 1, Problems: []string{`directive "includesubdomains" repeated`}}},
		{"two headers, first wins", []string{"max-age=10", "max-age=20; preload"},
			&tlswarden.HSTS{Valid: true, MaxAge: 10, Headers: 2, Problems: []string{"2 Strict-Transport-Security headers: browsers use only the first"}}},
		{"merged by a proxy", []string{"max-age=10, max-age=20"},
			&tlswarden.HSTS{Headers: 1, Problems: []string{"malformed header: unexpected ',' at byte 10"}}},
		{"huge max-age clamped", []string{"max-age=99999999999999999999999"},
			&tlswarden.HSTS{Valid: true, MaxAge: math.MaxInt64, Headers: 1, Problems: []string{"max-age too large; clamped"}}},
		{"unterminated quote", []string{`max-age="10`},
			&tlswarden.HSTS{Headers: 1, Problems: []string{"malformed header: unterminated quoted string at byte 8"}}},
		{"valued includeSubDomains", []string{"includeSubDomains=yes; max-age=1"},
			&tlswarden.HSTS{Valid: true, MaxAge: 1, IncludeSubDomains: true, Headers: 1, Problems: []string{"includeSubDomains takes no value"}}},
		{"empty header", []string{""},
			&tlswarden.HSTS{Headers: 1, Problems: []string{"max-age directive missing"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseHSTS(tt.values)); diff != "" {
				t.Errorf("parseHSTS(%q) (-want +got):\n%s", tt.values, diff)
			}
		})
	}
}

func TestParseCSP(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want tlswarden.CSPPolicy
	}{
		{"strict with unsafe-inline", "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.example; object-src 'none'; frame-ancestors 'none'",
			tlswarden.CSPPolicy{
				Directives: map[string][]string{
					"default-src": {"'self'"}, "script-src": {"'self'", "'unsafe-inline'", "https://cdn.example"},
					"object-src": {"'none'"}, "frame-ancestors": {"'none'"},
				},
				ScriptDirective: "script-src", ObjectDirective: "object-src", UnsafeInline: true,
				FrameAncestors: strp("'none'"),
			}},
		{"broad sources, nonce and strict-dynamic", "default-src *; script-src 'nonce-abc' 'strict-dynamic' 'unsafe-inline' https:",
			tlswarden.CSPPolicy{
				Directives:      map[string][]string{"default-src": {"*"}, "script-src": {"'nonce-abc'", "'strict-dynamic'", "'unsafe-inline'", "https:"}},
				ScriptDirective: "script-src", ObjectDirective: "default-src",
				UnsafeInline: true, StrictDynamic: true, Nonce: true,
				BroadSources: map[string][]string{"default-src": {"*"}, "script-src": {"https:"}},
			}},
		{"wildcard hosts", "script-src https://*:443 *.* http://*.example.com 'self'",
			tlswarden.CSPPolicy{
				Directives:      map[string][]string{"script-src": {"https://*:443", "*.*", "http://*.example.com", "'self'"}},
				ScriptDirective: "script-src",
				BroadSources:    map[string][]string{"script-src": {"https://*:443", "*.*"}},
			}},
		{"default-src governs, eval and data:", "default-src 'self' 'unsafe-eval' data:; style-src 'unsafe-inline'",
			tlswarden.CSPPolicy{
				Directives:      map[string][]string{"default-src": {"'self'", "'unsafe-eval'", "data:"}, "style-src": {"'unsafe-inline'"}},
				ScriptDirective: "default-src", ObjectDirective: "default-src",
				UnsafeEval: true, StyleUnsafeInline: true,
				BroadSources: map[string][]string{"default-src": {"data:"}},
			}},
		{"names lower-cased, keywords case-insensitive", "Default-Src 'SELF';\tsCRIPT-src 'UNSAFE-INLINE' 'sha256-abc=' 'Unsafe-Hashes'",
			tlswarden.CSPPolicy{
				Directives:      map[string][]string{"default-src": {"'SELF'"}, "script-src": {"'UNSAFE-INLINE'", "'sha256-abc='", "'Unsafe-Hashes'"}},
				ScriptDirective: "script-src", ObjectDirective: "default-src",
				UnsafeInline: true, Hash: true, UnsafeHashes: true,
			}},
		{"duplicate directive: first wins", "script-src 'self'; script-src *; SCRIPT-SRC 'none'",
			tlswarden.CSPPolicy{
				Directives:          map[string][]string{"script-src": {"'self'"}},
				DuplicateDirectives: []string{"script-src"},
				ScriptDirective:     "script-src",
				Problems:            []string{`directive "script-src" repeated: browsers use the first`, `directive "script-src" repeated: browsers use the first`},
			}},
		{"malformed name", "img-src *; bad_name x",
			tlswarden.CSPPolicy{
				Directives: map[string][]string{"img-src": {"*"}},
				Problems:   []string{`malformed directive name "bad_name" ignored`},
			}},
		{"frame-ancestors without sources", "frame-ancestors",
			tlswarden.CSPPolicy{Directives: map[string][]string{"frame-ancestors": {}}, FrameAncestors: strp("")}},
		{"empty", " ; ",
			tlswarden.CSPPolicy{Directives: map[string][]string{}, Problems: []string{"policy has no directives: browsers ignore it"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseCSP(tt.in)); diff != "" {
				t.Errorf("parseCSP(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseCSPHeaderSplitsPolicies(t *testing.T) {
	got := parseCSPHeader([]string{"default-src 'self', script-src 'none'", "object-src 'none'"})
	want := []tlswarden.CSPPolicy{
		{Directives: map[string][]string{"default-src": {"'self'"}}, ScriptDirective: "default-src", ObjectDirective: "default-src"},
		{Directives: map[string][]string{"script-src": {"'none'"}}, ScriptDirective: "script-src"},
		{Directives: map[string][]string{"object-src": {"'none'"}}, ObjectDirective: "object-src"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := parseCSPHeader(nil); got != nil {
		t.Errorf("no header: got %v, want nil", got)
	}
}

func TestParseSetCookie(t *testing.T) {
	tests := []struct {
		in   string
		want tlswarden.HTTPCookie
	}{
		{"SID=abc; Path=/; Secure; HttpOnly; SameSite=Lax",
			tlswarden.HTTPCookie{Name: "SID", Secure: true, HTTPOnly: true, SameSite: strp("Lax"), SameSiteValid: true, Path: "/"}},
		{"id=1", tlswarden.HTTPCookie{Name: "id"}},
		{" spaced = v ;secure;httponly", tlswarden.HTTPCookie{Name: "spaced", Secure: true, HTTPOnly: true}},
		{"a=b; Expires=Wed, 21 Oct 2025 07:28:00 GMT; Max-Age=3600; Domain=.example.com; Path=/app; Partitioned; Secure",
			tlswarden.HTTPCookie{Name: "a", Secure: true, Expires: "Wed, 21 Oct 2025 07:28:00 GMT", MaxAge: "3600", Domain: ".example.com", Path: "/app", Partitioned: true}},
		{"a=b; Path=/one; path=/two", tlswarden.HTTPCookie{Name: "a", Path: "/two"}},
		{"a=b; samesite=bogus", tlswarden.HTTPCookie{Name: "a", SameSite: strp("bogus"),
			Problems: []string{"unknown SameSite value: browsers use their default"}}},
		{"a=b; SameSite", tlswarden.HTTPCookie{Name: "a", SameSite: strp(""),
			Problems: []string{"unknown SameSite value: browsers use their default"}}},
		{"a=b; SameSite=none", tlswarden.HTTPCookie{Name: "a", SameSite: strp("none"), SameSiteValid: true,
			Problems: []string{"SameSite=None without Secure: browsers reject the cookie"}}},
		{"a=b; SameSite=None; Secure", tlswarden.HTTPCookie{Name: "a", Secure: true, SameSite: strp("None"), SameSiteValid: true}},
		{"noequals", tlswarden.HTTPCookie{Problems: []string{"no '=' in the name-value pair: browsers take it as a value with an empty name"}}},
		{"=; Secure", tlswarden.HTTPCookie{Secure: true, Problems: []string{"empty name and value: browsers ignore the cookie"}}},
		{"__Host-x=1; Secure; Path=/; Domain=example.com", tlswarden.HTTPCookie{Name: "__Host-x", Secure: true, Path: "/", Domain: "example.com",
			Problems: []string{"__Host- prefix needs Secure, Path=/ and no Domain: browsers reject the cookie"}}},
		{"__Host-x=1; Secure; Path=/", tlswarden.HTTPCookie{Name: "__Host-x", Secure: true, Path: "/"}},
		{"__secure-x=1", tlswarden.HTTPCookie{Name: "__secure-x", Problems: []string{"__Secure- prefix without Secure: browsers reject the cookie"}}},
		{"a=b; Path=x", tlswarden.HTTPCookie{Name: "a", Path: "x", Problems: []string{"Path does not start with '/': browsers use the default path"}}},
		{"a=b\x01", tlswarden.HTTPCookie{Name: "a", Problems: []string{"control character: browsers ignore the cookie"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseSetCookie(tt.in)); diff != "" {
				t.Errorf("parseSetCookie(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseXContentTypeOptions(t *testing.T) {
	tests := []struct {
		in   []string
		want *tlswarden.XContentTypeOptions
	}{
		{nil, nil},
		{[]string{"nosniff"}, &tlswarden.XContentTypeOptions{Value: "nosniff", Nosniff: true}},
		{[]string{"NoSniff"}, &tlswarden.XContentTypeOptions{Value: "NoSniff", Nosniff: true}},
		{[]string{"nosniff, foo"}, &tlswarden.XContentTypeOptions{Value: "nosniff", Nosniff: true}},
		{[]string{"foo", "nosniff"}, &tlswarden.XContentTypeOptions{Value: "foo"}},
		{[]string{"no-sniff"}, &tlswarden.XContentTypeOptions{Value: "no-sniff"}},
		{[]string{""}, &tlswarden.XContentTypeOptions{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseXContentTypeOptions(tt.in)); diff != "" {
			t.Errorf("parseXContentTypeOptions(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseXFrameOptions(t *testing.T) {
	tests := []struct {
		in   []string
		want *tlswarden.XFrameOptions
	}{
		{nil, nil},
		{[]string{"DENY"}, &tlswarden.XFrameOptions{Value: "DENY"}},
		{[]string{"sameorigin"}, &tlswarden.XFrameOptions{Value: "SAMEORIGIN"}},
		{[]string{"SAMEORIGIN", "SameOrigin"}, &tlswarden.XFrameOptions{Value: "SAMEORIGIN"}},
		{[]string{"DENY, SAMEORIGIN"}, &tlswarden.XFrameOptions{Value: "invalid",
			Problems: []string{`conflicting values ["deny" "sameorigin"]: browsers block all framing`}}},
		{[]string{"foo", "bar"}, &tlswarden.XFrameOptions{Value: "invalid",
			Problems: []string{`conflicting values ["foo" "bar"]: browsers ignore the header`}}},
		{[]string{"ALLOW-FROM https://a.example"}, &tlswarden.XFrameOptions{Value: "ALLOW-FROM", AllowFrom: "https://a.example",
			Problems: []string{"ALLOW-FROM is not supported by current browsers, which ignore the header"}}},
		{[]string{"ALLOWALL"}, &tlswarden.XFrameOptions{Value: "invalid",
			Problems: []string{`unknown value "ALLOWALL": browsers ignore the header`}}},
		{[]string{"allow-fromx"}, &tlswarden.XFrameOptions{Value: "invalid",
			Problems: []string{`unknown value "allow-fromx": browsers ignore the header`}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseXFrameOptions(tt.in)); diff != "" {
			t.Errorf("parseXFrameOptions(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParseReferrerPolicy(t *testing.T) {
	tests := []struct {
		in   []string
		want *tlswarden.ReferrerPolicy
	}{
		{nil, nil},
		{[]string{"no-referrer, strict-origin-when-cross-origin"}, &tlswarden.ReferrerPolicy{
			Tokens: []string{"no-referrer", "strict-origin-when-cross-origin"}, Policy: "strict-origin-when-cross-origin", Valid: true}},
		{[]string{"strict-origin, future-policy"}, &tlswarden.ReferrerPolicy{
			Tokens: []string{"strict-origin", "future-policy"}, Policy: "strict-origin", Valid: true}},
		{[]string{"no-referrer", "Unsafe-URL"}, &tlswarden.ReferrerPolicy{
			Tokens: []string{"no-referrer", "Unsafe-URL"}, Policy: "unsafe-url", Valid: true}},
		{[]string{"foo"}, &tlswarden.ReferrerPolicy{Tokens: []string{"foo"}}},
		{[]string{""}, &tlswarden.ReferrerPolicy{Tokens: []string{}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseReferrerPolicy(tt.in)); diff != "" {
			t.Errorf("parseReferrerPolicy(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParsePermissionsPolicy(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want *tlswarden.PermissionsPolicy
	}{
		{"absent", nil, nil},
		{"lists and items", []string{`geolocation=(), camera=(self "https://a.example"), fullscreen=*, payment=self`},
			&tlswarden.PermissionsPolicy{Valid: true, Features: []tlswarden.PermissionsFeature{
				{Feature: "geolocation", Allowlist: []string{}},
				{Feature: "camera", Allowlist: []string{"self", `"https://a.example"`}},
				{Feature: "fullscreen", Allowlist: []string{"*"}},
				{Feature: "payment", Allowlist: []string{"self"}},
			}}},
		{"parameters dropped, headers combined", []string{`geolocation=(self);report-to=main`, `usb=()`},
			&tlswarden.PermissionsPolicy{Valid: true, Features: []tlswarden.PermissionsFeature{
				{Feature: "geolocation", Allowlist: []string{"self"}},
				{Feature: "usb", Allowlist: []string{}},
			}}},
		{"repeated key keeps its place, last value", []string{`a=(), b=*, a=(self)`},
			&tlswarden.PermissionsPolicy{Valid: true, Features: []tlswarden.PermissionsFeature{
				{Feature: "a", Allowlist: []string{"self"}},
				{Feature: "b", Allowlist: []string{"*"}},
			}}},
		{"bare key is not an allowlist", []string{`geolocation, camera=?0`},
			&tlswarden.PermissionsPolicy{Valid: true,
				Features: []tlswarden.PermissionsFeature{
					{Feature: "geolocation", Allowlist: []string{"?1"}},
					{Feature: "camera", Allowlist: []string{"?0"}},
				},
				Problems: []string{
					`feature "geolocation" has a value that is not an allowlist: browsers ignore it`,
					`feature "camera" has a value that is not an allowlist: browsers ignore it`,
				}}},
		{"Feature-Policy syntax", []string{`geolocation 'self'`},
			&tlswarden.PermissionsPolicy{Problems: []string{`malformed structured header at byte 12: expected ',' after a member, found '\''`}}},
		{"unterminated list", []string{`camera=(self`},
			&tlswarden.PermissionsPolicy{Problems: []string{"malformed structured header at byte 12: unterminated inner list"}}},
		{"upper-case key", []string{`Camera=()`},
			&tlswarden.PermissionsPolicy{Problems: []string{"malformed structured header at byte 0: expected a key"}}},
		{"trailing comma", []string{`camera=(), `},
			&tlswarden.PermissionsPolicy{Problems: []string{"malformed structured header at byte 11: trailing comma"}}},
		{"numbers and bytes", []string{`a=1, b=-2.5, c=:aGk=:`},
			&tlswarden.PermissionsPolicy{Valid: true,
				Features: []tlswarden.PermissionsFeature{
					{Feature: "a", Allowlist: []string{"1"}},
					{Feature: "b", Allowlist: []string{"-2.5"}},
					{Feature: "c", Allowlist: []string{":aGk=:"}},
				},
				Problems: []string{
					`feature "a" has a value that is not an allowlist: browsers ignore it`,
					`feature "b" has a value that is not an allowlist: browsers ignore it`,
					`feature "c" has a value that is not an allowlist: browsers ignore it`,
				}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parsePermissionsPolicy(tt.in)); diff != "" {
				t.Errorf("parsePermissionsPolicy(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseHeaderToken(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		allowed []string
		sfItem  bool
		want    *tlswarden.HeaderToken
	}{
		{"absent", nil, coopValues, true, nil},
		{"coop", []string{"same-origin"}, coopValues, true, &tlswarden.HeaderToken{Value: "same-origin", Valid: true}},
		{"coop with report-to", []string{`same-origin-allow-popups; report-to="coop"`}, coopValues, true,
			&tlswarden.HeaderToken{Value: "same-origin-allow-popups", Valid: true}},
		{"case matters", []string{"Same-Origin"}, coopValues, true, &tlswarden.HeaderToken{Value: "Same-Origin"}},
		{"two headers", []string{"require-corp", "unsafe-none"}, coepValues, true, &tlswarden.HeaderToken{Value: "require-corp, unsafe-none"}},
		{"coep credentialless", []string{"credentialless"}, coepValues, true, &tlswarden.HeaderToken{Value: "credentialless", Valid: true}},
		{"corp", []string{"same-site"}, corpValues, false, &tlswarden.HeaderToken{Value: "same-site", Valid: true}},
		{"corp is not a structured field", []string{"same-site; x"}, corpValues, false, &tlswarden.HeaderToken{Value: "same-site; x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseHeaderToken(tt.in, tt.allowed, tt.sfItem)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersionTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"nginx/1.22.1", []string{"nginx/1.22.1"}},
		{"nginx", nil},
		{"Apache/2.4.57 (Debian) OpenSSL/3.0.11", []string{"Apache/2.4.57", "OpenSSL/3.0.11"}},
		{"Microsoft-IIS/10.0", []string{"Microsoft-IIS/10.0"}},
		{"PHP/8.1.2-1ubuntu2.14", []string{"PHP/8.1.2"}},
		{"Jetty(9.4.44.v20210927)", []string{"Jetty(9.4.44"}},
		{"Apache 2.4.1", []string{"Apache 2.4.1"}},
		{"ECS (dcb/7F83)", nil},
		{"cloudflare", nil},
		{"Server 2", nil},
		{"ASP.NET", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, versionTokens(tt.in)); diff != "" {
			t.Errorf("versionTokens(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSplitHeaderList(t *testing.T) {
	got := splitHeaderList([]string{`a, "b,c" ,d`, "e"})
	if diff := cmp.Diff([]string{"a", `"b,c"`, "d", "e"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRawSecurityHeadersRedactsCookies(t *testing.T) {
	h := http.Header{}
	h.Add("Set-Cookie", "SID=secret; Path=/; Secure")
	h.Add("Set-Cookie", "novalue")
	h.Add("X-Frame-Options", "DENY")
	h.Add("X-Frame-Options", "SAMEORIGIN")
	h.Add("X-Unrelated", "x")
	want := map[string][]string{
		"set-cookie":      {"SID=[redacted]; Path=/; Secure", "[redacted]"},
		"x-frame-options": {"DENY", "SAMEORIGIN"},
	}
	if diff := cmp.Diff(want, rawSecurityHeaders(h)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := rawSecurityHeaders(http.Header{"X-Other": {"1"}}); got != nil {
		t.Errorf("no security headers: got %v, want nil", got)
	}
}

func TestParseHTML(t *testing.T) {
	body := `<!doctype html><html><head>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; frame-ancestors 'none'">
<meta name="referrer" content="no-referrer">
<script src="/app.js"></script>
<script src="https://cdn.example/lib.js" integrity="sha384-x" crossorigin="anonymous"></script>
<script>inline()</script>
</head><body><meta name=REFERRER content=origin></body></html>`
	want := &tlswarden.HTMLFacts{
		CSP: []tlswarden.CSPPolicy{{
			Directives:      map[string][]string{"default-src": {"'self'"}},
			ScriptDirective: "default-src", ObjectDirective: "default-src",
			Problems: []string{"frame-ancestors is ignored in a <meta> policy"},
		}},
		Referrer: []string{"no-referrer", "origin"},
		Scripts: []tlswarden.HTMLScript{
			{Src: "/app.js"},
			{Src: "https://cdn.example/lib.js", Integrity: true, CrossOrigin: "anonymous"},
		},
	}
	if diff := cmp.Diff(want, parseHTML([]byte(body))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := parseHTML([]byte("<p>nothing here")); got != nil {
		t.Errorf("plain page: got %+v, want nil", got)
	}
}
