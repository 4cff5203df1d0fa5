package vuln

import (
	"bytes"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// fakeServer answers ClientHellos the way a vulnerable (or old) server
// would, from bytes written here: Debian's TLS libraries are patched, so
// the vulnerable answers can only come from a purpose-built server. It
// sends a TLS 1.2-or-older first flight and then reacts to the records the
// probe sends after it.
type fakeServer struct {
	heartbeat   bool   // answers the heartbeat extension
	heartbleed  bool   // and answers an over-long heartbeat request with "memory"
	ccs         bool   // takes an early ChangeCipherSpec, then fails to decrypt
	fallback    bool   // honours TLS_FALLBACK_SCSV
	deflate     bool   // chooses deflate compression when offered
	certRequest []byte // a CertificateRequest body to send, nil for none
	// rsa, when set, makes the server choose RSA key exchange when offered,
	// with this certificate; robot makes it a Bleichenbacher oracle.
	rsa   *tlstest.Cert
	robot bool
}

// start serves on a free port of 127.0.0.1 until the test ends.
func (fs fakeServer) start(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fs.serve(c)
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func (fs fakeServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	typ, body, err := readRecord(c)
	if err != nil || typ != 22 || len(body) < 4+2+32+1 {
		return
	}
	ch := parseHello(body[4:])
	if ch.version >= 0x0303+1 {
		ch.version = 0x0303
	}
	if fs.fallback && slices.Contains(ch.suites, 0x5600) && ch.version < 0x0303 {
		c.Write(record(21, ch.version, []byte{2, 86}))
		return
	}
	comp := byte(0)
	if fs.deflate && slices.Contains(ch.compression, 1) {
		comp = 1
	}
	suite := uint16(0xc02f) // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	switch {
	case fs.rsa != nil && slices.Contains(ch.suites, 0x002f):
		suite = 0x002f
		c.Write(record(22, ch.version, fs.flight(ch.version, suite, comp)))
		fs.keyExchange(c, ch.version)
		return
	case !slices.Contains(ch.suites, suite):
		c.Write(record(21, ch.version, []byte{2, 40})) // handshake_failure
		return
	}
	c.Write(record(22, ch.version, fs.flight(ch.version, suite, comp)))
	fs.afterFlight(c, ch.version)
}

// keyExchange reads an RSA ClientKeyExchange and answers as a constant-
// time server does (bad_record_mac once the Finished fails), or, with
// robot, with handshake_failure at once when the padding is wrong.
func (fs fakeServer) keyExchange(c net.Conn, v uint16) {
	typ, body, err := readRecord(c)
	if err != nil || typ != 22 || len(body) < 6 || body[0] != 16 {
		return
	}
	if fs.robot && !validPMS(fs.rsa.Key.(*rsa.PrivateKey), body[6:]) {
		c.Write(record(21, v, []byte{2, 40}))
		return
	}
	for i := 0; i < 2; i++ { // ChangeCipherSpec, Finished
		if _, _, err := readRecord(c); err != nil {
			return
		}
	}
	c.Write(record(21, v, []byte{2, 20}))
}

// validPMS decrypts an RSA premaster secret without any care for timing
// and reports whether its PKCS #1 v1.5 padding is well formed.
func validPMS(key *rsa.PrivateKey, enc []byte) bool {
	m := new(big.Int).Exp(new(big.Int).SetBytes(enc), key.D, key.N)
	b := m.FillBytes(make([]byte, (key.N.BitLen()+7)/8))
	k := len(b)
	return b[0] == 0 && b[1] == 2 && !bytes.Contains(b[2:k-49], []byte{0}) && b[k-49] == 0 && b[k-48] == 3
}

// afterFlight reacts to what the probe sends after the first flight.
func (fs fakeServer) afterFlight(c net.Conn, v uint16) {
	ccs := 0
	for {
		typ, body, err := readRecord(c)
		if err != nil {
			return
		}
		switch {
		case typ == 24 && fs.heartbleed && len(body) >= 3:
			claim := int(binary.BigEndian.Uint16(body[1:3]))
			resp := make([]byte, 3+claim+16) // a vulnerable server's memory
			resp[0] = 2
			c.Write(record(24, v, resp))
		case typ == 20 && !fs.ccs:
			c.Write(record(21, v, []byte{2, 10})) // unexpected_message
			return
		case typ == 20:
			if ccs++; ccs == 2 {
				c.Write(record(21, v, []byte{2, 20})) // bad_record_mac
				return
			}
		}
	}
}

// flight is ServerHello, an empty Certificate, the CertificateRequest if
// any, and ServerHelloDone.
func (fs fakeServer) flight(v, suite uint16, comp byte) []byte {
	var exts []byte
	ext := func(typ uint16, data ...byte) {
		exts = binary.BigEndian.AppendUint16(exts, typ)
		exts = binary.BigEndian.AppendUint16(exts, uint16(len(data)))
		exts = append(exts, data...)
	}
	ext(0xff01, 0)
	ext(23)
	ext(35)
	ext(5)
	ext(16, 0, 3, 2, 'h', '2')
	if fs.heartbeat || fs.heartbleed {
		ext(15, 1)
	}
	sh := binary.BigEndian.AppendUint16(nil, v)
	sh = append(sh, make([]byte, 32)...)
	sh = append(sh, 4, 1, 2, 3, 4) // a session id
	sh = binary.BigEndian.AppendUint16(sh, suite)
	sh = append(sh, comp)
	sh = binary.BigEndian.AppendUint16(sh, uint16(len(exts)))
	sh = append(sh, exts...)
	out := message(2, sh)
	out = append(out, message(11, certificateBody(fs.rsa))...)
	if fs.certRequest != nil {
		out = append(out, message(13, fs.certRequest)...)
	}
	return append(out, message(14, nil)...)
}

type clientHello struct {
	version     uint16
	suites      []uint16
	compression []byte
}

// parseHello reads what the fake server needs of a ClientHello body.
func parseHello(b []byte) clientHello {
	ch := clientHello{version: binary.BigEndian.Uint16(b)}
	b = b[2+32:]
	b = b[1+int(b[0]):]
	n := int(binary.BigEndian.Uint16(b))
	for i := 0; i < n; i += 2 {
		ch.suites = append(ch.suites, binary.BigEndian.Uint16(b[2+i:]))
	}
	b = b[2+n:]
	ch.compression = b[1 : 1+int(b[0])]
	return ch
}

func readRecord(r io.Reader) (uint8, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[3:]))
	if n > 1<<15 {
		return 0, nil, errors.New("record too long")
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return hdr[0], body, err
}

func record(typ uint8, v uint16, body []byte) []byte {
	out := []byte{typ, byte(v >> 8), byte(v), byte(len(body) >> 8), byte(len(body))}
	return append(out, body...)
}

func message(typ uint8, body []byte) []byte {
	return append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// certificateBody is a Certificate message body holding c, or none.
func certificateBody(c *tlstest.Cert) []byte {
	if c == nil {
		return []byte{0, 0, 0}
	}
	n := len(c.DER)
	out := []byte{byte((n + 3) >> 16), byte((n + 3) >> 8), byte(n + 3), byte(n >> 16), byte(n >> 8), byte(n)}
	return append(out, c.DER...)
}
