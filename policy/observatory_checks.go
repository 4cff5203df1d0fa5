package policy

import (
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/tlswarden/tlswarden"
)

// obsCSP follows the Observatory's precedence: invalid, not implemented,
// unsafe script sources, insecure schemes, 'unsafe-eval', insecure passive
// content, unsafe styles, default-src 'none', else no unsafe sources.
// Header and <meta> policies are all enforced by browsers, so the best
// result among them is the endpoint's (an approximation of the
// Observatory's merging of the two).
func obsCSP(e *tlswarden.EndpointReport) obsResult {
	h := e.HTTP
	policies := slices.Clone(h.CSP)
	if h.HTML != nil {
		policies = append(policies, h.HTML.CSP...)
	}
	if len(policies) == 0 {
		if len(h.CSPReportOnly) > 0 {
			return bad("csp-implemented-but-reporting-only", -25)
		}
		return bad("csp-not-implemented", -25)
	}
	best := bad("csp-header-invalid", -25)
	for i := range policies {
		if r := cspResult(&policies[i]); r.modifier > best.modifier {
			best = r
		}
	}
	return best
}

func cspResult(p *tlswarden.CSPPolicy) obsResult {
	script, object := p.Directives[p.ScriptDirective], p.Directives[p.ObjectDirective]
	switch {
	case len(p.Directives) == 0 || p.StrictDynamic && !p.Nonce && !p.Hash:
		return bad("csp-header-invalid", -25)
	case p.ScriptDirective == "" || p.ObjectDirective == "",
		p.UnsafeInline && !p.Nonce && !p.Hash,
		len(p.BroadSources[p.ScriptDirective]) > 0, len(p.BroadSources[p.ObjectDirective]) > 0:
		return bad("csp-implemented-with-unsafe-inline", -20)
	case insecureScheme(script) || insecureScheme(object):
		return bad("csp-implemented-with-insecure-scheme", -20)
	case p.UnsafeEval:
		return bad("csp-implemented-with-unsafe-eval", -10)
	case insecureScheme(p.Directives["img-src"]) || insecureScheme(p.Directives["media-src"]):
		return ok("csp-implemented-with-insecure-scheme-in-passive-content-only", -10)
	case p.StyleUnsafeInline:
		return ok("csp-implemented-with-unsafe-inline-in-style-src-only", 0)
	case slices.Equal(p.Directives["default-src"], []string{"'none'"}):
		return ok("csp-implemented-with-no-unsafe-default-src-none", 10)
	}
	return ok("csp-implemented-with-no-unsafe", 5)
}

// insecureScheme reports an http: or ftp: source.
func insecureScheme(sources []string) bool {
	return slices.ContainsFunc(sources, func(s string) bool {
		s = strings.ToLower(s)
		return strings.HasPrefix(s, "http:") || strings.HasPrefix(s, "ftp:")
	})
}

// obsCookies gives the worst result among the cookies set. "Session"
// cookies are those whose name contains "login" or "sess"; anti-CSRF ones
// contain "csrf".
func obsCookies(e *tlswarden.EndpointReport) obsResult {
	h := e.HTTP
	if len(h.Cookies) == 0 {
		return ok("cookies-not-found", 0)
	}
	hsts := h.HSTS != nil && h.HSTS.Valid && h.HSTS.MaxAge > 0
	worst := ok("cookies-secure-with-httponly-sessions-and-samesite", 5)
	for i := range h.Cookies {
		if r := cookieResult(&h.Cookies[i], hsts); r.modifier < worst.modifier {
			worst = r
		}
	}
	return worst
}

func cookieResult(c *tlswarden.HTTPCookie, hsts bool) obsResult {
	name := strings.ToLower(c.Name)
	session := strings.Contains(name, "login") || strings.Contains(name, "sess")
	csrf := strings.Contains(name, "csrf")
	sameSiteNone := c.SameSite != nil && strings.EqualFold(*c.SameSite, "none")
	switch {
	case session && !c.Secure && !hsts:
		return bad("cookies-session-without-secure-flag", -40)
	case session && !c.HTTPOnly:
		return bad("cookies-session-without-httponly-flag", -30)
	case csrf && c.SameSite == nil:
		return bad("cookies-anticsrf-without-samesite-flag", -20)
	case c.SameSite != nil && !c.SameSiteValid, sameSiteNone && !c.Secure:
		return bad("cookies-samesite-flag-invalid", -20)
	case !c.Secure && !hsts:
		return bad("cookies-without-secure-flag", -20)
	case session && !c.Secure:
		return bad("cookies-session-without-secure-flag-but-protected-by-hsts", -10)
	case !c.Secure:
		return bad("cookies-without-secure-flag-but-protected-by-hsts", -5)
	case c.SameSite == nil:
		return ok("cookies-secure-with-httponly-sessions", 0)
	}
	return ok("cookies-secure-with-httponly-sessions-and-samesite", 5)
}

// obsCORS judges the CORS preflight as the Observatory does: no
// Access-Control-Allow-Origin is "not implemented"; "*" is public access;
// the Origin sent echoed back with Access-Control-Allow-Credentials: true
// (any case) lets any site make credentialed requests, -50; any other
// value is restricted. Only a 2xx preflight counts, as in browsers and in
// the Observatory's client, which drops other responses. The GET carries
// no Origin, so it cannot show an echo: the test reads the preflight only.
func obsCORS(e *tlswarden.EndpointReport) obsResult {
	c := e.HTTP.CORS
	switch {
	case c == nil:
		return unknown("not_evaluated: no CORS preflight was sent")
	case c.Status != tlswarden.StatusOK:
		return unknown("not_evaluated: the CORS preflight ended with " + string(c.Status))
	case c.StatusCode < 200 || c.StatusCode > 299 || c.AllowOrigin == nil:
		return ok("cross-origin-resource-sharing-not-implemented", 0)
	case strings.TrimSpace(*c.AllowOrigin) == "*":
		return ok("cross-origin-resource-sharing-implemented-with-public-access", 0)
	case *c.AllowOrigin == c.Origin && c.AllowCredentials != nil && strings.EqualFold(strings.TrimSpace(*c.AllowCredentials), "true"):
		return bad("cross-origin-resource-sharing-implemented-with-universal-access", -50)
	}
	return ok("cross-origin-resource-sharing-implemented-with-restricted-access", 0)
}

// obsRedirection judges what plain HTTP on port 80 does. Redirects to
// preloaded hosts and invalid certificates on the target are not
// distinguished.
func obsRedirection(e *tlswarden.EndpointReport) obsResult {
	p := e.HTTP.Plain
	switch {
	case p == nil:
		return unknown("not_evaluated: plain HTTP was not checked")
	case !p.Listening:
		return ok("redirection-not-needed-no-http", 0)
	case p.Status != tlswarden.StatusOK:
		return unknown("not_evaluated: plain HTTP ended with " + string(p.Status))
	case len(p.Redirects) == 0:
		return bad("redirection-missing", -20)
	case !p.ReachesHTTPS:
		return bad("redirection-not-to-https", -20)
	case p.FirstRedirectHTTPSSameHost:
		return ok("redirection-to-https", 0)
	case strings.HasPrefix(strings.ToLower(p.Redirects[0].Target), "https:"):
		return bad("redirection-off-host-from-http", -5)
	}
	return bad("redirection-not-to-https-on-initial-redirection", -10)
}

// referrerPolicies are the Referrer-Policy values, by whether they keep
// the path from other origins.
var (
	privateReferrer = []string{"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
	unsafeReferrer  = []string{"origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"}
)

// obsReferrer takes the last recognised token of the header and the
// <meta name="referrer"> tags.
func obsReferrer(e *tlswarden.EndpointReport) obsResult {
	h := e.HTTP
	var tokens []string
	if h.ReferrerPolicy != nil {
		tokens = append(tokens, h.ReferrerPolicy.Tokens...)
	}
	if h.HTML != nil {
		for _, m := range h.HTML.Referrer {
			tokens = append(tokens, strings.Split(m, ",")...)
		}
	}
	if len(tokens) == 0 {
		return ok("referrer-policy-not-implemented", 0)
	}
	last := ""
	for _, t := range tokens {
		t = strings.ToLower(strings.TrimSpace(t))
		if slices.Contains(privateReferrer, t) || slices.Contains(unsafeReferrer, t) {
			last = t
		}
	}
	switch {
	case slices.Contains(privateReferrer, last):
		return ok("referrer-policy-private", 5)
	case last != "":
		return bad("referrer-policy-unsafe", -5)
	}
	return bad("referrer-policy-header-invalid", -5)
}

// obsHSTS: the Observatory's six months is 15,552,000 seconds. The HSTS
// preload list is not consulted, so "preloaded" (+5) is never given.
func obsHSTS(e *tlswarden.EndpointReport) obsResult {
	s := e.HTTP.HSTS
	switch {
	case s == nil:
		return bad("hsts-not-implemented", -20)
	case e.Cert != nil && !e.Cert.Trusted:
		return bad("hsts-invalid-cert", -20)
	case !s.Valid || s.Headers > 1:
		return bad("hsts-header-invalid", -20)
	case s.MaxAge < hstsAPlus:
		return bad("hsts-implemented-max-age-less-than-six-months", -10)
	}
	return ok("hsts-implemented-max-age-at-least-six-months", 0)
}

// obsSRI classifies the scripts the HTML loads by origin ("same
// second-level domain") and scheme.
func obsSRI(e *tlswarden.EndpointReport) obsResult {
	h := e.HTTP
	switch {
	case h.HTML == nil:
		return ok("sri-not-implemented-response-not-html", 0)
	case len(h.HTML.Scripts) == 0:
		return ok("sri-not-implemented-but-no-scripts-loaded", 0)
	}
	base, _ := url.Parse(orDefault(h.FinalURL, h.URL))
	var external, insecure, missing, missingInsecure, withSRI bool
	for _, s := range h.HTML.Scripts {
		ext, sec := scriptOrigin(base, s.Src)
		withSRI = withSRI || s.Integrity
		if !ext {
			continue
		}
		external = true
		insecure = insecure || !sec
		if !s.Integrity {
			missing = true
			missingInsecure = missingInsecure || !sec
		}
	}
	switch {
	case !external && withSRI:
		return ok("sri-implemented-and-all-scripts-loaded-securely", 5)
	case !external:
		return ok("sri-not-implemented-but-all-scripts-loaded-from-secure-origin", 0)
	case missingInsecure:
		return bad("sri-not-implemented-and-external-scripts-not-loaded-securely", -50)
	case missing:
		return bad("sri-not-implemented-but-external-scripts-loaded-securely", -5)
	case insecure:
		return bad("sri-implemented-but-external-scripts-not-loaded-securely", -20)
	}
	return ok("sri-implemented-and-external-scripts-loaded-securely", 5)
}

// scriptOrigin says whether a script source is on another registrable
// domain than the page, and whether it is loaded over HTTPS (a
// protocol-relative source counts as insecure, as in the Observatory).
func scriptOrigin(base *url.URL, src string) (external, secure bool) {
	u, err := url.Parse(strings.TrimSpace(src))
	if err != nil || base == nil {
		return true, false
	}
	protocolRelative := strings.HasPrefix(strings.TrimSpace(src), "//")
	abs := base.ResolveReference(u)
	if sameSite(base.Hostname(), abs.Hostname()) {
		return false, abs.Scheme == "https"
	}
	return true, abs.Scheme == "https" && !protocolRelative
}

func sameSite(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	ra, errA := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(a))
	rb, errB := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(b))
	return errA == nil && errB == nil && ra == rb
}

func obsXCTO(e *tlswarden.EndpointReport) obsResult {
	x := e.HTTP.XContentTypeOptions
	switch {
	case x == nil:
		return bad("x-content-type-options-not-implemented", -5)
	case x.Nosniff:
		return ok("x-content-type-options-nosniff", 0)
	}
	return bad("x-content-type-options-header-invalid", -5)
}

// obsXFO: a CSP frame-ancestors directive (header only) overrides
// X-Frame-Options.
func obsXFO(e *tlswarden.EndpointReport) obsResult {
	h := e.HTTP
	for _, p := range h.CSP {
		if p.FrameAncestors != nil {
			return ok("x-frame-options-implemented-via-csp", 5)
		}
	}
	x := h.XFrameOptions
	switch {
	case x == nil:
		return bad("x-frame-options-not-implemented", -20)
	case strings.EqualFold(x.Value, "DENY"), strings.EqualFold(x.Value, "SAMEORIGIN"):
		return ok("x-frame-options-sameorigin-or-deny", 5)
	case strings.EqualFold(x.Value, "ALLOW-FROM"):
		return ok("x-frame-options-allow-from-origin", 0)
	}
	return bad("x-frame-options-header-invalid", -20)
}

// tokenTest scores the Cross-Origin-*-Policy headers: absent 0, invalid
// -5, a protective value +10, any other valid value 0.
func tokenTest(prefix string, t *tlswarden.HeaderToken, protective ...string) obsResult {
	switch {
	case t == nil:
		return ok(prefix+"-not-implemented", 0)
	case !t.Valid:
		return bad(prefix+"-header-invalid", -5)
	case containsFold(protective, t.Value):
		return ok(prefix+"-implemented-"+strings.ToLower(t.Value), 10)
	}
	return ok(prefix+"-implemented-"+strings.ToLower(t.Value), 0)
}

func obsCORP(e *tlswarden.EndpointReport) obsResult {
	return tokenTest("corp", e.HTTP.CORP, "same-site", "same-origin")
}

func obsCOOP(e *tlswarden.EndpointReport) obsResult {
	return tokenTest("coop", e.HTTP.COOP, "same-origin", "same-origin-allow-popups", "noopener-allow-popups")
}

func obsCOEP(e *tlswarden.EndpointReport) obsResult {
	return tokenTest("coep", e.HTTP.COEP, "require-corp", "credentialless")
}
