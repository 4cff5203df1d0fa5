package iana

import (
	"strings"
	"testing"
)

func TestKeyBitsAndBlock64(t *testing.T) {
	tests := []struct {
		code    uint16
		bits    int
		block64 bool
	}{
		{0x0000, 0, false},   // TLS_NULL_WITH_NULL_NULL
		{0x0003, 40, false},  // TLS_RSA_EXPORT_WITH_RC4_40_MD5
		{0x0009, 56, true},   // TLS_RSA_WITH_DES_CBC_SHA
		{0x000A, 112, true},  // TLS_RSA_WITH_3DES_EDE_CBC_SHA
		{0x0005, 128, false}, // TLS_RSA_WITH_RC4_128_SHA
		{0x0007, 128, true},  // TLS_RSA_WITH_IDEA_CBC_SHA
		{0xC02F, 128, false}, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
		{0xC030, 256, false}, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
		{0xCCA8, 256, false}, // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
		{0x1301, 128, false}, // TLS_AES_128_GCM_SHA256
		{0x1303, 256, false}, // TLS_CHACHA20_POLY1305_SHA256
		{0xC0B4, 0, false},   // TLS_SHA256_SHA256 (integrity only)
	}
	for _, tc := range tests {
		s, ok := Suite(tc.code)
		if !ok {
			t.Fatalf("no suite 0x%04X", tc.code)
		}
		if s.KeyBits() != tc.bits || s.Block64() != tc.block64 {
			t.Errorf("%s: %d bits, 64-bit block %v; want %d, %v", s.Name, s.KeyBits(), s.Block64(), tc.bits, tc.block64)
		}
	}
}

func TestGroupBits(t *testing.T) {
	for name, want := range map[string]int{
		"x25519": 256, "x448": 448, "secp256r1": 256, "secp384r1": 384, "secp521r1": 521, "sect163k1": 163,
		"brainpoolP512r1": 512, "ffdhe2048": 2048, "X25519MLKEM768": 256, "SecP384r1MLKEM1024": 384, "MLKEM768": 0,
	} {
		g, ok := Group(name)
		if !ok {
			t.Fatalf("no group %s", name)
		}
		if g.Bits() != want {
			t.Errorf("%s: %d bits, want %d", name, g.Bits(), want)
		}
	}
	if g, _ := Group("ffdhe3072"); !g.FiniteField() {
		t.Errorf("ffdhe3072 not finite-field")
	}
}

// TestGroupNamesDifferBeyondCase guards Group's index by name: a name that
// differed from another in case only would make the index and the
// case-blind lookup disagree.
func TestGroupNamesDifferBeyondCase(t *testing.T) {
	seen := map[string]string{}
	for _, g := range Groups() {
		if other, ok := seen[strings.ToLower(g.Name)]; ok {
			t.Errorf("groups %q and %q differ in case only", other, g.Name)
		}
		seen[strings.ToLower(g.Name)] = g.Name
		if got, ok := Group(strings.ToUpper(g.Name)); !ok || got.Code != g.Code {
			t.Errorf("Group(%q) = %v, %v; want code %d", strings.ToUpper(g.Name), got.Code, ok, g.Code)
		}
	}
}

// BenchmarkGroup looks up groups by name as the client simulation does
// for each suite it weighs: the common curves and a finite-field group.
func BenchmarkGroup(b *testing.B) {
	for b.Loop() {
		for _, name := range []string{"x25519", "secp256r1", "secp384r1", "X25519MLKEM768", "ffdhe2048"} {
			if _, ok := Group(name); !ok {
				b.Fatal(name)
			}
		}
	}
}
