package iana

import "testing"

func TestSuitesParsed(t *testing.T) {
	if n := len(Suites()); n != 349 {
		t.Fatalf("Suites() has %d entries, want 349", n)
	}
	tests := []struct {
		code                   uint16
		kx, cipher, mac, class string
		fs, tls13              bool
	}{
		{0x0004, "RSA", "RC4_128", "MD5", "rc4", false, false},
		{0x000A, "RSA", "3DES_EDE_CBC", "SHA", "3des", false, false},
		{0x0003, "RSA_EXPORT", "RC4_40", "MD5", "export", false, false},
		{0x0018, "DH_anon", "RC4_128", "MD5", "anon", false, false},
		{0x0001, "RSA", "NULL", "MD5", "null", false, false},
		{0x0009, "RSA", "DES_CBC", "SHA", "des", false, false},
		{0xC02F, "ECDHE_RSA", "AES_128_GCM", "SHA256", "aead", true, false},
		{0xC013, "ECDHE_RSA", "AES_128_CBC", "SHA", "cbc", true, false},
		{0xCCA8, "ECDHE_RSA", "CHACHA20_POLY1305", "SHA256", "aead", true, false},
		{0xC0AC, "ECDHE_ECDSA", "AES_128_CCM", "", "aead", true, false},
		{0x1301, "", "AES_128_GCM", "SHA256", "aead", true, true},
		{0xC0B4, "", "NULL", "SHA256", "null", true, true},
	}
	for _, tt := range tests {
		s, ok := Suite(tt.code)
		if !ok {
			t.Fatalf("Suite(0x%04X) missing", tt.code)
		}
		if s.KeyExchange != tt.kx || s.Cipher != tt.cipher || s.MAC != tt.mac || s.Class() != tt.class ||
			s.ForwardSecret() != tt.fs || s.TLS13 != tt.tls13 {
			t.Errorf("%s: got kx=%q cipher=%q mac=%q class=%q fs=%v tls13=%v", s.Name,
				s.KeyExchange, s.Cipher, s.MAC, s.Class(), s.ForwardSecret(), s.TLS13)
		}
	}
	if got := SuiteName(0xFFFE); got != "unknown_0xFFFE" {
		t.Errorf("SuiteName(unassigned) = %q", got)
	}
	if n := len(TLS12Suites()) + len(TLS13Suites()); n != 349 {
		t.Errorf("TLS12Suites+TLS13Suites = %d, want 349", n)
	}
}

func TestGroups(t *testing.T) {
	if GroupName(29) != "x25519" || GroupName(0x11EC) != "X25519MLKEM768" || GroupName(257) != "ffdhe3072" {
		t.Error("group names wrong")
	}
	for _, c := range TLS13Groups() {
		if c >= 1 && c <= 22 {
			t.Errorf("legacy curve %d offered for TLS 1.3", c)
		}
	}
}
