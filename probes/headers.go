package probes

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// securityHeaders lists the response headers whose raw values a report
// keeps: the ones the HTTP probe parses, and a few more that policies and
// people reading a report ask about.
var securityHeaders = []string{
	"Strict-Transport-Security",
	"Content-Security-Policy",
	"Content-Security-Policy-Report-Only",
	"X-Content-Type-Options",
	"X-Frame-Options",
	"Referrer-Policy",
	"Permissions-Policy",
	"Feature-Policy",
	"Cross-Origin-Opener-Policy",
	"Cross-Origin-Opener-Policy-Report-Only",
	"Cross-Origin-Embedder-Policy",
	"Cross-Origin-Embedder-Policy-Report-Only",
	"Cross-Origin-Resource-Policy",
	"Access-Control-Allow-Origin",
	"Access-Control-Allow-Credentials",
	"X-XSS-Protection",
	"Cache-Control",
	"Content-Type",
	"Set-Cookie",
	"Server",
	"X-Powered-By",
	"X-AspNet-Version",
	"X-AspNetMvc-Version",
}

// headerFacts fills res with the raw and parsed security headers of one
// response. Cookies are not handled here: they are collected from every
// response of a redirect chain.
func headerFacts(res *tlswarden.HTTPResult, h http.Header) {
	res.Headers = rawSecurityHeaders(h)
	res.HSTS = parseHSTS(h.Values("Strict-Transport-Security"))
	res.CSP = parseCSPHeader(h.Values("Content-Security-Policy"))
	res.CSPReportOnly = parseCSPHeader(h.Values("Content-Security-Policy-Report-Only"))
	res.XContentTypeOptions = parseXContentTypeOptions(h.Values("X-Content-Type-Options"))
	res.XFrameOptions = parseXFrameOptions(h.Values("X-Frame-Options"))
	res.ReferrerPolicy = parseReferrerPolicy(h.Values("Referrer-Policy"))
	res.PermissionsPolicy = parsePermissionsPolicy(h.Values("Permissions-Policy"))
	res.COOP = parseHeaderToken(h.Values("Cross-Origin-Opener-Policy"), coopValues, true)
	res.COEP = parseHeaderToken(h.Values("Cross-Origin-Embedder-Policy"), coepValues, true)
	res.CORP = parseHeaderToken(h.Values("Cross-Origin-Resource-Policy"), corpValues, false)
	res.Server = parseSoftware(h.Values("Server"))
	res.XPoweredBy = parseSoftware(h.Values("X-Powered-By"))
}

// rawSecurityHeaders returns every value of the security headers, by
// lower-case name, with cookie values redacted; nil when there are none.
func rawSecurityHeaders(h http.Header) map[string][]string {
	var out map[string][]string
	for _, name := range securityHeaders {
		vs := h.Values(name)
		if len(vs) == 0 {
			continue
		}
		if out == nil {
			out = make(map[string][]string)
		}
		vs = append([]string(nil), vs...)
		if name == "Set-Cookie" {
			for i, v := range vs {
				vs[i] = redactCookie(v)
			}
		}
		out[strings.ToLower(name)] = vs
	}
	return out
}

// redactCookie replaces a Set-Cookie header's value with "[redacted]": a
// report must not carry session tokens.
func redactCookie(v string) string {
	pair, attrs, hasAttrs := strings.Cut(v, ";")
	name, _, hasEq := strings.Cut(pair, "=")
	out := "[redacted]"
	if hasEq {
		out = name + "=[redacted]"
	}
	if hasAttrs {
		out += ";" + attrs
	}
	return out
}

// splitHeaderList combines a header's values and splits them on commas
// outside double quotes, trimming spaces and tabs: Fetch's "get, decode and
// split", which browsers use for X-Content-Type-Options, X-Frame-Options
// and Referrer-Policy. It returns nil when there are no values.
func splitHeaderList(values []string) []string {
	if len(values) == 0 {
		return nil
	}
	s := strings.Join(values, ",")
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"':
			quoted = !quoted
		case s[i] == '\\' && quoted && i+1 < len(s):
			i++
		case s[i] == ',' && !quoted:
			out = append(out, strings.Trim(s[start:i], " \t"))
			start = i + 1
		}
	}
	return append(out, strings.Trim(s[start:], " \t"))
}

// headerScanner reads the RFC 9110 building blocks of a header value.
type headerScanner struct {
	s string
	i int
}

func (p *headerScanner) done() bool { return p.i >= len(p.s) }
func (p *headerScanner) peek() byte { return p.s[p.i] }

// skipOWS skips optional whitespace: spaces and tabs.
func (p *headerScanner) skipOWS() {
	for !p.done() && (p.peek() == ' ' || p.peek() == '\t') {
		p.i++
	}
}

// token reads a run of RFC 9110 token characters, possibly empty.
func (p *headerScanner) token() string {
	start := p.i
	for !p.done() && isTChar(p.peek()) {
		p.i++
	}
	return p.s[start:p.i]
}

// quotedString reads an RFC 9110 quoted-string at the scanner's position
// and returns its content with escapes removed.
func (p *headerScanner) quotedString() (string, error) {
	start := p.i
	p.i++ // the opening quote
	var b strings.Builder
	for !p.done() {
		c := p.peek()
		p.i++
		switch {
		case c == '"':
			return b.String(), nil
		case c == '\\' && !p.done():
			b.WriteByte(p.peek())
			p.i++
		case c == '\t' || c >= ' ' && c != 0x7f:
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("malformed header: control character in quoted string at byte %d", p.i-1)
		}
	}
	return "", fmt.Errorf("malformed header: unterminated quoted string at byte %d", start)
}

// isTChar reports whether c may appear in an RFC 9110 token.
func isTChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
