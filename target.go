package tlswarden

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ParseTarget reads "host", "host:port", "[v6]:port" or an IP literal. An
// internationalised name is converted to its A-label form; a malformed
// name or port gives a *ParseError saying what is wrong.
func ParseTarget(s string, defaultPort int) (Target, error) {
	in := s
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		return Target{}, &ParseError{Input: in, Msg: "want HOST[:PORT], not a URL"}
	}
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
