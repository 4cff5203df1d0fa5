package probes

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The seed corpora of these targets are in testdata/fuzz/<FuzzName>/.

func FuzzParseHSTS(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		h := parseHSTS([]string{s})
		if h == nil || h.Headers != 1 {
			t.Fatalf("parseHSTS(%q) = %+v", s, h)
		}
		if !h.Valid && len(h.Problems) == 0 {
			t.Errorf("parseHSTS(%q): invalid without a reason", s)
		}
		if h.Valid && (h.MaxAge < 0 || !strings.Contains(strings.ToLower(s), "max-age")) {
			t.Errorf("parseHSTS(%q): valid with max-age %d", s, h.MaxAge)
		}
	})
}

func FuzzParseCSP(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p := parseCSP(s)
		var b strings.Builder
		for name, values := range p.Directives {
			if !validCSPName(name) {
				t.Errorf("parseCSP(%q): directive name %q", s, name)
			}
			for _, v := range values {
				if v == "" || strings.ContainsAny(v, asciiWhitespace+";") {
					t.Errorf("parseCSP(%q): source %q", s, v)
				}
			}
			b.WriteString(name + " " + strings.Join(values, " ") + ";")
		}
		for _, d := range []string{p.ScriptDirective, p.ObjectDirective} {
			if _, ok := p.Directives[d]; d != "" && !ok {
				t.Errorf("parseCSP(%q): governing directive %q is absent", s, d)
			}
		}
		for d := range p.BroadSources {
			if _, ok := p.Directives[d]; !ok {
				t.Errorf("parseCSP(%q): broad sources for absent %q", s, d)
			}
		}
		// What was parsed reads back the same.
		if again := parseCSP(b.String()); !cmp.Equal(p.Directives, again.Directives) {
			t.Errorf("parseCSP(%q) does not round-trip:\n%s", s, cmp.Diff(p.Directives, again.Directives))
		}
	})
}

func FuzzParseSetCookie(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		c := parseSetCookie(s)
		if strings.Contains(c.Name, ";") || c.SameSiteValid && c.SameSite == nil {
			t.Errorf("parseSetCookie(%q) = %+v", s, c)
		}
		pair, _, _ := strings.Cut(s, ";")
		if !strings.Contains(pair, "=") || hasControlChar(s) {
			return
		}
		// Redacting the value keeps every fact about the cookie.
		r := parseSetCookie(redactCookie(s))
		r.Problems, c.Problems = nil, nil
		if diff := cmp.Diff(c, r); diff != "" {
			t.Errorf("redacting %q changed the facts (-before +after):\n%s", s, diff)
		}
	})
}

func FuzzParsePermissionsPolicy(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		pp := parsePermissionsPolicy([]string{s})
		if !pp.Valid {
			if len(pp.Features) != 0 || len(pp.Problems) == 0 {
				t.Errorf("parsePermissionsPolicy(%q): invalid but %+v", s, pp)
			}
			return
		}
		// The features, written back as inner lists, parse the same.
		var members []string
		for _, ft := range pp.Features {
			members = append(members, ft.Feature+"=("+strings.Join(ft.Allowlist, " ")+")")
		}
		again := parsePermissionsPolicy([]string{strings.Join(members, ", ")})
		if !again.Valid || !cmp.Equal(pp.Features, again.Features) {
			t.Errorf("parsePermissionsPolicy(%q) does not round-trip: %+v, then %+v", s, pp, again)
		}
	})
}

func FuzzParseHeaderValues(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		values := []string{s}
		if list := splitHeaderList(values); len(list) == 0 {
			t.Errorf("splitHeaderList(%q) is empty", s)
		}
		if x := parseXFrameOptions(values); !slices.Contains([]string{"DENY", "SAMEORIGIN", "ALLOW-FROM", "invalid"}, x.Value) {
			t.Errorf("parseXFrameOptions(%q).Value = %q", s, x.Value)
		}
		if rp := parseReferrerPolicy(values); rp.Valid != slices.Contains(referrerPolicies, rp.Policy) {
			t.Errorf("parseReferrerPolicy(%q) = %+v", s, rp)
		}
		if tok := parseHeaderToken(values, coopValues, true); tok.Valid != slices.Contains(coopValues, tok.Value) {
			t.Errorf("parseHeaderToken(%q) = %+v", s, tok)
		}
		_ = parseXContentTypeOptions(values)
		for _, v := range versionTokens(s) {
			if !strings.Contains(s, v) {
				t.Errorf("versionTokens(%q) made up %q", s, v)
			}
		}
	})
}

func FuzzParseHTML(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		if h := parseHTML(body); h != nil && len(h.Scripts) > maxHTMLScripts {
			t.Errorf("%d scripts recorded, cap %d", len(h.Scripts), maxHTMLScripts)
		}
	})
}
