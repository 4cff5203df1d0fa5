package probes

import (
	"cmp"
	"slices"
	"strings"
	"sync"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// The orders below are what the probe offers. They matter for a server that
// follows the client's order, and when suites go out in bundles: the suites
// and groups real clients use come first, so the first bundle holds them.

// legacySuiteOrder returns every TLS 1.2-or-older suite: forward-secret AEAD
// suites first, then forward-secret CBC, RSA key exchange, 3DES, and the
// rest of the registry, each class in code point order.
func legacySuiteOrder() []uint16 { return slices.Clone(legacySuites()) }

var legacySuites = sync.OnceValue(func() []uint16 {
	codes := iana.TLS12Suites()
	slices.SortStableFunc(codes, func(a, b uint16) int { return cmp.Compare(suiteRank(a), suiteRank(b)) })
	return codes
})

// suiteRank places a suite in the offer order.
func suiteRank(code uint16) int {
	s, _ := iana.Suite(code)
	fs := strings.HasPrefix(s.KeyExchange, "ECDHE_") || strings.HasPrefix(s.KeyExchange, "DHE_")
	ecdhe := strings.HasPrefix(s.KeyExchange, "ECDHE_")
	plainRSA := s.KeyExchange == "RSA"
	switch {
	case strings.Contains(s.KeyExchange, "PSK") || s.Export() || s.Null() || s.Anonymous():
		return 9
	case ecdhe && s.AEAD():
		return 0
	case fs && s.AEAD():
		return 1
	case ecdhe && s.CBC() && !s.TripleDES():
		return 2
	case fs && s.CBC() && !s.TripleDES():
		return 3
	case plainRSA && s.AEAD():
		return 4
	case plainRSA && s.CBC() && !s.TripleDES():
		return 5
	case s.TripleDES():
		return 6
	case s.RC4():
		return 7
	}
	return 8
}

// tls13SuiteOrder returns the TLS 1.3 suites, the five of RFC 8446 first.
func tls13SuiteOrder() []uint16 { return iana.TLS13Suites() }

// groupPriority lists the groups browsers offer, in their order; every
// other group follows in registry order.
var groupPriority = []uint16{0x11EC, 29, 23, 24, 25, 30, 0x11EB, 0x11ED, 256, 257, 258, 259, 260}

func byPriority(codes []uint16) []uint16 {
	rank := func(c uint16) int {
		if i := slices.Index(groupPriority, c); i >= 0 {
			return i
		}
		return len(groupPriority)
	}
	slices.SortStableFunc(codes, func(a, b uint16) int { return cmp.Compare(rank(a), rank(b)) })
	return codes
}

// tls13GroupOrder returns every group a TLS 1.3 key_share can name.
func tls13GroupOrder() []uint16 { return byPriority(iana.TLS13Groups()) }

// legacyGroupOrder returns the groups of TLS 1.2 and older: the elliptic
// curves, and with ffdhe the RFC 7919 finite-field groups too.
func legacyGroupOrder(ffdhe bool) []uint16 {
	return byPriority(slices.DeleteFunc(iana.TLS12Groups(), func(c uint16) bool { return !ffdhe && c >= 256 }))
}

// legacyHello returns a builder of ClientHellos at version v (TLS 1.2 or
// older) offering the given groups; SSLv3 hellos carry no extensions.
// The others ask for a stapled OCSP response and SCTs, as the certificate
// probe's handshake does, so that their flights hold what it reads
// (cert_flight.go).
func (r *tlsRun) legacyHello(v tlswarden.Version, groups []uint16) func(suites []uint16) *hello.ClientHello {
	return func(suites []uint16) *hello.ClientHello {
		h := &hello.ClientHello{
			Version:      uint16(v),
			CipherSuites: suites,
			ServerName:   r.ep.Host,
			Groups:       groups,
			NoExtensions: v == tlswarden.SSLv3,
		}
		if v != tlswarden.SSLv3 {
			h.Extra = certificateExtensions()
		}
		return h
	}
}

// tls13Hello returns a builder of TLS 1.3-only ClientHellos offering the
// given groups (nil: every TLS 1.3 group) and no key share.
func (r *tlsRun) tls13Hello(groups []uint16) func(suites []uint16) *hello.ClientHello {
	if groups == nil {
		groups = tls13GroupOrder()
	}
	return func(suites []uint16) *hello.ClientHello {
		return &hello.ClientHello{
			Version:           uint16(tlswarden.TLS12),
			SessionID:         make([]byte, 32),
			CipherSuites:      suites,
			ServerName:        r.ep.Host,
			Groups:            groups,
			SupportedVersions: []uint16{uint16(tlswarden.TLS13)},
		}
	}
}
