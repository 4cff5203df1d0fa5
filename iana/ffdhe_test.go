package iana

import (
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// rfc7919FFDHE2048 is the prime of ffdhe2048 as printed in RFC 7919,
// appendix A.1.
const rfc7919FFDHE2048 = "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1" +
	"D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9" +
	"7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD6561" +
	"2433F51F5F066ED0856365553DED1AF3B557135E7F57C935" +
	"984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE735" +
	"30ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB" +
	"B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB19" +
	"0B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61" +
	"9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD73" +
	"3BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA" +
	"886B423861285C97FFFFFFFFFFFFFFFF"

func TestFFDHEGroupRFCText(t *testing.T) {
	p, err := hex.DecodeString(rfc7919FFDHE2048)
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := FFDHEGroup(p); !ok || g != 256 {
		t.Errorf("FFDHEGroup(RFC 7919 A.1) = %d, %v; want 256 (ffdhe2048)", g, ok)
	}
	if g, ok := FFDHEGroup(append([]byte{0}, p...)); !ok || g != 256 {
		t.Errorf("with a leading zero byte: %d, %v", g, ok)
	}
	p[len(p)/2] ^= 1
	if g, ok := FFDHEGroup(p); ok {
		t.Errorf("a prime with one bit changed is group %d", g)
	}
	for _, bad := range [][]byte{nil, {0}, {0xff, 0xff}, make([]byte, 256)} {
		if g, ok := FFDHEGroup(bad); ok {
			t.Errorf("FFDHEGroup(%x...) = %d", bad[:min(len(bad), 4)], g)
		}
	}
}

// TestFFDHEGroupOpenSSL checks every computed prime against the one
// OpenSSL ships for the group.
func TestFFDHEGroupOpenSSL(t *testing.T) {
	tlstest.RequireBinary(t, "openssl")
	for _, g := range ffdheOffsets {
		name := GroupName(g.code)
		pem, err := exec.Command("openssl", "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:"+name).Output()
		if err != nil {
			t.Fatalf("openssl genpkey %s: %v", name, err)
		}
		cmd := exec.Command("openssl", "asn1parse")
		cmd.Stdin = strings.NewReader(string(pem))
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("openssl asn1parse %s: %v", name, err)
		}
		// The first INTEGER of DHParameter is the prime.
		var primeHex string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "INTEGER") {
				primeHex = strings.TrimSpace(line[strings.LastIndex(line, ":")+1:])
				break
			}
		}
		p, err := hex.DecodeString(primeHex)
		if err != nil || len(p) == 0 {
			t.Fatalf("%s: no prime in openssl's output %q", name, out)
		}
		if got, ok := FFDHEGroup(p); !ok || got != g.code {
			t.Errorf("OpenSSL's %s prime is group %d, %v; want %d", name, got, ok, g.code)
		}
	}
}

func BenchmarkFFDHEPrimes(b *testing.B) {
	for b.Loop() {
		for _, g := range ffdheOffsets {
			ffdhePrime(g.bits, g.x)
		}
	}
}
