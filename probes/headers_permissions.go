package probes

import (
	"fmt"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// parsePermissionsPolicy reads Permissions-Policy, a structured-field
// dictionary (RFC 8941 section 4.2.2) of feature = allowlist. Multiple
// headers are combined with commas first, as for every structured field. A
// header that does not parse is invalid as a whole: browsers ignore it.
func parsePermissionsPolicy(values []string) *tlswarden.PermissionsPolicy {
	if len(values) == 0 {
		return nil
	}
	members, err := parseSFDictionary(strings.Join(values, ", "))
	if err != nil {
		return &tlswarden.PermissionsPolicy{Problems: []string{err.Error()}}
	}
	pp := &tlswarden.PermissionsPolicy{Valid: true}
	for _, m := range members {
		pp.Features = append(pp.Features, tlswarden.PermissionsFeature{Feature: m.key, Allowlist: m.items})
		if !m.list && !m.allowlistItem {
			pp.Problems = append(pp.Problems, fmt.Sprintf("feature %q has a value that is not an allowlist: browsers ignore it", m.key))
		}
	}
	return pp
}

// sfMember is one dictionary member: its key and its value's items as
// text. Tokens are kept as written, strings with their quotes, so that the
// token self and the string "self" stay apart.
type sfMember struct {
	key   string
	items []string
	// list is true when the value is an inner list; allowlistItem when it
	// is a single token or string, which Permissions Policy also accepts.
	list, allowlistItem bool
}

// parseSFDictionary parses an RFC 8941 dictionary. Parameters are parsed
// and dropped; a repeated key keeps its first position and its last value.
func parseSFDictionary(s string) ([]sfMember, error) {
	p := sfParser{s: s}
	p.skip(" ")
	var out []sfMember
	index := make(map[string]int)
	for !p.done() {
		m, err := p.member()
		if err != nil {
			return nil, err
		}
		if i, ok := index[m.key]; ok {
			out[i] = m
		} else {
			index[m.key] = len(out)
			out = append(out, m)
		}
		if err := p.memberEnd(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sfParser reads structured-field syntax.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }
func (p *sfParser) peek() byte { return p.s[p.i] }

func (p *sfParser) skip(chars string) {
	for !p.done() && strings.IndexByte(chars, p.peek()) >= 0 {
		p.i++
	}
}

func (p *sfParser) errorf(format string, args ...any) error {
	return fmt.Errorf("malformed structured header at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

// memberEnd consumes what follows a member: optional whitespace, then
// either the end or a comma followed by another member.
func (p *sfParser) memberEnd() error {
	p.skip(" \t")
	if p.done() {
		return nil
	}
	if p.peek() != ',' {
		return p.errorf("expected ',' after a member, found %q", p.peek())
	}
	p.i++
	p.skip(" \t")
	if p.done() {
		return p.errorf("trailing comma")
	}
	return nil
}

func (p *sfParser) member() (sfMember, error) {
	key, err := p.key()
	if err != nil {
		return sfMember{}, err
	}
	m := sfMember{key: key, items: []string{}}
	if p.done() || p.peek() != '=' {
		m.items = append(m.items, "?1") // a bare key is Boolean true
		return m, p.params()
	}
	p.i++
	if !p.done() && p.peek() == '(' {
		m.list = true
		m.items, err = p.innerList()
		return m, err
	}
	item, isAllowlist, err := p.bareItem()
	if err != nil {
		return sfMember{}, err
	}
	m.items, m.allowlistItem = append(m.items, item), isAllowlist
	return m, p.params()
}

// key reads a structured-field key: lcalpha or "*", then lcalpha, DIGIT,
// "_", "-", "." or "*".
func (p *sfParser) key() (string, error) {
	if p.done() || !(p.peek() >= 'a' && p.peek() <= 'z' || p.peek() == '*') {
		return "", p.errorf("expected a key")
	}
	start := p.i
	for !p.done() {
		c := p.peek()
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0) {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

// innerList reads "(" items ")" and its parameters.
func (p *sfParser) innerList() ([]string, error) {
	p.i++ // "("
	items := []string{}
	for {
		p.skip(" ")
		if p.done() {
			return nil, p.errorf("unterminated inner list")
		}
		if p.peek() == ')' {
			p.i++
			return items, p.params()
		}
		item, _, err := p.bareItem()
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if err := p.params(); err != nil {
			return nil, err
		}
		if !p.done() && p.peek() != ' ' && p.peek() != ')' {
			return nil, p.errorf("expected ' ' or ')' in an inner list, found %q", p.peek())
		}
	}
}

// params reads and drops *( ";" *SP key [ "=" bare-item ] ).
func (p *sfParser) params() error {
	for !p.done() && p.peek() == ';' {
		p.i++
		p.skip(" ")
		if _, err := p.key(); err != nil {
			return err
		}
		if !p.done() && p.peek() == '=' {
			p.i++
			if _, _, err := p.bareItem(); err != nil {
				return err
			}
		}
	}
	return nil
}

// bareItem reads one bare item and returns it as text; isAllowlist is true
// for tokens and strings, the item types an allowlist is made of.
func (p *sfParser) bareItem() (text string, isAllowlist bool, err error) {
	if p.done() {
		return "", false, p.errorf("expected an item")
	}
	switch c := p.peek(); {
	case c == '"':
		text, err = p.sfString()
		return text, err == nil, err
	case c == '*' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return p.sfToken(), true, nil
	case c == '-' || c >= '0' && c <= '9':
		text, err = p.sfNumber()
		return text, false, err
	case c == '?':
		text, err = p.sfBoolean()
		return text, false, err
	case c == ':':
		text, err = p.sfBytes()
		return text, false, err
	}
	return "", false, p.errorf("unexpected %q", p.peek())
}

// sfString reads a string and returns it with its quotes.
func (p *sfParser) sfString() (string, error) {
	start := p.i
	p.i++
	for !p.done() {
		c := p.peek()
		p.i++
		switch {
		case c == '"':
			return p.s[start:p.i], nil
		case c == '\\':
			if p.done() || (p.peek() != '"' && p.peek() != '\\') {
				return "", p.errorf("bad escape in string")
			}
			p.i++
		case c < 0x20 || c > 0x7e:
			return "", p.errorf("character %q not allowed in a string", c)
		}
	}
	return "", p.errorf("unterminated string")
}

// sfToken reads a token: its first character was checked by the caller.
func (p *sfParser) sfToken() string {
	start := p.i
	p.i++
	for !p.done() && (isTChar(p.peek()) || p.peek() == ':' || p.peek() == '/') {
		p.i++
	}
	return p.s[start:p.i]
}

// sfNumber reads an integer (at most 15 digits) or a decimal (at most 12
// integer and 3 fraction digits).
func (p *sfParser) sfNumber() (string, error) {
	start := p.i
	if p.peek() == '-' {
		p.i++
	}
	intStart := p.i
	p.skip("0123456789")
	intDigits := p.i - intStart
	if intDigits == 0 {
		return "", p.errorf("expected a digit")
	}
	if p.done() || p.peek() != '.' {
		if intDigits > 15 {
			return "", p.errorf("integer too long")
		}
		return p.s[start:p.i], nil
	}
	p.i++
	fracStart := p.i
	p.skip("0123456789")
	if frac := p.i - fracStart; intDigits > 12 || frac == 0 || frac > 3 {
		return "", p.errorf("malformed decimal")
	}
	return p.s[start:p.i], nil
}

func (p *sfParser) sfBoolean() (string, error) {
	if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
		p.i += 2
		return p.s[p.i-2 : p.i], nil
	}
	return "", p.errorf("malformed boolean")
}

// sfBytes reads a byte sequence, ":" base64 ":", without decoding it.
func (p *sfParser) sfBytes() (string, error) {
	start := p.i
	p.i++
	p.skip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
	if p.done() || p.peek() != ':' {
		return "", p.errorf("malformed byte sequence")
	}
	p.i++
	return p.s[start:p.i], nil
}
