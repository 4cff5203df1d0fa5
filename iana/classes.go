package iana

import (
	"strconv"
	"strings"
	"sync"
)

// KeyBits returns the effective key size of the suite's bulk cipher as
// rating guides count it: 0 for NULL, 40 for export ciphers, 56 for DES,
// 112 for triple DES (its strength against meet-in-the-middle), 128 or 256
// for AES, Camellia and ARIA by their names, 256 for ChaCha20 and GOST.
func (s CipherSuite) KeyBits() int {
	c := s.Cipher
	switch {
	case s.Null():
		return 0
	case strings.Contains(c, "40"):
		return 40
	case strings.HasPrefix(c, "DES_"):
		return 56
	case strings.HasPrefix(c, "3DES"):
		return 112
	case strings.HasPrefix(c, "CHACHA20"), strings.HasPrefix(c, "28147"),
		strings.HasPrefix(c, "MAGMA"), strings.HasPrefix(c, "KUZNYECHIK"):
		return 256
	case strings.Contains(c, "_256"):
		return 256
	}
	return 128 // AES_128, ARIA_128, CAMELLIA_128, RC4_128, IDEA, SEED, SM4
}

// Block64 reports a cipher with a 64-bit block (DES, 3DES, IDEA, RC2,
// Magma, GOST 28147), open to birthday attacks on long connections
// (Sweet32).
func (s CipherSuite) Block64() bool {
	for _, p := range []string{"DES", "3DES", "IDEA", "RC2", "MAGMA", "28147"} {
		if strings.HasPrefix(s.Cipher, p) {
			return true
		}
	}
	return false
}

// Bits returns the group's nominal size: the curve's field size for
// elliptic curves (256 for x25519, 448 for x448), the prime's size for
// finite-field groups, and the classical part's size for hybrids with
// ML-KEM. It returns 0 for a pure ML-KEM group, which has no such size.
func (g NamedGroup) Bits() int {
	n := strings.ToLower(g.Name)
	switch {
	case n == "x25519" || strings.HasPrefix(n, "x25519"):
		return 256
	case n == "x448":
		return 448
	case strings.HasPrefix(n, "curvesm2"), strings.HasPrefix(n, "gc256"):
		return 256
	case strings.HasPrefix(n, "gc512"):
		return 512
	case strings.HasPrefix(n, "mlkem"):
		return 0
	}
	return leadingNumber(strings.TrimLeft(n, "abcdefghijklmnopqrstuvwxyz"))
}

// FiniteField reports an RFC 7919 finite-field Diffie-Hellman group.
func (g NamedGroup) FiniteField() bool { return strings.HasPrefix(g.Name, "ffdhe") }

// Group returns the registered group with the given name, as GroupName
// spells it (in any case).
func Group(name string) (NamedGroup, bool) {
	if i, ok := groupByName()[name]; ok {
		return groups[i], true
	}
	for _, g := range groups {
		if strings.EqualFold(g.Name, name) {
			return g, true
		}
	}
	return NamedGroup{}, false
}

// groupByName indexes the registry by name as spelt there: the client
// simulation looks a group up for every suite it weighs, and the reports
// it reads name groups as GroupName spells them. No two names differ in
// case only (TestGroupNamesDifferBeyondCase), so the index finds what the
// case-blind loop would.
var groupByName = sync.OnceValue(func() map[string]int {
	m := make(map[string]int, len(groups))
	for i, g := range groups {
		m[g.Name] = i
	}
	return m
})

func leadingNumber(s string) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}
