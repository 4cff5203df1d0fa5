package vuln

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// ticketbleedIDLen is the length of the session ID sent with the ticket:
// shorter than the 32 bytes an F5 stack copies back, and long enough that
// a fresh session ID never starts with it by chance.
const ticketbleedIDLen = 16

// ticketbleed offers the ticket a full handshake got (resumption's first)
// with a session ID of 16 random bytes. A server that accepts the ticket
// must echo that ID (RFC 5077, section 3.4); F5's TLS stack echoed 32
// bytes, the 16 sent followed by 16 of its memory (Ticketbleed,
// CVE-2016-9244, Filippo Valsorda's finding). Only the echoed ID's length
// is kept, never its bytes. One connection, read to the ServerHello and
// what follows up to the ChangeCipherSpec; none when no ticket was issued.
// resumption sends this hello as its own second one (offerTicket): this
// connection of its own is the check as it was before, for the tests.
func (r *run) ticketbleed(ctx context.Context, tk *ticket) *tlswarden.TicketbleedResult {
	if tk == nil {
		return &tlswarden.TicketbleedResult{Status: tlswarden.StatusOK}
	}
	res, _, _ := r.offerTicket(ctx, tk)
	return res
}

// offerTicket sends the Ticketbleed hello: the ticket with a session ID of
// ticketbleedIDLen random bytes, read to the ServerHello and what follows
// it up to the ChangeCipherSpec. It returns the Ticketbleed check's result
// and whether the server resumed the session (an abbreviated handshake
// that echoes the ID sent, RFC 5077 section 3.4, as Go's client requires
// of its own ID), and the error that ended the exchange, if any.
func (r *run) offerTicket(ctx context.Context, tk *ticket) (*tlswarden.TicketbleedResult, bool, error) {
	res := &tlswarden.TicketbleedResult{Tested: true, SessionIDSent: ticketbleedIDLen}
	id := make([]byte, ticketbleedIDLen)
	rand.Read(id)
	var resumed bool
	err := r.session(ctx, func(conn net.Conn) error {
		ch := &hello.ClientHello{
			Version: tk.version, CipherSuites: goSuites(), ServerName: r.ep.Host, Groups: featureGroups, SessionID: id,
			Extra: []hello.Extension{{Type: extSessionTicket, Data: tk.ticket}},
		}
		rand.Read(ch.Random[:])
		msg, err := ch.Marshal()
		if err != nil {
			return err
		}
		if _, err := conn.Write(msg); err != nil {
			return fmt.Errorf("send hello: %w", err)
		}
		hs, err := hello.ReadHandshake(conn, 0)
		if hs.ServerHello == nil {
			return fmt.Errorf("offering the ticket: %w", err)
		}
		judgeTicketbleed(res, hs, id)
		resumed = res.Resumed && bytes.HasPrefix(hs.ServerHello.SessionID, id)
		return nil
	})
	res.Status, res.Error = statusOf(err)
	return res, resumed, err
}

// judgeTicketbleed fills res from the server's answer to a hello offering
// the ticket with session ID id: the pure half of the check.
func judgeTicketbleed(res *tlswarden.TicketbleedResult, hs *hello.Handshake, id []byte) {
	sid := hs.ServerHello.SessionID
	res.SessionIDEchoed = len(sid)
	res.Resumed = hs.Message(hello.MsgCertificate) == nil && hs.Message(hello.MsgServerHelloDone) == nil
	res.Leaked = res.Resumed && len(sid) > len(id) && bytes.HasPrefix(sid, id)
}
