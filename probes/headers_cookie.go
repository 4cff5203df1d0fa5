package probes

import (
	"strings"

	"github.com/tlswarden/tlswarden"
)

// parseCookies parses every Set-Cookie header value, in order.
func parseCookies(values []string) []tlswarden.HTTPCookie {
	var out []tlswarden.HTTPCookie
	for _, v := range values {
		out = append(out, parseSetCookie(v))
	}
	return out
}

// parseSetCookie parses one Set-Cookie header as RFC 6265bis section 5.6
// tells browsers to: the name is what precedes the first "=" of the first
// ";"-separated part, attribute names compare case-insensitively, and the
// last occurrence of a valued attribute wins. What a browser would reject
// or ignore is listed in Problems; the cookie's value is never kept.
func parseSetCookie(v string) tlswarden.HTTPCookie {
	pair, attrs, _ := strings.Cut(v, ";")
	var c tlswarden.HTTPCookie
	name, value, hasEq := strings.Cut(pair, "=")
	if hasEq {
		c.Name = strings.Trim(name, " \t")
	} else {
		value = name
		c.Problems = append(c.Problems, "no '=' in the name-value pair: browsers take it as a value with an empty name")
	}
	if c.Name == "" && strings.Trim(value, " \t") == "" {
		c.Problems = append(c.Problems, "empty name and value: browsers ignore the cookie")
	}
	if hasControlChar(v) {
		c.Problems = append(c.Problems, "control character: browsers ignore the cookie")
	}
	for attr := range strings.SplitSeq(attrs, ";") {
		applyCookieAttr(&c, attr)
	}
	cookieRules(&c)
	return c
}

// applyCookieAttr records one "name[=value]" cookie attribute; unknown
// attributes are ignored, as in browsers.
func applyCookieAttr(c *tlswarden.HTTPCookie, attr string) {
	name, value, _ := strings.Cut(attr, "=")
	name, value = strings.Trim(name, " \t"), strings.Trim(value, " \t")
	switch strings.ToLower(name) {
	case "secure":
		c.Secure = true
	case "httponly":
		c.HTTPOnly = true
	case "partitioned":
		c.Partitioned = true
	case "samesite":
		c.SameSite = &value
		c.SameSiteValid = validSameSite(value)
	case "path":
		c.Path = value
	case "domain":
		c.Domain = value
	case "expires":
		c.Expires = value
	case "max-age":
		c.MaxAge = value
	}
}

// validSameSite reports whether v is a SameSite value browsers know.
func validSameSite(v string) bool {
	return strings.EqualFold(v, "Strict") || strings.EqualFold(v, "Lax") || strings.EqualFold(v, "None")
}

// cookieRules flags what browsers enforce beyond the syntax: the SameSite
// value, SameSite=None requiring Secure, and the __Secure- and __Host-
// name prefixes.
func cookieRules(c *tlswarden.HTTPCookie) {
	if c.SameSite != nil && !c.SameSiteValid {
		c.Problems = append(c.Problems, "unknown SameSite value: browsers use their default")
	}
	if c.SameSite != nil && strings.EqualFold(*c.SameSite, "None") && !c.Secure {
		c.Problems = append(c.Problems, "SameSite=None without Secure: browsers reject the cookie")
	}
	if c.Path != "" && !strings.HasPrefix(c.Path, "/") {
		c.Problems = append(c.Problems, "Path does not start with '/': browsers use the default path")
	}
	switch name := strings.ToLower(c.Name); {
	case strings.HasPrefix(name, "__secure-") && !c.Secure:
		c.Problems = append(c.Problems, "__Secure- prefix without Secure: browsers reject the cookie")
	case strings.HasPrefix(name, "__host-") && (!c.Secure || c.Path != "/" || c.Domain != ""):
		c.Problems = append(c.Problems, "__Host- prefix needs Secure, Path=/ and no Domain: browsers reject the cookie")
	}
}

// hasControlChar reports a control character other than tab, which makes
// browsers ignore a Set-Cookie header.
func hasControlChar(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}
