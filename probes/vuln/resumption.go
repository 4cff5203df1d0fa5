package vuln

import (
	"context"
	"crypto/tls"
	"net"
	"sync"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// sniffLimit bounds the server bytes kept while looking for a ticket.
const sniffLimit = 64 << 10

// resumption makes a full TLS 1.2-or-older handshake with Go's client and
// then another offering the ticket it got: two connections, two full
// handshakes at most. The NewSessionTicket a TLS 1.2 server sends in the
// clear gives the ticket's lifetime hint; a handshake that completes
// without a client certificate after a CertificateRequest shows the
// certificate is optional. Go's client does not resume by session ID, and
// offers neither DHE suites nor SSLv3: such servers give an error here.
func (r *run) resumption(ctx context.Context, certRequested bool) *tlswarden.ResumptionResult {
	res := &tlswarden.ResumptionResult{}
	cfg := &tls.Config{
		ServerName: sniName(r.ep.Host), InsecureSkipVerify: true, // trust is the certificate probe's job
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: goSuites(),
		ClientSessionCache: tls.NewLRUClientSessionCache(1),
	}
	var server []byte
	state, err := r.goHandshake(ctx, cfg, &server)
	if err != nil {
		res.Status, res.Error = statusOf(err)
		return res
	}
	res.Version = tlswarden.Version(state.Version)
	res.ClientCertificateOptional = certRequested
	res.TicketIssued, res.TicketLifetimeHint = ticketOf(server)
	if res.TicketIssued {
		state, err = r.goHandshake(ctx, cfg, nil)
		res.ResumedWithTicket = err == nil && state.DidResume
	}
	res.Status, res.Error = statusOf(err)
	return res
}

// goHandshake makes one full handshake, keeping the server's bytes in
// *server when it is not nil.
func (r *run) goHandshake(ctx context.Context, cfg *tls.Config, server *[]byte) (tls.ConnectionState, error) {
	var state tls.ConnectionState
	err := r.session(ctx, func(conn net.Conn) error {
		if server != nil {
			conn = &sniffConn{Conn: conn, into: server}
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		state = tc.ConnectionState()
		return nil
	})
	return state, err
}

// sniffConn keeps a copy of the first sniffLimit bytes read.
type sniffConn struct {
	net.Conn
	mu   sync.Mutex
	into *[]byte
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if room := sniffLimit - len(*c.into); room > 0 {
		*c.into = append(*c.into, p[:min(n, room)]...)
	}
	c.mu.Unlock()
	return n, err
}

// ticketOf finds a NewSessionTicket among the clear handshake messages
// of a TLS 1.2-or-older server's bytes (before its ChangeCipherSpec) and
// returns its lifetime hint in seconds (RFC 5077 section 3.3).
func ticketOf(server []byte) (issued bool, hint uint32) {
	s := cryptobyte.String(server)
	var hs []byte
	for !s.Empty() {
		var typ uint8
		var skip []byte
		var frag cryptobyte.String
		if !s.ReadUint8(&typ) || !s.ReadBytes(&skip, 2) || !s.ReadUint16LengthPrefixed(&frag) || typ != hello.RecordHandshake {
			break
		}
		hs = append(hs, frag...)
	}
	m := cryptobyte.String(hs)
	for !m.Empty() {
		var typ uint8
		var body cryptobyte.String
		if !m.ReadUint8(&typ) || !m.ReadUint24LengthPrefixed(&body) {
			return false, 0
		}
		if typ == 4 && body.ReadUint32(&hint) { // new_session_ticket
			return true, hint
		}
	}
	return false, 0
}

// goSuites are every TLS 1.2-and-older suite Go's client can negotiate.
func goSuites() []uint16 {
	var out []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		out = append(out, s.ID)
	}
	return out
}

// sniName is the name to send in SNI: none for an IP literal.
func sniName(host string) string {
	if net.ParseIP(host) != nil {
		return ""
	}
	return host
}
