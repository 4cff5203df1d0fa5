// Package preamble holds, for each protocol whose TLS starts after a
// plain-text exchange, the one small exchange that brings a fresh
// connection to the point where the server expects a ClientHello: SMTP
// (EHLO, STARTTLS), IMAP (STARTTLS), POP3 (STLS), FTP (AUTH TLS), LDAP
// (the StartTLS extended operation), XMPP (stream features, starttls),
// PostgreSQL and MySQL (SSLRequest). The scanner wraps every probe's dialer
// with it, so every TLS test works over every kind unchanged.
//
// Each exchange reads at most MaxBytes from the server, no line longer than
// MaxLine, and ends by the context's deadline; it never sends mail, logs
// in or writes anything. What the server said is returned as facts.
package preamble

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Bounds on what a server may send before TLS.
const (
	MaxBytes = 64 << 10 // everything read before TLS
	MaxLine  = 4 << 10  // one line of a text protocol
	// DefaultTimeout bounds an exchange whose context has no deadline.
	DefaultTimeout = 30 * time.Second
	maxBanner      = 200 // bytes of a banner kept in the report
	maxCaps        = 64  // capabilities kept in the report
)

// EHLOName is the name tlswarden gives in SMTP's EHLO: a name reserved to
// never resolve (RFC 2606), since it sends no mail.
const EHLOName = "tlswarden.invalid"

// exchanges maps each kind with a plain-text exchange before TLS to it.
var exchanges = map[tlswarden.Kind]func(*session) error{
	tlswarden.KindSMTP:       smtp,
	tlswarden.KindSubmission: smtp,
	tlswarden.KindIMAP:       imap,
	tlswarden.KindPOP3:       pop3,
	tlswarden.KindFTP:        ftp,
	tlswarden.KindLDAP:       ldap,
	tlswarden.KindXMPP:       xmppClient,
	tlswarden.KindXMPPServer: xmppServer,
	tlswarden.KindPostgres:   postgres,
	tlswarden.KindMySQL:      mysql,
}

// For returns the preamble of kind k, or nil when TLS starts on connect.
func For(k tlswarden.Kind) tlswarden.Preamble {
	ex, ok := exchanges[k]
	if !ok {
		return nil
	}
	return func(ctx context.Context, c net.Conn, host string) (*tlswarden.ServiceResult, error) {
		return run(ctx, c, host, k, ex)
	}
}

// run bounds one exchange in time and bytes and turns its end into facts.
func run(ctx context.Context, c net.Conn, host string, k tlswarden.Kind, ex func(*session) error) (*tlswarden.ServiceResult, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	if err := c.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%s preamble: %w", k, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	s := newSession(c, host, k)
	err := ex(s)
	if err == nil && s.r.Buffered() > 0 {
		// Bytes after the go-ahead would be read as TLS by nobody, or be
		// an injection attempt (CVE-2011-0411): refuse to go on.
		err = &tlswarden.ProtocolError{Msg: fmt.Sprintf("%d bytes arrived after the server agreed to start TLS", s.r.Buffered())}
	}
	if err == nil {
		_ = c.SetDeadline(time.Time{})
		s.res.StartTLS = true
	}
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	s.res.Status = tlswarden.StatusOf(err)
	if errors.Is(err, tlswarden.ErrNoStartTLS) {
		s.res.Status = tlswarden.StatusOK
	}
	if err != nil {
		s.res.Error = err.Error()
		err = fmt.Errorf("%s preamble: %w", k, err)
	}
	return &s.res, err
}

// session is one exchange: a reader bounded in bytes, and the facts.
type session struct {
	c    net.Conn
	r    *bufio.Reader
	host string
	res  tlswarden.ServiceResult
}

func newSession(c net.Conn, host string, k tlswarden.Kind) *session {
	lim := &io.LimitedReader{R: c, N: MaxBytes}
	return &session{c: c, r: bufio.NewReaderSize(limitErr{lim}, MaxLine), host: host, res: tlswarden.ServiceResult{Kind: k}}
}

// limitErr says why the byte budget ran out instead of reporting EOF.
type limitErr struct{ l *io.LimitedReader }

func (r limitErr) Read(p []byte) (int, error) {
	if r.l.N <= 0 {
		return 0, &tlswarden.ProtocolError{Msg: fmt.Sprintf("the server sent more than %d bytes before TLS", MaxBytes)}
	}
	return r.l.Read(p)
}

// send writes one command.
func (s *session) send(b []byte) error {
	if _, err := s.c.Write(b); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// line reads one line without its CR LF.
func (s *session) line() (string, error) {
	b, err := s.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", &tlswarden.ProtocolError{Msg: fmt.Sprintf("a line longer than %d bytes", MaxLine)}
	}
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// banner keeps a printable, bounded copy of what the server greeted with.
func (s *session) banner(text string) { s.res.Banner = printable(text, maxBanner) }

// capability records one announced capability, within bounds.
func (s *session) capability(c string) {
	c = printable(strings.TrimSpace(c), 100)
	if c != "" && len(s.res.Capabilities) < maxCaps {
		s.res.Capabilities = append(s.res.Capabilities, c)
	}
}

// printable replaces control and non-ASCII bytes and cuts to n bytes.
func printable(s string, n int) string {
	b := []byte(s)
	if len(b) > n {
		b = b[:n]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// notOffered records the server's answer and says STARTTLS is not offered.
func (s *session) notOffered(reply string) error {
	s.res.Reply = printable(reply, maxBanner)
	return tlswarden.ErrNoStartTLS
}

// RefusedError is a server that answered the connection with a refusal
// (SMTP or FTP 421 or 554, POP3 -ERR, IMAP BYE): often a limit on
// connections per client, sometimes a block list.
type RefusedError struct{ Reply string }

func (e *RefusedError) Error() string { return "the server turned the connection away: " + e.Reply }

// Status is refused: the server, not the network, said no.
func (e *RefusedError) Status() tlswarden.Status { return tlswarden.StatusRefused }

func (s *session) refused(reply string) error {
	s.res.Reply = printable(reply, maxBanner)
	return &RefusedError{Reply: s.res.Reply}
}

func protoErr(format string, args ...any) error {
	return &tlswarden.ProtocolError{Msg: fmt.Sprintf(format, args...)}
}
