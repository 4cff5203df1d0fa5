package probes

import (
	"encoding/json"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zcrypto/x509/pkix"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

func TestMatchHost(t *testing.T) {
	cert := &zx509.Certificate{
		Subject:     pkix.Name{CommonName: "cn.example.test"},
		DNSNames:    []string{"www.example.test", "*.wild.example.test", "f*.partial.example.test", "*", "Upper.Example.TEST."},
		IPAddresses: []net.IP{net.ParseIP("192.0.2.7"), net.ParseIP("2001:db8::1")},
	}
	tests := []struct{ host, want string }{
		{"www.example.test", "www.example.test"},
		{"WWW.Example.Test", "www.example.test"},
		{"www.example.test.", "www.example.test"},
		{"upper.example.test", "Upper.Example.TEST."},
		{"a.wild.example.test", "*.wild.example.test"},
		{"a.b.wild.example.test", ""},    // a wildcard stands for one label
		{"wild.example.test", ""},        // and not for none
		{"foo.partial.example.test", ""}, // partial wildcards are not honoured
		{"localhost", ""},                // a bare "*" matches nothing
		{"cn.example.test", ""},          // the common name is ignored
		{"example.test", ""},
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"192.0.2.8", ""},
		{"", ""},
	}
	for _, tc := range tests {
		if got := matchHost(cert, tc.host); got != tc.want {
			t.Errorf("matchHost(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
	dnsIP := &zx509.Certificate{DNSNames: []string{"127.0.0.1"}}
	if got := matchHost(dnsIP, "127.0.0.1"); got != "" {
		t.Errorf("an IP literal matched DNS SAN %q; only IP SANs may match it", got)
	}
}

func TestCountSCTs(t *testing.T) {
	tests := []struct {
		name    string
		list    []byte
		want    int
		wantErr bool
	}{
		{"two", []byte{0, 7, 0, 2, 0xaa, 0xbb, 0, 1, 0xcc}, 2, false},
		{"empty list", []byte{0, 0}, 0, false},
		{"too short", []byte{0}, 0, true},
		{"length mismatch", []byte{0, 9, 0, 2, 0xaa, 0xbb}, 0, true},
		{"entry overruns", []byte{0, 4, 0, 9, 0xaa, 0xbb}, 0, true},
		{"empty entry", []byte{0, 2, 0, 0}, 0, true},
		{"dangling byte", []byte{0, 4, 0, 1, 0xaa, 0}, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := countSCTs(tc.list)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("countSCTs = %d, %v; want %d, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// testRoots returns a trust store holding the CA.
func testRoots(t testing.TB, ca *tlstest.CA) *rootStore {
	t.Helper()
	s := newRootStore([][]byte{ca.DER})
	if s.Len() != 1 {
		t.Fatalf("the CA is not in its trust store")
	}
	return s
}

func TestCertFactsWithoutNetwork(t *testing.T) {
	now := time.Now()
	ca := tlstest.NewCA(t, "Test CA")
	leaf := ca.Issue(t, tlstest.CertSpec{})
	roots := testRoots(t, ca)

	t.Run("no certificate", func(t *testing.T) {
		got, err := certFacts(nil, nil, nil, "localhost", roots, now)
		var pe *tlswarden.ProtocolError
		if got != nil || !errors.As(err, &pe) {
			t.Errorf("got (%v, %v), want (nil, ProtocolError)", got, err)
		}
	})
	t.Run("garbage after the leaf", func(t *testing.T) {
		junk := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
		got, err := certFacts([][]byte{leaf.DER, junk}, nil, nil, "localhost", roots, now)
		var pe *tlswarden.ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("error %v, want a ProtocolError", err)
		}
		want := [6]any{2, len(leaf.DER) + len(junk), true, false, true, true}
		gotFacts := [6]any{len(got.Chain), got.ChainBytes, got.Chain[1].ParseError != "", got.ChainOrderCorrect, got.Trusted, got.HostnameMatches}
		if diff := cmp.Diff(want, gotFacts); diff != "" {
			t.Errorf("(examined, bytes, parse error, ordered, trusted, hostname) (-want +got):\n%s", diff)
		}
	})
	t.Run("system roots when none are given", func(t *testing.T) {
		got, err := certFacts([][]byte{leaf.DER}, nil, nil, "localhost", nil, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.Trusted || got.ChainComplete || got.VerificationError == "" {
			t.Errorf("a test CA's leaf verified against the system roots: %+v", got)
		}
	})
}

// FuzzCertFacts feeds arbitrary bytes to the pure half as a two-certificate
// chain with an OCSP staple: it must describe both entries and never panic.
// zlint is left out (see deriveCertFacts); it recovers its lints' panics
// itself.
func FuzzCertFacts(f *testing.F) {
	ca := tlstest.NewCA(f, "Fuzz CA")
	leaf := ca.Issue(f, tlstest.CertSpec{})
	f.Add(leaf.DER, ca.DER, []byte(nil))
	f.Add([]byte("garbage"), leaf.DER, []byte{0x30, 0x03, 0x0a, 0x01, 0x00})
	f.Add(leaf.DER[:len(leaf.DER)/2], []byte{}, []byte{0x30, 0x80})
	roots := testRoots(f, ca)
	now := time.Now()
	f.Fuzz(func(t *testing.T, first, second, staple []byte) {
		got, err := deriveCertFacts([][]byte{first, second}, staple, [][]byte{second}, "localhost", roots, now, nil)
		if got == nil {
			t.Fatalf("no result (error %v)", err)
		}
		if len(got.Chain) != 2 || got.ChainLength != 2 || got.ChainBytes != len(first)+len(second) {
			t.Fatalf("chain described as %d of %d certificates, %d bytes", len(got.Chain), got.ChainLength, got.ChainBytes)
		}
		if (got.Chain[0].ParseError != "" || got.Chain[1].ParseError != "") != (err != nil) {
			t.Fatalf("parse errors %q, %q but error %v", got.Chain[0].ParseError, got.Chain[1].ParseError, err)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
	})
}

// FuzzCertSCTList feeds arbitrary bytes to the SCT list counter.
func FuzzCertSCTList(f *testing.F) {
	f.Add([]byte{0, 7, 0, 2, 0xaa, 0xbb, 0, 1, 0xcc})
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, list []byte) {
		n, err := countSCTs(list)
		if n < 0 || n > maxSCTs || n > len(list)/3 {
			t.Fatalf("countSCTs = %d for %d bytes", n, len(list))
		}
		if err == nil && n > 0 && len(list) < 2+3*n {
			t.Fatalf("countSCTs = %d without error for %d bytes", n, len(list))
		}
	})
}
