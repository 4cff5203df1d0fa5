package preamble

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// script is a small server for one protocol, written from its RFC: it
// speaks the exchange on c and reports whether TLS should follow.
type script func(r *bufio.Reader, w io.Writer) bool

// serve runs script on every connection to a loopback listener and, when
// it says so, a crypto/tls handshake after it.
func serve(t *testing.T, sc script) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()}}
	ap := tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		if sc(r, c) {
			// The client may send its ClientHello right behind its last
			// command (MySQL's SSLRequest): read it from r's buffer.
			_ = tls.Server(bufConn{c, r}, cfg).HandshakeContext(ctx)
		}
	})
	return ap.String()
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// expect reads a line and fails the exchange unless it is want.
func expect(r *bufio.Reader, want string) bool {
	l, err := r.ReadString('\n')
	return err == nil && strings.TrimRight(l, "\r\n") == want
}

func smtpServer(offer bool) script {
	return func(r *bufio.Reader, w io.Writer) bool {
		io.WriteString(w, "220-mx.example.org ESMTP\r\n220 ready\r\n")
		if !expect(r, "EHLO "+EHLOName) {
			return false
		}
		io.WriteString(w, "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n")
		if offer {
			io.WriteString(w, "250-STARTTLS\r\n")
		}
		io.WriteString(w, "250 8BITMIME\r\n")
		if !offer || !expect(r, "STARTTLS") {
			return false
		}
		io.WriteString(w, "220 2.0.0 Ready to start TLS\r\n")
		return true
	}
}

func imapServer(r *bufio.Reader, w io.Writer) bool {
	io.WriteString(w, "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n")
	if !expect(r, "a1 CAPABILITY") {
		return false
	}
	io.WriteString(w, "* CAPABILITY IMAP4rev1 SASL-IR STARTTLS LOGINDISABLED\r\na1 OK done\r\n")
	if !expect(r, "a2 STARTTLS") {
		return false
	}
	io.WriteString(w, "a2 OK Begin TLS negotiation now.\r\n")
	return true
}

func pop3Server(r *bufio.Reader, w io.Writer) bool {
	io.WriteString(w, "+OK Dovecot ready.\r\n")
	if !expect(r, "CAPA") {
		return false
	}
	io.WriteString(w, "+OK\r\nCAPA\r\nTOP\r\nSTLS\r\nUIDL\r\n.\r\n")
	if !expect(r, "STLS") {
		return false
	}
	io.WriteString(w, "+OK Begin TLS negotiation now.\r\n")
	return true
}

func ftpServer(r *bufio.Reader, w io.Writer) bool {
	io.WriteString(w, "220 (vsFTPd 3.0.3)\r\n")
	if !expect(r, "FEAT") {
		return false
	}
	io.WriteString(w, "211-Features:\r\n AUTH TLS\r\n EPSV\r\n PBSZ\r\n211 End\r\n")
	if !expect(r, "AUTH TLS") {
		return false
	}
	io.WriteString(w, "234 Proceed with negotiation.\r\n")
	return true
}

func ldapServer(code byte) script {
	return func(r *bufio.Reader, w io.Writer) bool {
		req := make([]byte, len(ldapStartTLS))
		if _, err := io.ReadFull(r, req); err != nil || string(req) != string(ldapStartTLS) {
			return false
		}
		// ExtendedResponse{resultCode, matchedDN "", diagnosticMessage "x"}
		w.Write([]byte{0x30, 0x0e, 0x02, 0x01, 0x01, 0x78, 0x09, 0x0a, 0x01, code, 0x04, 0x00, 0x04, 0x02, 'o', 'k'})
		return code == 0
	}
}

func xmppTestServer(r *bufio.Reader, w io.Writer) bool {
	buf := make([]byte, 512)
	n, _ := r.Read(buf)
	if !strings.Contains(string(buf[:n]), "to='chat.example.org'") {
		return false
	}
	io.WriteString(w, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x1' from='chat.example.org' version='1.0'>"+
		"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"+
		"<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>")
	n, _ = r.Read(buf)
	if string(buf[:n]) != "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" {
		return false
	}
	io.WriteString(w, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	return true
}

func postgresServer(answer byte) script {
	return func(r *bufio.Reader, w io.Writer) bool {
		req := make([]byte, 8)
		if _, err := io.ReadFull(r, req); err != nil || string(req) != string(pgSSLRequest) {
			return false
		}
		w.Write([]byte{answer})
		return answer == 'S'
	}
}

func mysqlServer(r *bufio.Reader, w io.Writer) bool {
	payload := append([]byte{10}, "8.0.36\x00"...)
	payload = append(payload, 1, 0, 0, 0)                       // connection id
	payload = append(payload, "abcdefgh\x00"...)                // auth data, filler
	payload = append(payload, 0x00, 0x8a, 45, 2, 0, 0xff, 0x81) // caps low (SSL, 4.1, secure), charset, status, caps high
	w.Write(append([]byte{byte(len(payload)), 0, 0, 0}, payload...))
	req := make([]byte, 36)
	if _, err := io.ReadFull(r, req); err != nil || req[0] != 32 || req[3] != 1 || req[5]&0x08 == 0 {
		return false
	}
	return true
}

// TestPreambles runs each protocol's exchange against a server written
// from its RFC, then a TLS handshake over the same connection: the
// preamble leaves the connection exactly where TLS starts.
func TestPreambles(t *testing.T) {
	tests := []struct {
		kind    tlswarden.Kind
		server  script
		host    string
		banner  string
		caps    []string
		offered bool
	}{
		{tlswarden.KindSMTP, smtpServer(true), "mx.example.org", "mx.example.org ESMTP ready", []string{"PIPELINING", "SIZE 10240000", "STARTTLS", "8BITMIME"}, true},
		{tlswarden.KindSMTP, smtpServer(false), "mx.example.org", "mx.example.org ESMTP ready", []string{"PIPELINING", "SIZE 10240000", "8BITMIME"}, false},
		{tlswarden.KindSubmission, smtpServer(true), "", "mx.example.org ESMTP ready", nil, true},
		{tlswarden.KindIMAP, imapServer, "", "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.", []string{"IMAP4REV1", "SASL-IR", "STARTTLS", "LOGINDISABLED"}, true},
		{tlswarden.KindPOP3, pop3Server, "", "+OK Dovecot ready.", []string{"CAPA", "TOP", "STLS", "UIDL"}, true},
		{tlswarden.KindFTP, ftpServer, "", "(vsFTPd 3.0.3)", []string{"AUTH TLS", "EPSV", "PBSZ"}, true},
		{tlswarden.KindLDAP, ldapServer(0), "", "", nil, true},
		{tlswarden.KindLDAP, ldapServer(2), "", "", nil, false},
		{tlswarden.KindXMPP, xmppTestServer, "chat.example.org", "stream from chat.example.org", []string{"STARTTLS", "MECHANISMS"}, true},
		{tlswarden.KindPostgres, postgresServer('S'), "", "", nil, true},
		{tlswarden.KindPostgres, postgresServer('N'), "", "", nil, false},
		{tlswarden.KindMySQL, mysqlServer, "", "8.0.36", nil, true},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			addr := serve(t, tc.server)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			res, err := For(tc.kind)(ctx, c, tc.host)
			if tc.offered != (err == nil) || !tc.offered && !errors.Is(err, tlswarden.ErrNoStartTLS) {
				t.Fatalf("err = %v, want offered %v", err, tc.offered)
			}
			if res.StartTLS != tc.offered || res.Status != tlswarden.StatusOK || res.Banner != tc.banner {
				t.Errorf("facts %+v, want starttls %v, status ok, banner %q", res, tc.offered, tc.banner)
			}
			if tc.caps != nil && !slices.Equal(res.Capabilities, tc.caps) {
				t.Errorf("capabilities %q, want %q", res.Capabilities, tc.caps)
			}
			if !tc.offered {
				return
			}
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
			if err := tc.HandshakeContext(ctx); err != nil {
				t.Errorf("TLS after the preamble: %v", err)
			}
		})
	}
	if For(tlswarden.KindHTTPS) != nil || For(tlswarden.KindSMTPS) != nil || For(tlswarden.KindTLS) != nil {
		t.Error("TLS-on-connect kinds have a preamble")
	}
}

// TestPreambleHostile: a server that refuses, talks garbage, floods, stalls
// or sends bytes after agreeing to TLS ends the exchange with the right
// status, within the context's deadline.
func TestPreambleHostile(t *testing.T) {
	tests := []struct {
		name   string
		kind   tlswarden.Kind
		server script
		want   tlswarden.Status
	}{
		{"smtp 421", tlswarden.KindSMTP, func(r *bufio.Reader, w io.Writer) bool {
			io.WriteString(w, "421 4.7.0 too many connections from your host\r\n")
			return false
		}, tlswarden.StatusRefused},
		{"pop3 -ERR", tlswarden.KindPOP3, func(r *bufio.Reader, w io.Writer) bool { io.WriteString(w, "-ERR go away\r\n"); return false }, tlswarden.StatusRefused},
		{"garbage", tlswarden.KindSMTP, func(r *bufio.Reader, w io.Writer) bool { io.WriteString(w, "\x16\x03\x01 hello\r\n"); return false }, tlswarden.StatusProtocolError},
		{"long line", tlswarden.KindIMAP, func(r *bufio.Reader, w io.Writer) bool {
			io.WriteString(w, "* OK "+strings.Repeat("a", 2*MaxLine))
			return false
		}, tlswarden.StatusProtocolError},
		{"endless reply", tlswarden.KindFTP, func(r *bufio.Reader, w io.Writer) bool {
			for i := 0; i < MaxBytes/8; i++ {
				if _, err := io.WriteString(w, "220-xx\r\n"); err != nil {
					return false
				}
			}
			return false
		}, tlswarden.StatusProtocolError},
		{"silent", tlswarden.KindSMTP, func(r *bufio.Reader, w io.Writer) bool { time.Sleep(3 * time.Second); return false }, tlswarden.StatusTimeout},
		{"bytes after STARTTLS", tlswarden.KindSMTP, func(r *bufio.Reader, w io.Writer) bool {
			io.WriteString(w, "220 mx\r\n")
			expect(r, "EHLO "+EHLOName)
			io.WriteString(w, "250-mx\r\n250 STARTTLS\r\n")
			expect(r, "STARTTLS")
			io.WriteString(w, "220 go ahead\r\n250 injected\r\n")
			time.Sleep(200 * time.Millisecond)
			return false
		}, tlswarden.StatusProtocolError},
		{"injected after go-ahead", tlswarden.KindPostgres, func(r *bufio.Reader, w io.Writer) bool {
			io.ReadFull(r, make([]byte, 8))
			w.Write([]byte("Sxxxx"))
			time.Sleep(200 * time.Millisecond)
			return false
		}, tlswarden.StatusProtocolError},
		{"huge LDAP message", tlswarden.KindLDAP, func(r *bufio.Reader, w io.Writer) bool {
			io.ReadFull(r, make([]byte, len(ldapStartTLS)))
			w.Write([]byte{0x30, 0x83, 0x7f, 0xff, 0xff})
			return false
		}, tlswarden.StatusProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", serve(t, tc.server))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			start := time.Now()
			res, err := For(tc.kind)(ctx, c, "mx.example.org")
			if err == nil || res == nil || res.Status != tc.want {
				t.Fatalf("err %v, facts %+v; want an error with status %s", err, res, tc.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
