package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

func TestScoreHeaders(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		edit  func(h *tlswarden.HTTPResult)
		score int
		grade string
		// results names tests whose result must be as given.
		results map[string]string
	}{
		{"strict site gets its bonuses", nil, 120, "A+", map[string]string{
			"content-security-policy":       "csp-implemented-with-no-unsafe-default-src-none",
			"x-frame-options":               "x-frame-options-implemented-via-csp",
			"cross-origin-resource-sharing": "cross-origin-resource-sharing-not-implemented",
		}},
		{"credentialed CORS for any origin", func(h *tlswarden.HTTPResult) {
			h.CORS.StatusCode, h.CORS.AllowOrigin, h.CORS.AllowCredentials = 204, str(corsOrigin), str("true")
		}, 50, "C", map[string]string{ // 100 - 50: the +15 of bonuses need 90 without them
			"cross-origin-resource-sharing": "cross-origin-resource-sharing-implemented-with-universal-access",
		}},
		{"CORS preflight timed out", func(h *tlswarden.HTTPResult) {
			h.CORS = &tlswarden.CORSResult{URL: h.FinalURL, Origin: corsOrigin, Status: tlswarden.StatusTimeout, Error: "OPTIONS: context deadline exceeded"}
		}, 120, "A+", map[string]string{"cross-origin-resource-sharing": "not_evaluated: the CORS preflight ended with timeout"}},
		{"bare site", func(h *tlswarden.HTTPResult) {
			h.HSTS, h.CSP, h.XContentTypeOptions, h.ReferrerPolicy = nil, nil, nil, nil
		}, 30, "D", map[string]string{"strict-transport-security": "hsts-not-implemented", "x-frame-options": "x-frame-options-not-implemented"}},
		{"bonuses need 90 without them", func(h *tlswarden.HTTPResult) {
			h.CSP[0].FrameAncestors = nil // XFO now missing: -20, so +10 CSP and +5 referrer are lost
		}, 80, "B+", nil},
		{"report-only CSP", func(h *tlswarden.HTTPResult) { h.CSPReportOnly, h.CSP = h.CSP, nil }, 55, "C",
			map[string]string{"content-security-policy": "csp-implemented-but-reporting-only"}},
		{"unsafe-inline script", func(h *tlswarden.HTTPResult) {
			h.CSP[0].Directives["script-src"] = []string{"'self'", "'unsafe-inline'"}
			h.CSP[0].ScriptDirective, h.CSP[0].UnsafeInline = "script-src", true
		}, 80, "B+", map[string]string{"content-security-policy": "csp-implemented-with-unsafe-inline"}},
		{"nonce neutralises unsafe-inline", func(h *tlswarden.HTTPResult) {
			h.CSP[0].Directives = map[string][]string{"default-src": {"'self'"}, "script-src": {"'unsafe-inline'", "'nonce-abc'"}}
			h.CSP[0].ScriptDirective, h.CSP[0].UnsafeInline, h.CSP[0].Nonce = "script-src", true, true
		}, 115, "A+", map[string]string{"content-security-policy": "csp-implemented-with-no-unsafe"}},
		{"session cookie without Secure, no HSTS", func(h *tlswarden.HTTPResult) {
			h.HSTS = nil
			h.Cookies = []tlswarden.HTTPCookie{{Name: "SESSIONID", HTTPOnly: true}}
		}, 40, "D+", map[string]string{"cookies": "cookies-session-without-secure-flag"}},
		{"good cookies earn a bonus", func(h *tlswarden.HTTPResult) {
			h.Cookies = []tlswarden.HTTPCookie{{Name: "sessionid", Secure: true, HTTPOnly: true, SameSite: str("Lax"), SameSiteValid: true}}
		}, 125, "A+", map[string]string{"cookies": "cookies-secure-with-httponly-sessions-and-samesite"}},
		{"external script over HTTP without SRI", func(h *tlswarden.HTTPResult) {
			h.HTML = &tlswarden.HTMLFacts{Scripts: []tlswarden.HTMLScript{{Src: "http://cdn.example.com/x.js"}}}
		}, 50, "C", map[string]string{"subresource-integrity": "sri-not-implemented-and-external-scripts-not-loaded-securely"}},
		{"same-site scripts", func(h *tlswarden.HTTPResult) {
			h.HTML = &tlswarden.HTMLFacts{Scripts: []tlswarden.HTMLScript{{Src: "/app.js"}, {Src: "https://static.example.nhs.uk/x.js"}}}
		}, 120, "A+", map[string]string{"subresource-integrity": "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"}},
		{"plain HTTP without redirect", func(h *tlswarden.HTTPResult) {
			h.Plain.Redirects, h.Plain.FirstRedirectHTTPSSameHost, h.Plain.ReachesHTTPS = nil, false, false
		}, 80, "B+", map[string]string{"redirection": "redirection-missing"}},
		{"COOP, COEP and CORP", func(h *tlswarden.HTTPResult) {
			h.COOP = &tlswarden.HeaderToken{Value: "same-origin", Valid: true}
			h.COEP = &tlswarden.HeaderToken{Value: "require-corp", Valid: true}
			h.CORP = &tlswarden.HeaderToken{Value: "bogus"}
		}, 135, "A+", map[string]string{"cross-origin-resource-policy": "corp-header-invalid"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := good(nil)()
			if tc.edit != nil {
				tc.edit(e.HTTP)
			}
			hs := ScoreHeaders(e)
			if hs.Score != tc.score || hs.Grade != tc.grade {
				t.Errorf("score %d %s, want %d %s; tests %+v", hs.Score, hs.Grade, tc.score, tc.grade, hs.Tests)
			}
			if len(hs.Tests) != 12 {
				t.Errorf("%d tests, want the Observatory's 12", len(hs.Tests))
			}
			got := map[string]string{}
			for _, test := range hs.Tests {
				if _, ok := tc.results[test.Name]; ok {
					got[test.Name] = test.Result
				}
			}
			if diff := cmp.Diff(tc.results, got, cmpEmptyMap); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
		})
	}
}

// TestObservatoryCORS judges preflight answers as the Observatory's
// cross-origin-resource-sharing test does.
func TestObservatoryCORS(t *testing.T) {
	str := func(s string) *string { return &s }
	preflight := func(code int, acao, acac *string) *tlswarden.CORSResult {
		return &tlswarden.CORSResult{URL: "https://www.example.nhs.uk/", Origin: corsOrigin, Status: tlswarden.StatusOK,
			StatusCode: code, AllowOrigin: acao, AllowCredentials: acac}
	}
	tests := []struct {
		name string
		cors *tlswarden.CORSResult
		want obsResult
	}{
		{"no preflight sent", nil, unknown("not_evaluated: no CORS preflight was sent")},
		{"preflight reset", &tlswarden.CORSResult{Origin: corsOrigin, Status: tlswarden.StatusReset, Error: "EOF"},
			unknown("not_evaluated: the CORS preflight ended with reset")},
		{"no CORS headers", preflight(200, nil, nil), ok("cross-origin-resource-sharing-not-implemented", 0)},
		{"OPTIONS refused", preflight(405, nil, nil), ok("cross-origin-resource-sharing-not-implemented", 0)},
		{"a refused preflight does not count, whatever it says", preflight(403, str(corsOrigin), str("true")),
			ok("cross-origin-resource-sharing-not-implemented", 0)},
		{"a redirected preflight does not count", preflight(301, str("*"), nil), ok("cross-origin-resource-sharing-not-implemented", 0)},
		{"any origin", preflight(204, str(" * "), nil), ok("cross-origin-resource-sharing-implemented-with-public-access", 0)},
		{"any origin, credentials (browsers refuse them with *)", preflight(204, str("*"), str("true")),
			ok("cross-origin-resource-sharing-implemented-with-public-access", 0)},
		{"another origin", preflight(204, str("https://app.example.nhs.uk"), str("true")),
			ok("cross-origin-resource-sharing-implemented-with-restricted-access", 0)},
		{"ours echoed without credentials", preflight(204, str(corsOrigin), nil),
			ok("cross-origin-resource-sharing-implemented-with-restricted-access", 0)},
		{"ours echoed, credentials false", preflight(204, str(corsOrigin), str("false")),
			ok("cross-origin-resource-sharing-implemented-with-restricted-access", 0)},
		{"ours echoed twice is no origin", preflight(204, str(corsOrigin+", "+corsOrigin), str("true")),
			ok("cross-origin-resource-sharing-implemented-with-restricted-access", 0)},
		{"ours echoed in another case", preflight(204, str(strings.ToUpper(corsOrigin)), str("true")),
			ok("cross-origin-resource-sharing-implemented-with-restricted-access", 0)},
		{"ours echoed with credentials", preflight(200, str(corsOrigin), str("true")),
			bad("cross-origin-resource-sharing-implemented-with-universal-access", -50)},
		{"credentials in any case", preflight(299, str(corsOrigin), str(" TRUE")),
			bad("cross-origin-resource-sharing-implemented-with-universal-access", -50)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := goodHTTP()
			h.CORS = tc.cors
			got := obsCORS(endpoint(nil, nil, h))
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(obsResult{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmptyMap = cmp.FilterValues(func(a, b map[string]string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func TestScoreHeadersUnscorable(t *testing.T) {
	e := good(func(e *tlswarden.EndpointReport) { e.HTTP.StatusCode = 500 })()
	if hs := ScoreHeaders(e); hs.Error == "" || hs.Grade != "" {
		t.Errorf("a 500 response was scored: %+v", hs)
	}
	if hs := ScoreHeaders(good(func(e *tlswarden.EndpointReport) { e.HTTP = nil })()); hs != nil {
		t.Errorf("no HTTP facts gave a score: %+v", hs)
	}
}

func TestObservatoryGradeChart(t *testing.T) {
	for score, want := range map[int]string{
		165: "A+", 100: "A+", 99: "A", 90: "A", 89: "A-", 85: "A-", 84: "B+", 80: "B+", 79: "B", 70: "B",
		65: "B-", 60: "C+", 59: "C", 50: "C", 45: "C-", 40: "D+", 30: "D", 25: "D-", 24: "F", 0: "F",
	} {
		if got := observatoryGrade(score); got != want {
			t.Errorf("score %d: grade %s, want %s", score, got, want)
		}
	}
}
