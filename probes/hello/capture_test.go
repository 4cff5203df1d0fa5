package hello

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

var capture = flag.Bool("capture", false, "capture server flights from Go servers into testdata (flights/*.bin and fuzz seeds)")

// flightCapture is one recorded exchange: a ClientHello sent to a Go server
// with a given configuration.
type flightCapture struct {
	name  string
	cfg   func(rsa, ecdsa tls.Certificate) *tls.Config
	hello ClientHello
}

var legacyOffer = []uint16{0xC02B, 0xC02F, 0xC013, 0x002F, 0x000A}

var flightCaptures = []flightCapture{
	{"tls12-ecdhe-rsa", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{rsa}, MaxVersion: tls.VersionTLS12}
	}, ClientHello{Version: 0x0303, CipherSuites: legacyOffer, ServerName: "localhost", Groups: []uint16{29, 23}}},
	{"tls12-ecdhe-ecdsa-p256", func(_, ec tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{ec}, MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP256}}
	}, ClientHello{Version: 0x0303, CipherSuites: legacyOffer, ServerName: "localhost", Groups: []uint16{29, 23}}},
	{"tls10-rsa-kex", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{rsa}, MinVersion: tls.VersionTLS10, CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}
	}, ClientHello{Version: 0x0301, CipherSuites: legacyOffer, ServerName: "localhost", Groups: []uint16{29, 23}}},
	{"tls13-hrr", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{rsa}}
	}, ClientHello{Version: 0x0303, SessionID: make([]byte, 32), CipherSuites: []uint16{0x1301, 0x1302, 0x1303},
		ServerName: "localhost", Groups: []uint16{0x11EC, 29, 23}, SupportedVersions: []uint16{0x0304}}},
	{"alert-protocol-version", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{rsa}, MinVersion: tls.VersionTLS12}
	}, ClientHello{Version: 0x0301, CipherSuites: legacyOffer, ServerName: "localhost", Groups: []uint16{29, 23}}},
	{"alert-handshake-failure", func(rsa, _ tls.Certificate) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{rsa}}
	}, ClientHello{Version: 0x0303, CipherSuites: []uint16{0x0004}, ServerName: "localhost", Groups: []uint16{29, 23}}},
}

// TestCaptureFlights records real server flights for the parser tests and
// the fuzz corpus. It runs only with -capture.
func TestCaptureFlights(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to record server flights")
	}
	rsa := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	ec := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
	for _, c := range flightCaptures {
		addr := tlstest.GoServer(t, c.cfg(rsa, ec))
		msg, err := c.hello.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		flight := exchangeRaw(t, addr.String(), msg)
		writeSeed(t, c.name, flight)
		if err := os.WriteFile(filepath.Join("testdata", "flights", c.name+".bin"), flight, 0o644); err != nil {
			t.Fatal(err)
		}
		if c.name == "tls12-ecdhe-rsa" {
			writeSeed(t, "truncated", flight[:80])
		}
	}
	writeSeed(t, "garbage", []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	writeSeed(t, "nonsense-session-id", nonsenseServerHello())

	// SSLv2: what a Go server answers an SSLv2 hello (it closes), its TLS
	// alert to a TLS 1.0 hello, and crafted SSLv2 messages.
	goAddr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{rsa}, MinVersion: tls.VersionTLS12})
	writeSSLv2Seed(t, "go-server-reply", exchangeRaw(t, goAddr.String(), SSLv2ClientHello([16]byte{})))
	alert, err := os.ReadFile(filepath.Join("testdata", "flights", "alert-protocol-version.bin"))
	if err != nil {
		t.Fatal(err)
	}
	writeSSLv2Seed(t, "tls-alert", alert)
	writeSSLv2Seed(t, "server-hello", sslv2ServerHello(2, []byte{0x30, 0x82, 0x01, 0x00}, []uint32{0x010080, 0x0700C0, 0x060040}, make([]byte, 16)))
	writeSSLv2Seed(t, "error-no-cipher", []byte{0x80, 3, 0, 0, 1})
	writeSSLv2Seed(t, "garbage", []byte("SSH-2.0-OpenSSH_9.6\r\n"))
}

func writeSSLv2Seed(t *testing.T, name string, data []byte) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadSSLv2ServerHello")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exchangeRaw sends msg and returns everything the server sends until it
// falls silent for a moment or closes.
func exchangeRaw(t *testing.T, addr string, msg []byte) []byte {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 64<<10)
	for {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || err != nil {
			return out
		}
	}
}

func writeSeed(t *testing.T, name string, data []byte) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadServerFlight")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(true)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nonsenseServerHello is a ServerHello whose session id length runs past
// the end of the message.
func nonsenseServerHello() []byte {
	body := append([]byte{0x03, 0x03}, make([]byte, 32)...)
	body = append(body, 200, 0xC0, 0x2F, 0x00)
	msg := append([]byte{typeServerHello, 0, 0, byte(len(body))}, body...)
	return records(recordHandshake, 0x0303, msg)
}
