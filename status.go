package tlswarden

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// StatusOf classifies an error from resolution or a probe into a Status.
// Cancellation, timeouts, refusals and resets explain a failure first; then
// an error that knows its own status (it has a Status() Status method, like
// a TLS alert or a failed handshake) says so.
func StatusOf(err error) Status {
	var (
		own      interface{ Status() Status }
		protoErr *ProtocolError
		netErr   net.Error
	)
	switch {
	case err == nil:
		return StatusOK
	case errors.Is(err, context.Canceled):
		return StatusCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return StatusTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return StatusRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return StatusReset
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return StatusUnreachable
	case errors.As(err, &own):
		return own.Status()
	case errors.As(err, &protoErr):
		return StatusProtocolError
	case errors.As(err, &netErr) && netErr.Timeout():
		return StatusTimeout
	}
	return StatusError
}
