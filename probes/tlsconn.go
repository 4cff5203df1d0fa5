package probes

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"syscall"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// exchange opens one connection, sends msg and hands the connection to read.
// The exchange must end by the earlier of ctx's deadline and Timeout from
// the moment the connection is open, so a server that trickles bytes is cut
// off as surely as a silent one; canceling ctx ends it at once.
func (r *tlsRun) exchange(ctx context.Context, msg []byte, read func(io.Reader) error) error {
	r.conns.Add(1)
	conn, err := r.dial(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(r.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(msg); err != nil {
		return withCtxErr(ctx, fmt.Errorf("send hello: %w", err))
	}
	return withCtxErr(ctx, read(conn))
}

// withCtxErr marks an error that happened because ctx ended, so that it is
// classified as canceled or timed out rather than as a network failure.
func withCtxErr(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	return fmt.Errorf("%w: %w", ctx.Err(), err)
}

// send writes one ClientHello, with a fresh random (and session id for a
// TLS 1.3 offer), and reads the server's flight.
func (r *tlsRun) send(ctx context.Context, ch *hello.ClientHello, keyExchange bool) (*hello.Flight, error) {
	rand.Read(ch.Random[:])
	if len(ch.SessionID) > 0 {
		rand.Read(ch.SessionID)
	}
	msg, err := ch.Marshal()
	if err != nil {
		return nil, err
	}
	var f *hello.Flight
	err = r.exchange(ctx, msg, func(rd io.Reader) error {
		var err error
		f, err = hello.ReadServerFlight(rd, hello.ReadOptions{KeyExchange: keyExchange})
		return err
	})
	return f, err
}

// helloVerdict is what one answer to a ClientHello at a version says.
type helloVerdict int

const (
	// accepted: a ServerHello at the version offered, naming an offered suite.
	verdictAccepted helloVerdict = iota
	// otherVersion: a ServerHello at a lower version, or a protocol_version
	// alert: the version is not supported.
	verdictOtherVersion
	// refused: another alert, or the connection closed without a reply:
	// nothing offered is acceptable.
	verdictRefused
	// failed: a timeout, garbage, or an answer no correct server gives.
	verdictFailed
)

// helloAnswer is one ClientHello's outcome.
type helloAnswer struct {
	verdict helloVerdict
	sh      *hello.ServerHello
	kx      *hello.KeyExchange
	// closed marks a refusal by closing without any reply.
	closed bool
	// err explains every verdict but accepted (for which it holds any error
	// after the ServerHello, which does not matter to the verdict).
	err error
}

// judgeReply classifies the reply to a ClientHello at version v that offered the
// given suites.
func judgeReply(v tlswarden.Version, offered []uint16, f *hello.Flight, err error) helloAnswer {
	if f != nil && f.ServerHello != nil {
		return judgeServerHello(v, offered, f, err)
	}
	var alert *hello.AlertError
	switch {
	case errors.As(err, &alert) && alert.Description == hello.AlertProtocolVersion:
		return helloAnswer{verdict: verdictOtherVersion, err: err}
	case errors.As(err, &alert):
		return helloAnswer{verdict: verdictRefused, err: err}
	case closedWithoutReply(err):
		return helloAnswer{verdict: verdictRefused, closed: true, err: err}
	case err == nil:
		err = errors.New("no reply") // cannot happen: a flight without ServerHello has an error
	}
	return helloAnswer{verdict: verdictFailed, err: err}
}

func judgeServerHello(v tlswarden.Version, offered []uint16, f *hello.Flight, err error) helloAnswer {
	sh := f.ServerHello
	got := tlswarden.Version(sh.Version)
	switch {
	case v == tlswarden.TLS13 && sh.SupportedVersion != uint16(tlswarden.TLS13) && got >= v:
		return helloAnswer{verdict: verdictFailed, err: tlsProtocolErrorf("TLS 1.3 ServerHello without supported_versions")}
	case v != tlswarden.TLS13 && sh.HelloRetryRequest:
		return helloAnswer{verdict: verdictFailed, err: tlsProtocolErrorf("HelloRetryRequest in answer to a %s ClientHello", v)}
	case got < v:
		return helloAnswer{verdict: verdictOtherVersion, sh: sh, err: fmt.Errorf("server answered with %s", got)}
	case got > v:
		return helloAnswer{verdict: verdictFailed, err: tlsProtocolErrorf("server answered %s to a %s ClientHello", got, v)}
	case !slices.Contains(offered, sh.CipherSuite):
		return helloAnswer{verdict: verdictFailed, err: tlsProtocolErrorf("server chose cipher suite 0x%04X, which was not offered", sh.CipherSuite)}
	case sh.Compression != 0:
		return helloAnswer{verdict: verdictFailed, err: tlsProtocolErrorf("server chose compression method %d, which was not offered", sh.Compression)}
	}
	return helloAnswer{verdict: verdictAccepted, sh: sh, kx: f.KeyExchange, err: err}
}

// closedWithoutReply reports a connection the server closed or reset instead of
// answering.
func closedWithoutReply(err error) bool {
	var pe *tlswarden.ProtocolError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func tlsProtocolErrorf(format string, args ...any) error {
	return &tlswarden.ProtocolError{Msg: fmt.Sprintf(format, args...)}
}
