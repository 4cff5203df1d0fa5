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
func (r *run) ticketbleed(ctx context.Context, tk *ticket) *tlswarden.TicketbleedResult {
	res := &tlswarden.TicketbleedResult{Status: tlswarden.StatusOK}
	if tk == nil {
		return res
	}
	res.Tested, res.SessionIDSent = true, ticketbleedIDLen
	id := make([]byte, ticketbleedIDLen)
	rand.Read(id)
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
		return nil
	})
	res.Status, res.Error = statusOf(err)
	return res
}

// judgeTicketbleed fills res from the server's answer to a hello offering
// the ticket with session ID id: the pure half of the check.
func judgeTicketbleed(res *tlswarden.TicketbleedResult, hs *hello.Handshake, id []byte) {
	sid := hs.ServerHello.SessionID
	res.SessionIDEchoed = len(sid)
	res.Resumed = hs.Message(hello.MsgCertificate) == nil && hs.Message(hello.MsgServerHelloDone) == nil
	res.Leaked = res.Resumed && len(sid) > len(id) && bytes.HasPrefix(sid, id)
}
