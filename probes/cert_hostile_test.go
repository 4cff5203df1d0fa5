package probes

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// rawServer answers every ClientHello with a handcrafted TLS 1.2
// ServerHello followed by flight (more handshake messages), in records,
// whatever the client offered; then it holds the connection open.
func rawServer(t *testing.T, flight []byte) netip.AddrPort {
	t.Helper()
	return tlstest.RawServer(t, tlstest.ReplyAndHold(records(append(serverHello(), flight...))))
}

// records splits handshake bytes into TLS 1.2 handshake records of at most
// 16 KiB.
func records(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		n := min(len(b), 1<<14)
		out = append(append(out, 22, 3, 3, byte(n>>8), byte(n)), b[:n]...)
		b = b[n:]
	}
	return out
}

func u24(n int) []byte { return []byte{byte(n >> 16), byte(n >> 8), byte(n)} }

// handshakeMsg frames a handshake message body.
func handshakeMsg(typ byte, body []byte) []byte {
	return append(append([]byte{typ}, u24(len(body))...), body...)
}

// serverHello picks TLS 1.2 and ECDHE-RSA-AES128-GCM-SHA256, which zcrypto
// offers; no session ID, no extensions.
func serverHello() []byte {
	body := []byte{3, 3}
	body = append(body, bytes.Repeat([]byte{0x42}, 32)...)
	body = append(body, 0, 0xc0, 0x2f, 0)
	return handshakeMsg(2, body)
}

// certificateMsg is a TLS 1.2 Certificate message holding entries,
// followed by ServerHelloDone so that the client goes on to examine them.
func certificateMsg(entries ...[]byte) []byte {
	var list []byte
	for _, e := range entries {
		list = append(append(list, u24(len(e))...), e...)
	}
	return append(handshakeMsg(11, append(u24(len(list)), list...)), handshakeMsg(14, nil)...)
}

// hostileRun runs the probe against a hostile server and checks that it
// came back in bounded time with a ProtocolError or handshake error.
func hostileRun(t *testing.T, cfg CertConfig, addr netip.AddrPort) (*tlswarden.CertResult, error) {
	t.Helper()
	start := time.Now()
	got, err := runCert(t, cfg, "localhost", addr)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("probe took %v against a hostile server", took)
	}
	if err == nil {
		t.Fatal("probe succeeded against a hostile server")
	}
	return got, err
}

func TestCertProbeHostile(t *testing.T) {
	ca := tlstest.NewCAValid(t, "Test CA", time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour))
	roots := []*x509.Certificate{ca.Cert.Cert}

	t.Run("10 MB chain", func(t *testing.T) {
		const size = 10 << 20
		body := append(u24(size-3), make([]byte, size-3)...)
		got, err := hostileRun(t, CertConfig{Roots: roots}, rawServer(t, handshakeMsg(11, body)))
		want := "tls handshake with SNI localhost: tls: handshake message of length 10485760 bytes exceeds maximum of 65536 bytes"
		if got != nil || err.Error() != want {
			t.Errorf("got (%v, %v), want (nil, %s)", got, err, want)
		}
	})

	t.Run("garbage certificate", func(t *testing.T) {
		junk := []byte("this is not a certificate, it is a sentence")
		got, err := hostileRun(t, CertConfig{Roots: roots}, rawServer(t, certificateMsg(junk)))
		var pe *tlswarden.ProtocolError
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "protocol error: certificate 1 of 1 is not a certificate: asn1: structure error") {
			t.Errorf("error %v, want only a ProtocolError saying certificate 1 of 1 is not a certificate", err)
		}
		if got == nil || len(got.Chain) != 1 {
			t.Fatalf("result %+v, want the one served certificate described", got)
		}
		c := got.Chain[0]
		want := [6]any{fingerprint(junk), len(junk), true, false, tlswarden.Version(0), (*tlswarden.Suite)(nil)}
		gotFacts := [6]any{c.SHA256, c.Size, c.ParseError != "", got.Trusted, got.Version, got.CipherSuite}
		if diff := cmp.Diff(want, gotFacts); diff != "" {
			t.Errorf("(sha256, size, parse error set, trusted, version, suite) (-want +got):\n%s", diff)
		}
	})

	t.Run("garbage certificate message", func(t *testing.T) {
		msg := append(handshakeMsg(11, append(u24(5000), []byte("short")...)), handshakeMsg(14, nil)...)
		got, err := hostileRun(t, CertConfig{Roots: roots}, rawServer(t, msg))
		want := "tls handshake with SNI localhost: local error: tls: unexpected message"
		if got != nil || err.Error() != want {
			t.Errorf("got (%v, %v), want (nil, %s)", got, err, want)
		}
	})

	t.Run("server hangs up after the hello", func(t *testing.T) {
		got, err := hostileRun(t, CertConfig{Roots: roots}, tlstest.RawServer(t, tlstest.Reply(records(serverHello()))))
		if got != nil || !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("got (%v, %v), want no result and EOF", got, err)
		}
	})

	// 50 certificates: the leaf and 49 unrelated ones, served by crypto/tls.
	chain := []*tlstest.Cert{ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})}
	for range 49 {
		chain = append(chain, ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256, CommonName: "filler", DNSNames: []string{"filler.example.test"}}))
	}
	long := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{chain[0].TLSCertificate(chain[1:]...)}})

	t.Run("chain of 50", func(t *testing.T) {
		got, err := hostileRun(t, CertConfig{Roots: roots}, long)
		var pe *tlswarden.ProtocolError
		wantErr := "protocol error: server sent 50 certificates; only the first 16 were examined"
		if !errors.As(err, &pe) || err.Error() != wantErr {
			t.Errorf("error %v, want %s", err, wantErr)
		}
		if got == nil {
			t.Fatal("no result")
		}
		want := [6]any{50, 16, true, false, true, true}
		gotFacts := [6]any{got.ChainLength, len(got.Chain), got.ChainTruncated, got.ChainOrderCorrect, got.ChainComplete, got.Trusted}
		if diff := cmp.Diff(want, gotFacts); diff != "" {
			t.Errorf("(length, examined, truncated, ordered, complete, trusted) (-want +got):\n%s", diff)
		}
	})

	t.Run("byte cap", func(t *testing.T) {
		got, err := hostileRun(t, CertConfig{Roots: roots, MaxChainBytes: 4096}, long)
		var pe *tlswarden.ProtocolError
		wantErr := "protocol error: server sent more than 4096 bytes during the handshake"
		if got != nil || !errors.As(err, &pe) || err.Error() != wantErr {
			t.Errorf("got (%v, %v), want (nil, %s)", got, err, wantErr)
		}
	})
}

func TestCertProbeStall(t *testing.T) {
	addr := tlstest.RawServer(t, tlstest.Silent)
	p := Cert(CertConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	obs, err := p.Run(ctx, tlswarden.Endpoint{Host: "localhost", Addr: addr}, tlstest.NewDialer(addr).Dial)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("probe took %v against a silent server with a 300ms deadline", took)
	}
	if obs.Cert != nil || !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got (%v, %v), want no result and a deadline error", obs.Cert, err)
	}
}
