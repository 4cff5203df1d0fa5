package probes

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestCompareStrengthIsOpenSSLSort checks the interleaved guess's key
// against OpenSSL's own default sort: inside each class group (the order
// of the groups is checked by the border pairs), OpenSSL's list for
// "ALL" and "HIGH" at TLS 1.0 and 1.2 is sorted by compareStrength
// already, and no two of its neighbours tie but DHE_DSS and DHE_RSA
// suites (which no server has certificates for both of).
func TestCompareStrengthIsOpenSSLSort(t *testing.T) {
	tlstest.RequireBinary(t, "openssl")
	for _, cipher := range []string{"ALL:!PSK:!SRP:@SECLEVEL=0", "ALL:!aECDSA:!aDSS:!PSK:!SRP:@SECLEVEL=0", "HIGH:@SECLEVEL=0"} {
		for _, v := range []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS12} {
			byGroup := map[int][]uint16{}
			for _, c := range opensslOrder(t, v, cipher) {
				g := classGroup(c)
				byGroup[g] = append(byGroup[g], c)
			}
			for g, codes := range byGroup {
				sorted := slices.Clone(codes)
				slices.SortStableFunc(sorted, compareStrength)
				if !slices.Equal(sorted, codes) {
					t.Errorf("%s %s group %d: OpenSSL's order\n%s\nsorted by compareStrength\n%s", cipher, v, g, names(codes), names(sorted))
				}
				for i := 1; i < len(codes); i++ {
					if compareStrength(codes[i-1], codes[i]) == 0 && !dhe(codes[i-1], codes[i]) {
						t.Errorf("%s %s: compareStrength does not order %s and %s", cipher, v, iana.SuiteName(codes[i-1]), iana.SuiteName(codes[i]))
					}
				}
			}
		}
	}
}

// dhe reports two finite-field DHE suites.
func dhe(a, b uint16) bool {
	sa, _ := iana.Suite(a)
	sb, _ := iana.Suite(b)
	return strings.HasPrefix(sa.KeyExchange, "DHE_") && strings.HasPrefix(sb.KeyExchange, "DHE_")
}

func names(codes []uint16) string {
	var s string
	for _, c := range codes {
		s += "  " + iana.SuiteName(c) + "\n"
	}
	return s
}

// opensslOrder is the order `openssl ciphers` gives cipher at version v,
// without TLS 1.3's suites.
func opensslOrder(t *testing.T, v tlswarden.Version, cipher string) []uint16 {
	t.Helper()
	flag := map[tlswarden.Version]string{tlswarden.TLS10: "-tls1", tlswarden.TLS11: "-tls1_1", tlswarden.TLS12: "-tls1_2"}[v]
	out, err := exec.Command("openssl", "ciphers", "-V", "-s", flag, cipher).Output()
	if err != nil {
		t.Fatalf("openssl ciphers: %v", err)
	}
	var codes []uint16
	for line := range strings.Lines(string(out)) {
		hex, _, ok := strings.Cut(strings.TrimSpace(line), " ")
		hi, lo, ok2 := strings.Cut(hex, ",")
		if !ok || !ok2 {
			continue
		}
		h, err1 := strconv.ParseUint(hi, 0, 8)
		l, err2 := strconv.ParseUint(lo, 0, 8)
		if err1 != nil || err2 != nil || h == 0x13 {
			continue
		}
		codes = append(codes, uint16(h<<8|l))
	}
	if len(codes) == 0 {
		t.Fatalf("openssl ciphers %s %s: no suites", flag, cipher)
	}
	return codes
}
