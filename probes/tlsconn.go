package probes

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// exchange opens one connection, sends msg and hands the connection to
// read. A hello that timed out is sent once more on a connection alone
// (tlswarden.DialAlone): the server may have been busy with another of
// the endpoint's connections, as servers that serve one at a time are, or
// a packet may have been lost. When the first timed out beside other
// connections and the one alone is answered, the endpoint is asked to get
// one connection at a time from then on. A retry alone that times out too
// ends the retries of the run: the server is silent, not busy.
func (r *tlsRun) exchange(ctx context.Context, msg []byte, read func(io.Reader) error) error {
	crowded, err := r.exchangeOnce(ctx, msg, read, nil)
	if !timedOut(ctx, err) || r.noRetry.Load() {
		return err
	}
	r.log.Debug("hello timed out; retrying alone", "crowded", crowded, "err", err)
	_, retryErr := r.exchangeOnce(tlswarden.DialAlone(ctx), msg, read, func(c net.Conn) {
		if crowded {
			tlswarden.OneAtATime(c)
		}
	})
	switch {
	case errors.Is(retryErr, errRetryDropped):
		return err
	case timedOut(ctx, retryErr):
		r.noRetry.Store(true)
	}
	return retryErr
}

// errRetryDropped ends a retry that got its connection after another
// retry of the run timed out: hellos that timed out together wait for
// their turn alone together, and a silent server would otherwise cost a
// timeout each.
var errRetryDropped = errors.New("retry dropped: the server is silent")

// exchangeOnce is one connection of exchange. The exchange must end by the
// earlier of ctx's deadline and Timeout from the moment the connection is
// open, so a server that trickles bytes is cut off as surely as a silent
// one; canceling ctx ends it at once. It reports whether other connections
// to the endpoint were open beside this one. answered is set for a retry
// alone: it is called when the server answered before the deadline, and
// the retry is dropped when another retry of the run timed out while this
// one waited for its connection.
func (r *tlsRun) exchangeOnce(ctx context.Context, msg []byte, read func(io.Reader) error, answered func(net.Conn)) (crowded bool, err error) {
	r.conns.Add(1)
	signalAsked(ctx)
	conn, err := r.dial(ctx)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() { crowded = tlswarden.Crowded(conn); conn.Close() }()
	if answered != nil && r.noRetry.Load() {
		return false, errRetryDropped
	}
	deadline := time.Now().Add(r.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return false, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	tr := &timedReader{r: conn, sent: time.Now(), q: &r.queue}
	r.queue.sent(tr)
	defer r.queue.ended(tr)
	if _, err := conn.Write(msg); err != nil {
		return false, withCtxErr(ctx, fmt.Errorf("send hello: %w", err))
	}
	err = withCtxErr(ctx, read(tr))
	if answered != nil && !timedOut(ctx, err) {
		answered(conn)
	}
	return false, err
}

// timedOut reports an exchange that ran out of its own time (a connect or
// read deadline) while ctx still had time.
func timedOut(ctx context.Context, err error) bool {
	var ne net.Error
	return err != nil && ctx.Err() == nil && (errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout())
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
		f, err = hello.ReadServerFlight(rd, hello.ReadOptions{KeyExchange: keyExchange, KeepCertificate: keyExchange && r.shared != nil})
		return err
	})
	r.shared.keepFlight(ch, f) // for the certificate probe (cert_flight.go)
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
