package probes

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestTLSChainsOpenSSLDefaultSort checks the order found for openssl
// s_server in its own order with OpenSSL's default sort over many suites
// of every class (ECDHE and DHE interleaved by strength, anonymous
// suites, CCM, ARIA, Camellia) against OpenSSL's own list of the same
// cipher string, at TLS 1.2 and at TLS 1.0, and that the interleaved
// guess saved the merge: fewer connections than one hello per suite found
// and a half.
func TestTLSChainsOpenSSLDefaultSort(t *testing.T) {
	tlstest.RequireBinary(t, "openssl")
	const cipher = "ALL:!aECDSA:!aDSS:!PSK:!SRP:@SECLEVEL=0"
	for _, v := range []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS10} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{v}, Cipher: cipher, ServerPref: true})
			res, err := runTLS(t, addr, "localhost", TLSConfig{Versions: []tlswarden.Version{v}, NoGroups: true})
			if err != nil {
				t.Fatal(err)
			}
			got := version(res, v)
			want := opensslOrder(t, v, cipher)
			found := suiteCodes(got.Suites)
			if len(found) < len(want)*3/4 {
				t.Fatalf("found %d suites, OpenSSL lists %d: %v", len(found), len(want), found)
			}
			want = slices.DeleteFunc(want, func(c uint16) bool { return !slices.Contains(found, c) })
			if diff := cmp.Diff(want, found); diff != "" || got.Preference != tlswarden.PreferServer {
				t.Errorf("preference %q; order (-openssl +found):\n%s", got.Preference, diff)
			}
			if res.Connections*5 > len(found)*8 {
				t.Errorf("%d connections for %d suites: the order was merged a hello per suite", res.Connections, len(found))
			}
			t.Logf("%d suites, %d connections", len(found), res.Connections)
		})
	}
}

// opensslOrder is the order `openssl ciphers` gives cipher at version v.
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
			continue // TLS 1.3's suites
		}
		codes = append(codes, uint16(h<<8|l))
	}
	return codes
}
