package vuln

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// heartbleedOverclaim is how many bytes more than it carries the
// heartbeat request's payload_length claims: a vulnerable server sends
// that much of its memory back.
const heartbleedOverclaim = 16384

// heartbleedRequest is a HeartbeatMessage (RFC 6520): type request,
// payload_length overclaimed, 16 bytes of payload, 16 of padding.
func heartbleedRequest() []byte {
	const payload, padding = 16, 16
	msg := make([]byte, 3+payload+padding)
	msg[0] = 1 // heartbeat_request
	claim := payload + heartbleedOverclaim
	msg[1], msg[2] = byte(claim>>8), byte(claim)
	return msg
}

// heartbleed sends the over-long heartbeat request after the server's
// first flight and reads only the header of what comes back: the length
// of a heartbeat response is the evidence, its bytes (the server's memory)
// are never read.
func (r *run) heartbleed(conn net.Conn, version uint16) *tlswarden.HeartbleedResult {
	res := &tlswarden.HeartbleedResult{Tested: true}
	err := r.send(conn, hello.Record(hello.RecordHeartbeat, version, heartbleedRequest()))
	if err == nil {
		var typ uint8
		var n int
		typ, n, err = hello.ReadRecordHeader(conn)
		switch {
		case err == nil && typ == hello.RecordHeartbeat:
			res.OverlongAnswered, res.Answer = true, fmt.Sprintf("heartbeat response of %d bytes", n)
		case err == nil && typ == hello.RecordAlert:
			err = readAlertBody(conn, n)
		case err == nil:
			res.Answer = fmt.Sprintf("record of content type %d", typ)
		}
	}
	res.Answer, err = silence(res.Answer, err)
	res.Status, res.Error = statusOf(err)
	return res
}

// readAlertBody reads the body of an alert record whose header was read,
// and returns it as an *hello.AlertError.
func readAlertBody(conn net.Conn, n int) error {
	if n != 2 {
		return &tlswarden.ProtocolError{Msg: fmt.Sprintf("alert record of %d bytes", n)}
	}
	var b [2]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return fmt.Errorf("reading an alert: %w", err)
	}
	return &hello.AlertError{Level: b[0], Description: b[1]}
}

// send writes msg and then waits at most AnswerWait for the answer.
func (r *run) send(conn net.Conn, msg []byte) error {
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return r.waitAnswer(conn)
}

// silence turns the endings a patched server gives into answers: an
// alert, a closed connection, or no answer within the wait. Other errors
// stay errors.
func silence(answer string, err error) (string, error) {
	var alert *hello.AlertError
	switch {
	case err == nil:
		return answer, nil
	case errors.As(err, &alert):
		return "alert " + alert.Name(), nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "no answer", nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), tlswarden.StatusOf(err) == tlswarden.StatusReset:
		return "closed", nil
	}
	return answer, err
}

// Alert descriptions of a server that switched to keys it does not have.
const (
	alertBadRecordMAC     = 20
	alertDecryptionFailed = 21
)

// ccsInjection sends a ChangeCipherSpec right after the server's first
// flight, then another: a patched server refuses the first with
// unexpected_message, a vulnerable one takes it and fails to decrypt the
// second (testssl.sh run_ccs_injection's test). One connection of its
// own, when the feature connection cannot carry it (see features).
func (r *run) ccsInjection(ctx context.Context, v tlswarden.Version) *tlswarden.CCSResult {
	res := &tlswarden.CCSResult{}
	err := r.session(ctx, func(conn net.Conn) error {
		if err := r.hello(conn, uint16(v), featureSuites); err != nil {
			return err
		}
		hs, err := hello.ReadHandshake(conn, 0)
		if err != nil {
			return err
		}
		return r.injectCCS(conn, hs, v, res)
	})
	res.Status, res.Error = statusOf(err)
	return res
}

// injectCCS is the CCS injection check's half after the hello: hs is the
// server's first flight on conn, at version v.
func (r *run) injectCCS(conn net.Conn, hs *hello.Handshake, v tlswarden.Version, res *tlswarden.CCSResult) error {
	if hs.Message(hello.MsgServerHelloDone) == nil {
		return &tlswarden.ProtocolError{Msg: "the server's flight did not end with ServerHelloDone"}
	}
	ccs := hello.Record(hello.RecordChangeCipherSpec, uint16(v), []byte{1})
	if err := r.send(conn, append(ccs, ccs...)); err != nil {
		return err
	}
	err := hello.ReadAlert(conn, 4096)
	var alert *hello.AlertError
	if errors.As(err, &alert) {
		res.EarlyCCSAccepted = alert.Description == alertBadRecordMAC || alert.Description == alertDecryptionFailed
	}
	res.Answer, err = silence("", err)
	return err
}

// hello writes a ClientHello offering versions up to max.
func (r *run) hello(conn net.Conn, max uint16, suites []uint16) error {
	msg, err := r.clientHello(max, suites)
	if err != nil {
		return err
	}
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("send hello: %w", err)
	}
	return nil
}

// fallbackSCSV is TLS_FALLBACK_SCSV (RFC 7507).
const fallbackSCSV = 0x5600

// alertInappropriateFallback is RFC 7507's alert.
const alertInappropriateFallback = 86

// fallback offers one version below v, the best the server negotiated,
// with TLS_FALLBACK_SCSV: a server that honours it refuses with
// inappropriate_fallback. One connection; none when v is SSLv3 or lower.
func (r *run) fallback(ctx context.Context, v tlswarden.Version) *tlswarden.FallbackResult {
	res := &tlswarden.FallbackResult{Status: tlswarden.StatusOK}
	if v <= tlswarden.SSLv3 {
		return res
	}
	res.Offered = v - 1
	err := r.session(ctx, func(conn net.Conn) error {
		if err := r.hello(conn, uint16(res.Offered), append(slices.Clone(featureSuites), fallbackSCSV)); err != nil {
			return err
		}
		f, err := hello.ReadServerFlight(conn, hello.ReadOptions{})
		var alert *hello.AlertError
		switch {
		case errors.As(err, &alert):
			res.Rejected = alert.Description == alertInappropriateFallback
		case f.ServerHello != nil:
			res.Answer = "ServerHello with " + tlswarden.Version(f.ServerHello.Version).String()
			return nil
		}
		res.Answer, err = silence("", err)
		return err
	})
	res.Status, res.Error = statusOf(err)
	return res
}
