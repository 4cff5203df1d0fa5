package hello

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tlswarden/tlswarden/iana"
)

// The per-connection work of the TLS and certificate probes that is ours
// and not the kernel's: writing a hello and reading the server's flight.
// Compare runs with benchstat (README, "CPU per connection").

// BenchmarkClientHello marshals the hellos the suite enumeration sends:
// every TLS 1.2-or-older suite with the groups (the first hello of a
// chain), and a TLS 1.3 offer.
func BenchmarkClientHello(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    ClientHello
	}{
		{"tls12-all", ClientHello{Version: 0x0303, CipherSuites: iana.TLS12Suites()[:128], ServerName: "www.example.com", Groups: iana.TLS12Groups()}},
		{"tls12-few", ClientHello{Version: 0x0303, CipherSuites: []uint16{0xC02F, 0xC030, 0x009E}, ServerName: "www.example.com", Groups: []uint16{29, 23, 24}}},
		{"tls13", ClientHello{Version: 0x0303, SessionID: make([]byte, 32), CipherSuites: iana.TLS13Suites(), ServerName: "www.example.com",
			Groups: iana.TLS13Groups(), SupportedVersions: []uint16{0x0304}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.h.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCertificateHello prepares and marshals the certificate probe's
// chain hellos: a TLS 1.3 offer (with its key shares) and a TLS 1.2 one.
func BenchmarkCertificateHello(b *testing.B) {
	for _, bc := range []struct {
		name string
		h    ClientHello
	}{
		{"tls13", ClientHello{Version: 0x0303, CipherSuites: TLS13CertificateSuites(), ServerName: "www.example.com",
			SignatureSchemes: []uint16{0x0403, 0x0503}, SupportedVersions: []uint16{0x0304}}},
		{"tls12", ClientHello{Version: 0x0303, CipherSuites: []uint16{0xC02B, 0xC02F, 0x009C}, ServerName: "www.example.com",
			SignatureSchemes: []uint16{0x0804, 0x0401}, Groups: []uint16{29, 23}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ch, err := NewCertificateHello(bc.h)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := ch.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadServerFlight reads captured server flights (testdata/flights)
// up to the ServerKeyExchange, as the group enumeration does.
func BenchmarkReadServerFlight(b *testing.B) {
	for _, name := range []string{"tls12-ecdhe-rsa", "tls13-hrr"} {
		data, err := os.ReadFile(filepath.Join("testdata", "flights", name+".bin"))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ReadServerFlight(bytes.NewReader(data), ReadOptions{KeyExchange: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
