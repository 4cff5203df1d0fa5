// Package iana holds the IANA TLS registries tlswarden tests against: every
// assigned cipher suite, with the properties a policy judges it by (key
// exchange, cipher, forward secrecy, weak classes), and the supported groups.
//
// The cipher suite list is cipher-suites.csv beside this file; the
// properties are derived from the IANA names, which encode them.
package iana

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed cipher-suites.csv
var suitesCSV string

// CipherSuite is one assigned cipher suite code point and what its name says.
type CipherSuite struct {
	Code uint16
	Name string
	// KeyExchange is the part before _WITH_ without the TLS_ prefix
	// ("ECDHE_RSA", "DH_anon", "RSA_EXPORT", ...); empty for TLS 1.3 suites.
	KeyExchange string
	// Cipher is the bulk cipher ("AES_128_GCM", "3DES_EDE_CBC", "NULL", ...).
	Cipher string
	// MAC is the hash named last ("SHA", "SHA256", "MD5", ...).
	MAC string
	// TLS13 marks suites that only TLS 1.3 negotiates.
	TLS13 bool
}

// Class flags a suite by what policies care about.
func (s CipherSuite) ForwardSecret() bool {
	return s.TLS13 || strings.HasPrefix(s.KeyExchange, "DHE_") || strings.HasPrefix(s.KeyExchange, "ECDHE_") ||
		s.KeyExchange == "PSK_DHE" || s.KeyExchange == "ECCPWD"
}

// Anonymous reports a key exchange without server authentication.
func (s CipherSuite) Anonymous() bool {
	return strings.Contains(s.KeyExchange, "anon") || s.KeyExchange == "NULL"
}

// Export reports a deliberately weakened export-grade suite.
func (s CipherSuite) Export() bool { return strings.Contains(s.Name, "EXPORT") }

// Null reports a suite that does not encrypt.
func (s CipherSuite) Null() bool { return s.Cipher == "NULL" || (s.TLS13 && s.Cipher == "") }

// RC4 reports a suite using the RC4 stream cipher.
func (s CipherSuite) RC4() bool { return strings.HasPrefix(s.Cipher, "RC4") }

// DES reports single DES (56-bit or 40-bit), not triple DES.
func (s CipherSuite) DES() bool { return strings.HasPrefix(s.Cipher, "DES") }

// TripleDES reports 3DES (Sweet32).
func (s CipherSuite) TripleDES() bool { return strings.HasPrefix(s.Cipher, "3DES") }

// CBC reports a block cipher in CBC mode.
func (s CipherSuite) CBC() bool {
	return strings.HasSuffix(s.Cipher, "_CBC") || strings.Contains(s.Cipher, "_CBC_")
}

// AEAD reports an authenticated-encryption cipher (GCM, CCM, ChaCha20-Poly1305, MGM).
func (s CipherSuite) AEAD() bool {
	c := s.Cipher
	return strings.Contains(c, "GCM") || strings.Contains(c, "CCM") || strings.Contains(c, "POLY1305") || strings.Contains(c, "MGM")
}

// Class returns the single worst class of the suite, in the order a policy
// would name it: "null", "anon", "export", "des", "rc4", "3des", "cbc",
// "aead", or "other".
func (s CipherSuite) Class() string {
	switch {
	case s.Null():
		return "null"
	case s.Anonymous():
		return "anon"
	case s.Export():
		return "export"
	case s.DES():
		return "des"
	case s.RC4():
		return "rc4"
	case s.TripleDES():
		return "3des"
	case s.CBC():
		return "cbc"
	case s.AEAD():
		return "aead"
	}
	return "other"
}

// Codes of the TLS 1.3 suites that are in the registry; the first five are
// the ones RFC 8446 defines.
var tls13Codes = []uint16{0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0x00C6, 0x00C7, 0xC0B4, 0xC0B5}

var loadSuites = sync.OnceValues(func() ([]CipherSuite, map[uint16]int) {
	r := csv.NewReader(strings.NewReader(suitesCSV))
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		panic(fmt.Sprintf("iana: embedded cipher-suites.csv: %v", err))
	}
	var list []CipherSuite
	index := make(map[uint16]int)
	for _, row := range rows[1:] {
		code, err := strconv.ParseUint(strings.TrimPrefix(row[0], "0x"), 16, 16)
		if err != nil {
			panic(fmt.Sprintf("iana: embedded cipher-suites.csv: bad code %q", row[0]))
		}
		s := parseSuiteName(uint16(code), row[1])
		index[s.Code] = len(list)
		list = append(list, s)
	}
	return list, index
})

func parseSuiteName(code uint16, name string) CipherSuite {
	s := CipherSuite{Code: code, Name: name, TLS13: slices.Contains(tls13Codes, code)}
	rest := strings.TrimPrefix(name, "TLS_")
	if kx, c, ok := strings.Cut(rest, "_WITH_"); ok {
		s.KeyExchange, rest = kx, c
	}
	if i := strings.LastIndexByte(rest, '_'); i >= 0 {
		s.Cipher, s.MAC = rest[:i], rest[i+1:]
	} else {
		s.Cipher = rest
	}
	if s.TLS13 && (code == 0xC0B4 || code == 0xC0B5) {
		s.Cipher = "NULL" // integrity-only suites of RFC 9150
	}
	// Names such as TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 have no MAC part.
	if s.MAC == "8" || s.MAC == "CCM" || s.MAC == "L" || s.MAC == "S" || s.MAC == "OMAC" || s.MAC == "IMIT" {
		s.Cipher, s.MAC = rest, ""
	}
	return s
}

// Suites returns every registered cipher suite in code point order. The
// slice is shared: do not modify it.
func Suites() []CipherSuite {
	list, _ := loadSuites()
	return list
}

// Suite returns the suite with the given code point.
func Suite(code uint16) (CipherSuite, bool) {
	list, index := loadSuites()
	i, ok := index[code]
	if !ok {
		return CipherSuite{}, false
	}
	return list[i], true
}

// SuiteName returns the IANA name of a code point, or "unknown_0xXXXX".
func SuiteName(code uint16) string {
	if s, ok := Suite(code); ok {
		return s.Name
	}
	return fmt.Sprintf("unknown_0x%04X", code)
}

// TLS12Suites returns the code points to offer in a TLS 1.2-or-older
// ClientHello: every registered suite that is not TLS 1.3-only.
func TLS12Suites() []uint16 {
	var out []uint16
	for _, s := range Suites() {
		if !s.TLS13 {
			out = append(out, s.Code)
		}
	}
	return out
}

// TLS13Suites returns the TLS 1.3 code points, the five of RFC 8446 first.
func TLS13Suites() []uint16 { return slices.Clone(tls13Codes) }
