package probes

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// parseHSTS parses the Strict-Transport-Security header values of one
// response (RFC 6797 section 6.1). As RFC 6797 section 8.1 tells browsers
// to, only the first header is used; later ones are counted and flagged. It
// returns nil when there is no header.
func parseHSTS(values []string) *tlswarden.HSTS {
	if len(values) == 0 {
		return nil
	}
	h := &tlswarden.HSTS{Headers: len(values)}
	if len(values) > 1 {
		h.Problems = append(h.Problems, fmt.Sprintf("%d Strict-Transport-Security headers: browsers use only the first", len(values)))
	}
	directives, err := splitHSTSDirectives(values[0])
	if err != nil {
		h.Problems = append(h.Problems, err.Error())
		return h
	}
	h.Valid = applyHSTSDirectives(h, directives)
	return h
}

// hstsDirective is one name[=value] of an HSTS header; the name is in lower
// case and a quoted value is unquoted.
type hstsDirective struct {
	name, value string
	hasValue    bool
}

// splitHSTSDirectives splits a header value into directives, following the
// RFC 6797 grammar: directive *( ";" [ directive ] ), where a directive is
// token [ "=" ( token / quoted-string ) ], with optional whitespace around
// every separator. Any other byte makes the whole header malformed.
func splitHSTSDirectives(s string) ([]hstsDirective, error) {
	var out []hstsDirective
	p := headerScanner{s: s}
	for {
		p.skipOWS()
		if p.done() {
			return out, nil
		}
		if p.peek() == ';' {
			p.i++
			continue
		}
		d, err := p.hstsDirective()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
		p.skipOWS()
		if !p.done() && p.peek() != ';' {
			return nil, fmt.Errorf("malformed header: unexpected %q at byte %d", p.peek(), p.i)
		}
	}
}

func (p *headerScanner) hstsDirective() (hstsDirective, error) {
	name := p.token()
	if name == "" {
		return hstsDirective{}, fmt.Errorf("malformed header: expected a directive name at byte %d", p.i)
	}
	d := hstsDirective{name: strings.ToLower(name)}
	p.skipOWS()
	if p.done() || p.peek() != '=' {
		return d, nil
	}
	p.i++
	p.skipOWS()
	d.hasValue = true
	if !p.done() && p.peek() == '"' {
		v, err := p.quotedString()
		if err != nil {
			return hstsDirective{}, err
		}
		d.value = v
		return d, nil
	}
	d.value = p.token()
	return d, nil
}

// applyHSTSDirectives records the directives in h and reports whether a
// browser would honour them: unknown directives are ignored, a repeated one
// or a missing or malformed max-age voids the header.
func applyHSTSDirectives(h *tlswarden.HSTS, ds []hstsDirective) bool {
	valid, seen := true, make(map[string]bool)
	for _, d := range ds {
		if seen[d.name] {
			h.Problems = append(h.Problems, fmt.Sprintf("directive %q repeated", d.name))
			valid = false
			continue
		}
		seen[d.name] = true
		switch d.name {
		case "max-age":
			if !applyMaxAge(h, d) {
				valid = false
			}
		case "includesubdomains":
			h.IncludeSubDomains = true
			noValue(h, d, "includeSubDomains")
		case "preload":
			h.Preload = true
			noValue(h, d, "preload")
		}
	}
	if !seen["max-age"] {
		h.Problems = append(h.Problems, "max-age directive missing")
		valid = false
	}
	return valid
}

func applyMaxAge(h *tlswarden.HSTS, d hstsDirective) bool {
	if !d.hasValue || d.value == "" {
		h.Problems = append(h.Problems, "max-age has no value")
		return false
	}
	if strings.Trim(d.value, "0123456789") != "" {
		h.Problems = append(h.Problems, fmt.Sprintf("max-age is not a number of seconds: %q", d.value))
		return false
	}
	n, err := strconv.ParseInt(d.value, 10, 64)
	if err != nil { // only digits, so the number is too large
		n = math.MaxInt64
		h.Problems = append(h.Problems, "max-age too large; clamped")
	}
	h.MaxAge = n
	return true
}

// noValue flags a valueless directive that was given a value. RFC 6797
// gives such a directive no value and does not say what one means, so the
// directive is still recorded as present.
func noValue(h *tlswarden.HSTS, d hstsDirective, name string) {
	if d.hasValue {
		h.Problems = append(h.Problems, name+" takes no value")
	}
}
