package tlswarden

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ParseTarget reads "host", "host:port", "[v6]:port", an IP literal, or
// any of these after a kind's URL scheme ("smtp://mx.example.org",
// "tls://host:8443"). Without a scheme the kind is https, or the kind
// whose well-known port is given; defaultPort applies to a bare name. An
// internationalised name is converted to its A-label form; a malformed
// name, port or scheme gives a *ParseError saying what is wrong.
func ParseTarget(s string, defaultPort int) (Target, error) {
	t, _, err := ParseTargetSpec(s, defaultPort)
	return t, err
}

// KindSource says how ParseTargetSpec chose a target's kind.
type KindSource string

const (
	KindDefault    KindSource = "default" // a bare name: https
	KindFromScheme KindSource = "scheme"  // the URL scheme named it
	KindFromPort   KindSource = "port"    // a bare host:port on a kind's well-known port
)

// ParseTargetSpec is ParseTarget, also saying where the kind came from, so
// that a command can tell the user when a port chose it.
func ParseTargetSpec(s string, defaultPort int) (Target, KindSource, error) {
	in := s
	s = strings.TrimSpace(s)
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		t, err := parseHostPort(in, s, defaultPort)
		if err != nil {
			return Target{}, "", err
		}
		if k, ok := KindOfPort(t.Port); ok && t.Port != defaultPort {
			t.Kind = k
			return t, KindFromPort, nil
		}
		return t, KindDefault, nil
	}
	kind, err := ParseKind(scheme)
	if err != nil {
		return Target{}, "", &ParseError{Input: in, Msg: "unknown URL scheme " + quote(scheme) + " (known: " + kindNames() + ")"}
	}
	t, err := parseSchemeRest(in, rest, kind)
	return t, KindFromScheme, err
}

// parseSchemeRest reads what follows kind:// : host[:port], with at most a
// trailing slash. tls:// has no port of its own, so it needs one.
func parseSchemeRest(in, rest string, kind Kind) (Target, error) {
	rest = strings.TrimSuffix(rest, "/")
	if strings.ContainsAny(rest, "/?#@") {
		return Target{}, &ParseError{Input: in, Msg: "want KIND://HOST[:PORT], without a path, query or user"}
	}
	info, _ := kind.Info()
	t, err := parseHostPort(in, rest, info.Port)
	if err != nil {
		return Target{}, err
	}
	if t.Port == 0 {
		return Target{}, &ParseError{Input: in, Msg: string(kind) + ":// has no default port: give one"}
	}
	if kind == KindMail && t.IsIP() {
		return Target{}, &ParseError{Input: in, Msg: "mail:// names a mail domain, not an address"}
	}
	t.Kind = kind
	return t, nil
}

// parseHostPort reads host, host:port, [v6]:port or an IP literal, as a
// target of kind https.
func parseHostPort(in, s string, defaultPort int) (Target, error) {
	host, port := s, defaultPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 1 || n > 65535 {
			return Target{}, &ParseError{Input: in, Msg: "port must be a number from 1 to 65535"}
		}
		host, port = h, n
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return Target{}, &ParseError{Input: in, Msg: "IPv6 zones are not supported"}
		}
		return Target{Host: a.Unmap().String(), Port: port, Kind: KindHTTPS}, nil
	}
	name, err := NormalizeHostname(host)
	if err != nil {
		return Target{}, &ParseError{Input: in, Msg: err.(*ParseError).Msg}
	}
	return Target{Host: name, Port: port, Kind: KindHTTPS}, nil
}

// NormalizeHostname returns the lower-case A-label form of a DNS name, without
// a trailing dot, or a *ParseError naming the rule it breaks.
func NormalizeHostname(name string) (string, error) {
	fail := func(msg string) (string, error) { return "", &ParseError{Input: name, Msg: msg} }
	n := strings.TrimSuffix(name, ".")
	if n == "" {
		return fail("empty hostname")
	}
	if !utf8.ValidString(n) {
		return fail("hostname is not valid UTF-8")
	}
	ascii, err := idna.Lookup.ToASCII(n)
	if err == nil && hasPunycodeLabel(ascii) {
		// Lookup.ToASCII passes through A-labels it would not produce; a
		// name must survive the round trip to Unicode and back.
		_, err = idna.Lookup.ToUnicode(ascii)
	}
	if err != nil {
		// Names such as _acme-challenge or internal names with underscores
		// are not valid IDNA; accept them when they are plain ASCII.
		if !isASCII(n) || hasPunycodeLabel(n) {
			return fail("invalid internationalised hostname (" + err.Error() + ")")
		}
		ascii = strings.ToLower(n)
	}
	if len(ascii) > 253 {
		return fail("hostname longer than 253 characters")
	}
	for _, label := range strings.Split(ascii, ".") {
		if msg := checkLabel(label); msg != "" {
			return fail(msg)
		}
	}
	return ascii, nil
}

func checkLabel(l string) string {
	switch {
	case l == "":
		return "hostname has an empty label"
	case len(l) > 63:
		return "hostname label longer than 63 characters"
	case l[0] == '-' || l[len(l)-1] == '-':
		return "hostname label starts or ends with a hyphen"
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "hostname contains " + strconv.QuoteRune(rune(c)) + ", not a letter, digit or hyphen"
		}
	}
	return ""
}

func hasPunycodeLabel(name string) bool {
	for _, l := range strings.Split(strings.ToLower(name), ".") {
		if strings.HasPrefix(l, "xn--") {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func quote(s string) string { return strconv.Quote(s) }
