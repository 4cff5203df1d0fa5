package hello

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

// Builders of server flights for the tests.

func hs(typ uint8, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

func rec(typ uint8, payload []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}, payload...)
}

func ext(typ uint16, data ...byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ), byte(len(data) >> 8), byte(len(data))}, data...)
}

// serverHello returns a ServerHello body; exts nil means no extensions
// block at all.
func serverHello(version, suite uint16, random [32]byte, exts ...[]byte) []byte {
	b := append([]byte{byte(version >> 8), byte(version)}, random[:]...)
	b = append(b, 0, byte(suite>>8), byte(suite), 0)
	if exts == nil {
		return b
	}
	all := bytes.Join(exts, nil)
	return append(append(b, byte(len(all)>>8), byte(len(all))), all...)
}

var plainRandom = [32]byte{1, 2, 3}

// ecdheSKE returns a ServerKeyExchange body for a named curve.
func ecdheSKE(curve uint16) []byte {
	return append([]byte{3, byte(curve >> 8), byte(curve), 4, 9, 9, 9, 9}, 0x04, 0x01, 0, 2, 0xAA, 0xBB)
}

// dheSKE returns a ServerKeyExchange body with a prime of the given bytes.
func dheSKE(p []byte) []byte {
	b := append([]byte{byte(len(p) >> 8), byte(len(p))}, p...)
	return append(b, 0, 1, 2, 0, 1, 5)
}

func TestReadServerFlight(t *testing.T) {
	shTLS12 := hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom, ext(extRenegotiationInfo, 0)))
	prime2048 := append([]byte{0x00, 0xFF}, bytes.Repeat([]byte{0xAB}, 255)...) // leading zero byte, 2048 bits
	cert := hs(typeCertificate, bytes.Repeat([]byte{0x30}, 3000))
	tests := []struct {
		name  string
		in    []byte
		opts  ReadOptions
		want  *ServerHello
		kx    *KeyExchange
		bytes int
	}{
		{
			name: "tls12 alone",
			in:   rec(recordHandshake, shTLS12),
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0xC02F, Extensions: []uint16{extRenegotiationInfo}},
		},
		{
			name: "sslv3 without extensions block",
			in:   rec(recordHandshake, hs(typeServerHello, serverHello(0x0300, 0x000A, plainRandom))),
			want: &ServerHello{Version: 0x0300, LegacyVersion: 0x0300, Random: plainRandom, CipherSuite: 0x000A},
		},
		{
			name: "hello retry request",
			in: rec(recordHandshake, hs(typeServerHello, serverHello(0x0303, 0x1301, helloRetryRandom,
				ext(extSupportedVersions, 3, 4), ext(extKeyShare, 0x11, 0xEC)))),
			want: &ServerHello{Version: 0x0304, LegacyVersion: 0x0303, Random: helloRetryRandom, CipherSuite: 0x1301,
				HelloRetryRequest: true, SupportedVersion: 0x0304, KeyShareGroup: 0x11EC, Extensions: []uint16{extSupportedVersions, extKeyShare}},
		},
		{
			name: "tls13 server hello with a share",
			in: rec(recordHandshake, hs(typeServerHello, serverHello(0x0303, 0x1302, plainRandom,
				ext(extKeyShare, 0, 29, 0, 2, 0xAA, 0xBB), ext(extSupportedVersions, 3, 4)))),
			want: &ServerHello{Version: 0x0304, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0x1302,
				SupportedVersion: 0x0304, KeyShareGroup: 29, Extensions: []uint16{extKeyShare, extSupportedVersions}},
		},
		{
			name: "split over three records, warning unrecognized_name first",
			in: bytes.Join([][]byte{rec(recordAlert, []byte{1, 112}), rec(recordHandshake, shTLS12[:3]),
				rec(recordHandshake, shTLS12[3:40]), rec(recordHandshake, shTLS12[40:])}, nil),
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0xC02F, Extensions: []uint16{extRenegotiationInfo}},
		},
		{
			name: "ecdhe key exchange, messages packed and split",
			in: bytes.Join([][]byte{rec(recordHandshake, append(shTLS12, cert[:100]...)), rec(recordHandshake, cert[100:]),
				rec(recordHandshake, bytes.Join([][]byte{hs(typeCertificateStatus, []byte{1, 0, 0, 1, 0}), hs(typeServerKeyExchange, ecdheSKE(24)), hs(typeServerHelloDone, nil)}, nil))}, nil),
			opts: ReadOptions{KeyExchange: true},
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0xC02F, Extensions: []uint16{extRenegotiationInfo}},
			kx:   &KeyExchange{CurveType: 3, Curve: 24},
		},
		{
			name: "dhe key exchange",
			in: rec(recordHandshake, append(hs(typeServerHello, serverHello(0x0303, 0x009E, plainRandom)),
				hs(typeServerKeyExchange, dheSKE(prime2048))...)),
			opts: ReadOptions{KeyExchange: true},
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0x009E},
			kx:   &KeyExchange{DHBits: 2048, DHPrime: prime2048},
		},
		{
			name: "dhe psk key exchange skips the hint",
			in: rec(recordHandshake, append(hs(typeServerHello, serverHello(0x0303, 0x00AA, plainRandom)),
				hs(typeServerKeyExchange, append([]byte{0, 3, 'a', 'b', 'c'}, dheSKE([]byte{0x7F, 1})...))...)),
			opts: ReadOptions{KeyExchange: true},
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0x00AA},
			kx:   &KeyExchange{DHBits: 15, DHPrime: []byte{0x7F, 1}},
		},
		{
			name: "explicit curve",
			in:   rec(recordHandshake, append(shTLS12, hs(typeServerKeyExchange, []byte{1, 0, 5, 1, 2, 3, 4, 5})...)),
			opts: ReadOptions{KeyExchange: true},
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0xC02F, Extensions: []uint16{extRenegotiationInfo}},
			kx:   &KeyExchange{CurveType: 1},
		},
		{
			name: "rsa key exchange stops at the server hello",
			in:   rec(recordHandshake, append(hs(typeServerHello, serverHello(0x0303, 0x002F, plainRandom)), 0xFF, 0xFF)),
			opts: ReadOptions{KeyExchange: true},
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0x002F},
		},
		{
			name: "ecdhe suite, done without key exchange",
			in:   rec(recordHandshake, append(append(shTLS12, cert...), hs(typeServerHelloDone, nil)...)),
			opts: ReadOptions{KeyExchange: true},
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0xC02F, Extensions: []uint16{extRenegotiationInfo}},
		},
		{
			name: "hello request ignored",
			in:   rec(recordHandshake, append(hs(typeHelloRequest, nil), shTLS12...)),
			want: &ServerHello{Version: 0x0303, LegacyVersion: 0x0303, Random: plainRandom, CipherSuite: 0xC02F, Extensions: []uint16{extRenegotiationInfo}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadServerFlight(bytes.NewReader(tt.in), tt.opts)
			if err != nil {
				t.Fatalf("ReadServerFlight: %v", err)
			}
			if diff := cmp.Diff(tt.want, f.ServerHello); diff != "" {
				t.Errorf("ServerHello (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.kx, f.KeyExchange); diff != "" {
				t.Errorf("KeyExchange (-want +got):\n%s", diff)
			}
			if f.Bytes == 0 || f.Bytes > len(tt.in) {
				t.Errorf("Bytes = %d of %d", f.Bytes, len(tt.in))
			}
		})
	}
}

func TestReadServerFlightErrors(t *testing.T) {
	shTLS12 := hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom, ext(extRenegotiationInfo, 0)))
	sh := func(body []byte) []byte { return rec(recordHandshake, hs(typeServerHello, body)) }
	protocol := func(substr string) func(t *testing.T, f *Flight, err error) {
		return func(t *testing.T, f *Flight, err error) {
			t.Helper()
			var pe *tlswarden.ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), substr) {
				t.Errorf("err = %v, want a protocol error containing %q", err, substr)
			}
		}
	}
	tests := []struct {
		name  string
		in    []byte
		opts  ReadOptions
		check func(t *testing.T, f *Flight, err error)
	}{
		{"closed at once", nil, ReadOptions{}, func(t *testing.T, f *Flight, err error) {
			if !errors.Is(err, io.EOF) || f.Bytes != 0 {
				t.Errorf("err = %v, bytes %d; want io.EOF and 0", err, f.Bytes)
			}
		}},
		{"fatal alert", rec(recordAlert, []byte{2, 40}), ReadOptions{}, func(t *testing.T, f *Flight, err error) {
			var ae *AlertError
			if !errors.As(err, &ae) || ae.Name() != "handshake_failure" || ae.Level != AlertFatal || err.Error() != "tls alert: fatal handshake_failure (40)" {
				t.Errorf("err = %v, want a fatal handshake_failure alert", err)
			}
		}},
		{"unknown alert", rec(recordAlert, []byte{2, 250}), ReadOptions{}, func(t *testing.T, f *Flight, err error) {
			if err == nil || !strings.Contains(err.Error(), "alert_250") {
				t.Errorf("err = %v, want alert_250", err)
			}
		}},
		{"alert after the server hello keeps the hello", append(rec(recordHandshake, shTLS12), rec(recordAlert, []byte{2, 80})...), ReadOptions{KeyExchange: true},
			func(t *testing.T, f *Flight, err error) {
				var ae *AlertError
				if f.ServerHello == nil || f.ServerHello.CipherSuite != 0xC02F || !errors.As(err, &ae) {
					t.Errorf("got %+v, %v; want the ServerHello and an alert", f.ServerHello, err)
				}
			}},
		{"eof mid record", rec(recordHandshake, shTLS12)[:20], ReadOptions{}, protocol("connection closed after 20 bytes")},
		{"eof mid header", []byte{22, 3}, ReadOptions{}, protocol("connection closed after 2 bytes")},
		{"eof between records of one message", rec(recordHandshake, shTLS12[:10]), ReadOptions{}, protocol("connection closed after 15 bytes")},
		{"plaintext http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), ReadOptions{}, protocol(`plaintext, not TLS: "HTTP/"`)},
		{"sslv2 record", []byte{0x80, 0x2e, 4, 0, 1, 0, 2}, ReadOptions{}, protocol("SSLv2 record format")},
		{"bad content type", rec(99, []byte{1, 2}), ReadOptions{}, protocol("not a TLS record header")},
		{"bad major version", []byte{22, 4, 1, 0, 4, 1, 2, 3, 4}, ReadOptions{}, protocol("not a TLS record header")},
		{"record too long", []byte{22, 3, 3, 0xFF, 0xFF}, ReadOptions{}, protocol("exceeds the TLS maximum")},
		{"empty handshake record", rec(recordHandshake, nil), ReadOptions{}, protocol("empty record")},
		{"change cipher spec first", rec(recordChangeCipherSpec, []byte{1}), ReadOptions{}, protocol("change_cipher_spec before the ServerHello")},
		{"application data", rec(recordApplicationData, []byte{1}), ReadOptions{}, protocol("application_data")},
		{"short alert", rec(recordAlert, []byte{2}), ReadOptions{}, protocol("alert record of 1 bytes")},
		{"message over the cap", rec(recordHandshake, []byte{2, 0x10, 0, 0}), ReadOptions{MaxBytes: 4096}, protocol("exceeds the 4096-byte limit")},
		{"flight over the cap", bytes.Repeat(rec(recordHandshake, []byte{11, 0, 0x3F, 0xFF}), 1), ReadOptions{MaxBytes: 8}, protocol("more than 8 bytes")},
		{"not a server hello first", rec(recordHandshake, hs(typeCertificate, []byte{0, 0, 0})), ReadOptions{}, protocol("expected a ServerHello, got handshake message type 11")},
		{"session id runs past the end", sh(append(append([]byte{3, 3}, make([]byte, 32)...), 200, 0xC0, 0x2F, 0)), ReadOptions{}, protocol("truncated")},
		{"session id over 32", sh(append(append(append([]byte{3, 3}, make([]byte, 32)...), 33), append(make([]byte, 33), 0xC0, 0x2F, 0)...)), ReadOptions{}, protocol("session id of 33 bytes")},
		{"extensions length too long", sh(append(serverHello(0x0303, 0xC02F, plainRandom), 0x10, 0)), ReadOptions{}, protocol("extensions length")},
		{"trailing byte after extensions", sh(append(serverHello(0x0303, 0xC02F, plainRandom, ext(extRenegotiationInfo, 0)), 0)), ReadOptions{}, protocol("extensions length")},
		{"one stray byte after compression", sh(append(serverHello(0x0303, 0xC02F, plainRandom), 0)), ReadOptions{}, protocol("extensions length")},
		{"extension data runs past the end", sh(serverHello(0x0303, 0xC02F, plainRandom, []byte{0xFF, 0x01, 0, 9, 0})), ReadOptions{}, protocol("extension block is malformed")},
		{"repeated extension", sh(serverHello(0x0303, 0xC02F, plainRandom, ext(extRenegotiationInfo, 0), ext(extRenegotiationInfo, 0))), ReadOptions{}, protocol("repeats extension")},
		{"supported_versions too long", sh(serverHello(0x0303, 0x1301, plainRandom, ext(extSupportedVersions, 3, 4, 0))), ReadOptions{}, protocol("supported_versions")},
		{"key share without key", sh(serverHello(0x0303, 0x1301, plainRandom, ext(extKeyShare, 0, 29, 0, 0))), ReadOptions{}, protocol("key_share entry is malformed")},
		{"version 2.0", sh(serverHello(0x0200, 0xC02F, plainRandom)), ReadOptions{}, protocol("version 0x0200")},
		{"truncated key exchange", rec(recordHandshake, append(shTLS12, hs(typeServerKeyExchange, []byte{3, 0})...)), ReadOptions{KeyExchange: true}, protocol("named curve parameters are truncated")},
		{"zero dh prime", rec(recordHandshake, append(hs(typeServerHello, serverHello(0x0303, 0x009E, plainRandom)), hs(typeServerKeyExchange, dheSKE([]byte{0, 0}))...)), ReadOptions{KeyExchange: true}, protocol("prime is zero")},
		{"finished before done", rec(recordHandshake, append(shTLS12, hs(20, nil)...)), ReadOptions{KeyExchange: true}, protocol("unexpected handshake message type 20")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadServerFlight(bytes.NewReader(tt.in), tt.opts)
			if err == nil {
				t.Fatalf("no error; ServerHello %+v", f.ServerHello)
			}
			tt.check(t, f, err)
		})
	}
}

// errReader returns data and then err.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadServerFlightWrapsReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := ReadServerFlight(&errReader{data: []byte{22, 3, 3}, err: boom}, ReadOptions{})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "after 3 bytes") {
		t.Errorf("err = %v, want the read error wrapped with the byte count", err)
	}
}

// TestCapturedFlights reads flights recorded from Go servers (see
// TestCaptureFlights).
func TestCapturedFlights(t *testing.T) {
	tests := []struct {
		file        string
		wantVersion uint16
		wantSuite   uint16
		wantHRR     bool
		wantGroup   uint16
		wantKX      *KeyExchange
		wantAlert   uint8
	}{
		{"tls12-ecdhe-rsa", 0x0303, 0xC02F, false, 0, &KeyExchange{CurveType: 3, Curve: 29}, 0},
		{"tls12-ecdhe-ecdsa-p256", 0x0303, 0xC02B, false, 0, &KeyExchange{CurveType: 3, Curve: 23}, 0},
		{"tls10-rsa-kex", 0x0301, 0x000A, false, 0, nil, 0},
		{"tls13-hrr", 0x0304, 0x1301, true, 0x11EC, nil, 0},
		{"alert-protocol-version", 0, 0, false, 0, nil, AlertProtocolVersion},
		{"alert-handshake-failure", 0, 0, false, 0, nil, AlertHandshakeFailure},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "flights", tt.file+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			f, err := ReadServerFlight(bytes.NewReader(b), ReadOptions{KeyExchange: true})
			if tt.wantAlert != 0 {
				var ae *AlertError
				if !errors.As(err, &ae) || ae.Description != tt.wantAlert {
					t.Fatalf("err = %v, want alert %s", err, AlertName(tt.wantAlert))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sh := f.ServerHello
			if sh.Version != tt.wantVersion || sh.CipherSuite != tt.wantSuite || sh.HelloRetryRequest != tt.wantHRR || sh.KeyShareGroup != tt.wantGroup {
				t.Errorf("got version 0x%04x suite 0x%04x hrr %v group %d", sh.Version, sh.CipherSuite, sh.HelloRetryRequest, sh.KeyShareGroup)
			}
			if diff := cmp.Diff(tt.wantKX, f.KeyExchange); diff != "" {
				t.Errorf("KeyExchange (-want +got):\n%s", diff)
			}
		})
	}
}
