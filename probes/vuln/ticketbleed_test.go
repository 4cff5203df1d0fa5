package vuln

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// ticketbleedServer is a Go crypto/tls server (TLS 1.2, tickets on) behind
// a shim that, with bleed, answers as F5's stack did: when a ClientHello
// offers a ticket with a session ID shorter than 32 bytes, the
// ServerHello's session ID is that ID followed by "memory", 32 bytes in
// all. Without bleed the shim only passes bytes through.
func ticketbleedServer(t *testing.T, bleed bool) netip.AddrPort {
	t.Helper()
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12}
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
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				typ, body, err := readRecord(c)
				if err != nil || typ != 22 {
					return
				}
				shim := &bleedConn{Conn: c, pending: record(22, 0x0301, body), bleed: bleed && shortIDWithTicket(body)}
				_ = tls.Server(shim, cfg).Handshake()
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// shortIDWithTicket reports a ClientHello (handshake message) offering a
// non-empty session ticket with a session ID shorter than 32 bytes.
func shortIDWithTicket(msg []byte) bool {
	s := cryptobyte.String(msg)
	var body, sid, suites, comp, exts cryptobyte.String
	if !s.Skip(1) || !s.ReadUint24LengthPrefixed(&body) || !body.Skip(2+32) || !body.ReadUint8LengthPrefixed(&sid) ||
		!body.ReadUint16LengthPrefixed(&suites) || !body.ReadUint8LengthPrefixed(&comp) || !body.ReadUint16LengthPrefixed(&exts) {
		return false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return false
		}
		if typ == extSessionTicket && len(data) > 0 {
			return len(sid) < 32
		}
	}
	return false
}

// bleedConn replays the ClientHello already read and, with bleed, pads
// the session ID of the ServerHello, the first record written.
type bleedConn struct {
	net.Conn
	pending []byte
	bleed   bool
	wrote   bool
}

func (c *bleedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *bleedConn) Write(p []byte) (int, error) {
	out := p
	if c.bleed && !c.wrote {
		out = padSessionID(p)
	}
	c.wrote = true
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// padSessionID pads the session ID of the ServerHello that starts rec to
// 32 bytes with 0xee, fixing the record and message lengths.
func padSessionID(rec []byte) []byte {
	if len(rec) < 44 || rec[0] != 22 || rec[5] != 2 || rec[43] >= 32 {
		return rec
	}
	n := int(rec[43])
	extra := 32 - n
	out := append([]byte(nil), rec[:44+n]...)
	out = append(out, bytes.Repeat([]byte{0xee}, extra)...)
	out = append(out, rec[44+n:]...)
	out[43] = 32
	recLen := (int(rec[3])<<8 | int(rec[4])) + extra
	out[3], out[4] = byte(recLen>>8), byte(recLen)
	hsLen := (int(rec[6])<<16 | int(rec[7])<<8 | int(rec[8])) + extra
	out[6], out[7], out[8] = byte(hsLen>>16), byte(hsLen>>8), byte(hsLen)
	return out
}

// TestTicketbleed checks a server that echoes 32 bytes of session ID for
// a shorter one is found, and the same Go server without the flaw, and
// Debian's servers, are not.
func TestTicketbleed(t *testing.T) {
	tests := []struct {
		name   string
		start  func(t *testing.T) netip.AddrPort
		leaked bool
		echoed int
	}{
		{"F5-like", func(t *testing.T) netip.AddrPort { return ticketbleedServer(t, true) }, true, 32},
		{"go", func(t *testing.T) netip.AddrPort { return ticketbleedServer(t, false) }, false, 16},
		{"openssl", func(t *testing.T) netip.AddrPort { return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{}) }, false, 16},
		{"nginx", func(t *testing.T) netip.AddrPort { return tlstest.NginxServer(t, tlstest.NginxConfig{}) }, false, 16},
		{"gnutls", func(t *testing.T) netip.AddrPort { return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{}) }, false, 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := scan(t, Config{NoIntrusive: true}, tc.start(t)).Ticketbleed
			want := &tlswarden.TicketbleedResult{Status: tlswarden.StatusOK, Tested: true, Resumed: true,
				SessionIDSent: ticketbleedIDLen, SessionIDEchoed: tc.echoed, Leaked: tc.leaked}
			if tb == nil || *tb != *want {
				t.Errorf("ticketbleed %+v, want %+v", tb, want)
			}
		})
	}
	t.Run("no tickets", func(t *testing.T) {
		addr := tlstest.NginxServer(t, tlstest.NginxConfig{Directives: []string{"ssl_session_tickets off;"}})
		if tb := scan(t, Config{NoIntrusive: true}, addr).Ticketbleed; tb == nil || tb.Tested || tb.Status != tlswarden.StatusOK {
			t.Errorf("ticketbleed without tickets %+v, want not tested", tb)
		}
	})
}
