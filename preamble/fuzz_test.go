package preamble

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// FuzzParseLDAPExtendedResponse: any bytes, never a panic, and a result
// code only from a message that holds one.
func FuzzParseLDAPExtendedResponse(f *testing.F) {
	f.Add([]byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, _, err := ParseLDAPExtendedResponse(b)
		if err != nil && code != 0 {
			t.Fatalf("code %d with error %v", code, err)
		}
	})
}

// FuzzParseMySQLHandshake: any payload, never a panic.
func FuzzParseMySQLHandshake(f *testing.F) {
	f.Add(append(append([]byte{10}, "8.0.36\x00"...), make([]byte, 30)...))
	f.Add([]byte{0xff, 0x10, 0x04, 'n', 'o'})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, _, err := ParseMySQLHandshake(b)
		if err == nil && len(v) >= len(b) {
			t.Fatalf("version %q longer than the packet", v)
		}
	})
}

// FuzzPreamble feeds every kind's exchange what a hostile server might
// send: it never panics, never claims TLS can start on bytes that did not
// say so, and always returns facts.
func FuzzPreamble(f *testing.F) {
	for _, s := range []string{
		"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 go\r\n",
		"* OK hi\r\n* CAPABILITY STARTTLS\r\na1 OK\r\na2 OK\r\n",
		"+OK\r\n+OK\r\nSTLS\r\n.\r\n+OK\r\n",
		"220 x\r\n211-F\r\n AUTH TLS\r\n211 E\r\n234 ok\r\n",
		"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
		"S", "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for k := range exchanges {
			client, server := net.Pipe()
			go func() {
				go io.Copy(io.Discard, server)
				_, _ = io.WriteString(server, in)
				time.Sleep(time.Millisecond)
				server.Close()
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			res, err := For(k)(ctx, client, "x.example.org")
			cancel()
			client.Close()
			if res == nil || (err == nil) != res.StartTLS {
				t.Fatalf("%s: facts %+v, err %v", k, res, err)
			}
			if k == tlswarden.KindPostgres && err == nil && in[0] != 'S' {
				t.Fatalf("postgres: TLS on %q", in)
			}
		}
	})
}
