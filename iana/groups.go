package iana

import "fmt"

// NamedGroup is one entry of the IANA "TLS Supported Groups" registry.
type NamedGroup struct {
	Code uint16
	Name string
	// TLS13 marks groups usable in TLS 1.3 key_share; TLS12 marks groups a
	// TLS 1.2 ECDHE (or RFC 7919 FFDHE) key exchange can use.
	TLS13, TLS12 bool
	// Hybrid marks post-quantum hybrid and pure ML-KEM groups.
	PostQuantum bool
}

// groups follows the IANA registry (RFC 8422, 7919, 8446, 8734, 9189, 8998,
// and the ML-KEM drafts), plus the pre-standard Kyber code points still seen
// on servers.
var groups = []NamedGroup{
	{1, "sect163k1", false, true, false}, {2, "sect163r1", false, true, false}, {3, "sect163r2", false, true, false},
	{4, "sect193r1", false, true, false}, {5, "sect193r2", false, true, false}, {6, "sect233k1", false, true, false},
	{7, "sect233r1", false, true, false}, {8, "sect239k1", false, true, false}, {9, "sect283k1", false, true, false},
	{10, "sect283r1", false, true, false}, {11, "sect409k1", false, true, false}, {12, "sect409r1", false, true, false},
	{13, "sect571k1", false, true, false}, {14, "sect571r1", false, true, false},
	{15, "secp160k1", false, true, false}, {16, "secp160r1", false, true, false}, {17, "secp160r2", false, true, false},
	{18, "secp192k1", false, true, false}, {19, "secp192r1", false, true, false}, {20, "secp224k1", false, true, false},
	{21, "secp224r1", false, true, false}, {22, "secp256k1", false, true, false},
	{23, "secp256r1", true, true, false}, {24, "secp384r1", true, true, false}, {25, "secp521r1", true, true, false},
	{26, "brainpoolP256r1", false, true, false}, {27, "brainpoolP384r1", false, true, false}, {28, "brainpoolP512r1", false, true, false},
	{29, "x25519", true, true, false}, {30, "x448", true, true, false},
	{31, "brainpoolP256r1tls13", true, false, false}, {32, "brainpoolP384r1tls13", true, false, false}, {33, "brainpoolP512r1tls13", true, false, false},
	{34, "GC256A", true, false, false}, {35, "GC256B", true, false, false}, {36, "GC256C", true, false, false}, {37, "GC256D", true, false, false},
	{38, "GC512A", true, false, false}, {39, "GC512B", true, false, false}, {40, "GC512C", true, false, false},
	{41, "curveSM2", true, false, false},
	{256, "ffdhe2048", true, true, false}, {257, "ffdhe3072", true, true, false}, {258, "ffdhe4096", true, true, false},
	{259, "ffdhe6144", true, true, false}, {260, "ffdhe8192", true, true, false},
	{0x0200, "MLKEM512", true, false, true}, {0x0201, "MLKEM768", true, false, true}, {0x0202, "MLKEM1024", true, false, true},
	{0x11EB, "SecP256r1MLKEM768", true, false, true}, {0x11EC, "X25519MLKEM768", true, false, true},
	{0x11ED, "SecP384r1MLKEM1024", true, false, true}, {0x11EE, "curveSM2MLKEM768", true, false, true},
	{0x6399, "X25519Kyber768Draft00", true, false, true}, {0x639A, "SecP256r1Kyber768Draft00", true, false, true},
}

// Groups returns the registered groups in code point order. The slice is
// shared: do not modify it.
func Groups() []NamedGroup { return groups }

// GroupName returns the registry name of a group code point, or
// "unknown_0xXXXX".
func GroupName(code uint16) string {
	for _, g := range groups {
		if g.Code == code {
			return g.Name
		}
	}
	return fmt.Sprintf("unknown_0x%04X", code)
}

// TLS13Groups returns the code points to offer in a TLS 1.3 supported_groups
// extension.
func TLS13Groups() []uint16 { return codes(func(g NamedGroup) bool { return g.TLS13 }) }

// TLS12Groups returns the code points to offer with TLS 1.2 ECDHE/FFDHE suites.
func TLS12Groups() []uint16 { return codes(func(g NamedGroup) bool { return g.TLS12 }) }

func codes(keep func(NamedGroup) bool) []uint16 {
	var out []uint16
	for _, g := range groups {
		if keep(g) {
			out = append(out, g.Code)
		}
	}
	return out
}
