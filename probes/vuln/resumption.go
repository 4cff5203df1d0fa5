package vuln

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// sniffLimit bounds the server bytes kept while looking for a ticket.
const sniffLimit = 64 << 10

// resumption makes a full TLS 1.2-or-older handshake with Go's client and
// then offers the ticket it got in a hello of its own, which is the
// Ticketbleed check's too, then tests resumption by session ID
// (resumeByID): four connections, two full handshakes at most (three
// before the ticket's hello and Ticketbleed's were one, when Go's client
// made a full handshake of the second whenever the server would not
// resume). The NewSessionTicket a TLS 1.2 server sends in the clear gives
// the ticket's lifetime hint; a handshake that completes without a client
// certificate after a CertificateRequest shows the certificate is
// optional. Go's client offers neither DHE suites nor SSLv3: such servers
// give an error here.
//
// When renegotiate is set, the client-initiated renegotiation check rides
// on the first handshake when it can (TLS 1.2 with an AEAD suite: see
// canRenegotiate), beside the rest of the chain, and runs on a connection
// of its own otherwise. The ticket needs no close_notify (unlike the
// session ID, which has a handshake of its own for that reason), and it
// stays valid whatever the renegotiation does to the connection: the
// server keeps no state for it. It writes out's Resumption, Ticketbleed
// and, when renegotiate is set, ClientRenegotiation.
func (r *run) resumption(ctx context.Context, wg *sync.WaitGroup, certRequested, renegotiate bool, out *tlswarden.VulnResult) {
	res := &tlswarden.ResumptionResult{}
	out.Resumption, out.Ticketbleed = res, &tlswarden.TicketbleedResult{Status: tlswarden.StatusOK}
	cfg := &tls.Config{
		ServerName: sniName(r.ep.Host), InsecureSkipVerify: true, // trust is the certificate probe's job
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: goSuites(),
		ClientSessionCache: tls.NewLRUClientSessionCache(1),
	}
	first := cfg.Clone() // the same session cache
	var keyLog bytes.Buffer
	if renegotiate {
		first.KeyLogWriter = &keyLog
	}
	var server []byte
	rode := false
	state, err := r.firstHandshake(ctx, first, &server, func(conn net.Conn, state tls.ConnectionState, done func()) bool {
		if !renegotiate || !canRenegotiate(state) {
			return false
		}
		rn := &tlswarden.RenegotiationResult{}
		out.ClientRenegotiation, rode = rn, true
		keyLog, server := bytes.Clone(keyLog.Bytes()), bytes.Clone(server)
		r.spawn(wg, "client_renegotiation", func() {
			defer done()
			rn.Status, rn.Error = statusOf(r.ended(ctx, r.renegotiate(conn, state, keyLog, server, rn)))
		})
		return true
	})
	if renegotiate && !rode { // the first handshake failed or cannot carry it
		r.spawn(wg, "client_renegotiation", func() { out.ClientRenegotiation = r.clientRenegotiation(ctx) })
	}
	if err != nil {
		res.Status, res.Error = statusOf(err)
		return
	}
	res.Version = tlswarden.Version(state.Version)
	res.ClientCertificateOptional = certRequested
	var tk *ticket
	res.TicketIssued, res.TicketLifetimeHint, tk = ticketOf(server)
	if tk != nil {
		tk.version, tk.suite = state.Version, state.CipherSuite
	}
	switch {
	case res.TicketIssued && tk != nil && !r.separate:
		out.Ticketbleed, res.ResumedWithTicket, err = r.offerTicket(ctx, tk)
	case res.TicketIssued:
		state, err = r.goHandshake(ctx, cfg, nil)
		res.ResumedWithTicket = err == nil && state.DidResume
	}
	res.Status, res.Error = statusOf(err)
	r.resumeByID(ctx, cfg, res)
	if r.separate {
		out.Ticketbleed = r.ticketbleed(ctx, tk)
	}
}

// firstHandshake makes resumption's first handshake, keeping the server's
// bytes in *server. Once it completes, keep may take the connection for a
// check that follows on it (then it calls done when finished with it and
// returns true); else the connection ends with a close_notify.
func (r *run) firstHandshake(ctx context.Context, cfg *tls.Config, server *[]byte,
	keep func(conn net.Conn, state tls.ConnectionState, done func()) bool) (tls.ConnectionState, error) {
	conn, done, err := r.open(ctx)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	tc := tls.Client(&sniffConn{Conn: conn, into: server}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		done()
		return tls.ConnectionState{}, r.ended(ctx, err)
	}
	state := tc.ConnectionState()
	if !keep(conn, state, done) {
		_ = tc.Close() // a close_notify, as goHandshake sends
		done()
	}
	return state, nil
}

// resumeByID makes a full handshake offering no ticket, so that a server
// that resumes at all must do it by session ID (SSLyze and testssl.sh
// turn tickets off for this test too), then sends a hello of its own
// offering the ServerHello's session ID and reads the answer, never
// finishing it. Two connections, one full handshake; none when the
// server gives no session ID.
func (r *run) resumeByID(ctx context.Context, cfg *tls.Config, res *tlswarden.ResumptionResult) {
	cfg = cfg.Clone()
	cfg.SessionTicketsDisabled, cfg.ClientSessionCache = true, nil
	var server []byte
	state, err := r.goHandshake(ctx, cfg, &server)
	var sh *hello.ServerHello
	if err == nil {
		sh, err = serverHelloOf(server)
	}
	if err == nil && len(sh.SessionID) > 0 {
		res.SessionIDIssued = true
		res.ResumedWithSessionID, err = r.offerSessionID(ctx, state.Version, sh.SessionID)
	}
	if err != nil {
		res.SessionIDError = err.Error()
	}
}

// serverHelloOf reads the ServerHello of a TLS 1.2-or-older server's
// bytes.
func serverHelloOf(server []byte) (*hello.ServerHello, error) {
	hs, err := hello.ReadHandshake(bytes.NewReader(server), sniffLimit)
	if hs.ServerHello == nil {
		return nil, fmt.Errorf("reading the ServerHello of the full handshake: %w", err)
	}
	return hs.ServerHello, nil
}

// offerSessionID sends a ClientHello for version offering the session ID
// and reports whether the server resumed the session.
func (r *run) offerSessionID(ctx context.Context, version uint16, id []byte) (bool, error) {
	var resumed bool
	err := r.session(ctx, func(conn net.Conn) error {
		ch := &hello.ClientHello{Version: version, CipherSuites: goSuites(), ServerName: r.ep.Host, Groups: featureGroups, SessionID: id}
		rand.Read(ch.Random[:])
		msg, err := ch.Marshal()
		if err != nil {
			return err
		}
		if _, err := conn.Write(msg); err != nil {
			return fmt.Errorf("send hello: %w", err)
		}
		hs, err := hello.ReadHandshake(conn, 0)
		if err != nil {
			return fmt.Errorf("offering the session ID: %w", err)
		}
		resumed = abbreviated(hs, id)
		return nil
	})
	return resumed, err
}

// abbreviated reports a flight that resumes the session id: the
// ServerHello echoes it and no Certificate or ServerHelloDone follows
// before the ChangeCipherSpec (RFC 5246 section 7.3).
func abbreviated(hs *hello.Handshake, id []byte) bool {
	return hs.ServerHello != nil && len(id) > 0 && bytes.Equal(hs.ServerHello.SessionID, id) &&
		hs.Message(hello.MsgCertificate) == nil && hs.Message(hello.MsgServerHelloDone) == nil
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
		// A close_notify, as browsers send: OpenSSL drops from its cache
		// the session of a connection that ends without one.
		_ = tc.Close()
		return nil
	})
	return state, err
}

// sniffConn keeps a copy of the first sniffLimit bytes read into into and,
// when sent is set, of the first sniffLimit bytes written (the client's
// Finished record, whose last block is TLS 1.0's next IV for the padding
// oracle check).
type sniffConn struct {
	net.Conn
	mu         sync.Mutex
	into, sent *[]byte
}

func (c *sniffConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.keep(c.into, p[:n])
	return n, err
}

func (c *sniffConn) Write(p []byte) (int, error) {
	if c.sent != nil {
		c.keep(c.sent, p)
	}
	return c.Conn.Write(p)
}

// keep appends what of p fits under sniffLimit to dst.
func (c *sniffConn) keep(dst *[]byte, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := sniffLimit - len(*dst); room > 0 {
		*dst = append(*dst, p[:min(len(p), room)]...)
	}
}

// ticket is a session ticket a full handshake got, with the session's
// version and suite.
type ticket struct {
	ticket  []byte
	version uint16
	suite   uint16
}

// ticketOf finds a NewSessionTicket among the clear handshake messages
// of a TLS 1.2-or-older server's bytes (before its ChangeCipherSpec) and
// returns its lifetime hint in seconds (RFC 5077 section 3.3) and the
// ticket, nil when it is empty.
func ticketOf(server []byte) (issued bool, hint uint32, tk *ticket) {
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
			return false, 0, nil
		}
		if typ == 4 && body.ReadUint32(&hint) { // new_session_ticket
			var t cryptobyte.String
			if body.ReadUint16LengthPrefixed(&t) && len(t) > 0 {
				tk = &ticket{ticket: append([]byte(nil), t...)}
			}
			return true, hint, tk
		}
	}
	return false, 0, nil
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
