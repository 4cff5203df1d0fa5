package hello

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// fuzzMax is a small read limit so the fuzzer reaches it.
const fuzzMax = 4096

// FuzzReadServerFlight feeds arbitrary bytes to the flight reader. Seeds in
// testdata/fuzz/FuzzReadServerFlight are flights captured from Go servers
// (see TestCaptureFlights), a truncated one, an alert and garbage.
func FuzzReadServerFlight(f *testing.F) {
	f.Add(rec(recordHandshake, hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom, ext(extRenegotiationInfo, 0)))), true)
	f.Add(rec(recordAlert, []byte{2, 40}), false)
	f.Fuzz(func(t *testing.T, data []byte, kx bool) {
		fl, err := ReadServerFlight(bytes.NewReader(data), ReadOptions{MaxBytes: fuzzMax, KeyExchange: kx})
		if fl == nil {
			t.Fatal("nil flight")
		}
		if fl.Bytes > len(data) || fl.Bytes > fuzzMax {
			t.Fatalf("read %d bytes of %d (limit %d)", fl.Bytes, len(data), fuzzMax)
		}
		if err == nil && fl.ServerHello == nil {
			t.Fatal("no error and no ServerHello")
		}
		if fl.KeyExchange != nil && fl.ServerHello == nil {
			t.Fatal("key exchange without ServerHello")
		}
		checkErrorKind(t, err)
	})
}

// FuzzReadSSLv2ServerHello feeds arbitrary bytes to the SSLv2 reader.
func FuzzReadSSLv2ServerHello(f *testing.F) {
	f.Add(sslv2ServerHello(2, []byte{0x30, 0x82}, []uint32{0x010080, 0x0700C0}, bytes.Repeat([]byte{1}, 16)))
	f.Add([]byte{0x80, 3, 0, 0, 1})
	f.Add([]byte{21, 3, 1, 0, 2, 2, 70})
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sh, err := ReadSSLv2ServerHello(bytes.NewReader(data), fuzzMax)
		if err == nil {
			if sh == nil || sh.Version != 2 {
				t.Fatalf("accepted %+v", sh)
			}
			return
		}
		var se *SSLv2Error
		if errors.As(err, &se) || errors.Is(err, ErrTLSReply) {
			return
		}
		checkErrorKind(t, err)
	})
}

// checkErrorKind fails unless err is one of the documented kinds: nil, an
// alert, a protocol error, or the connection closing before any reply.
func checkErrorKind(t *testing.T, err error) {
	var (
		pe *tlswarden.ProtocolError
		ae *AlertError
	)
	if err == nil || errors.As(err, &pe) || errors.As(err, &ae) || errors.Is(err, io.EOF) {
		return
	}
	t.Fatalf("unexpected error kind %T: %v", err, err)
}
