package tlswarden

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
)

type selfClassified struct{ err error }

func (e *selfClassified) Error() string  { return "handshake: " + e.err.Error() }
func (e *selfClassified) Unwrap() error  { return e.err }
func (e *selfClassified) Status() Status { return StatusHandshakeError }

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want Status
	}{
		{nil, StatusOK},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), StatusRefused},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), StatusReset},
		{io.EOF, StatusReset},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), StatusTimeout},
		{context.DeadlineExceeded, StatusTimeout},
		{fmt.Errorf("scan: %w", context.Canceled), StatusCanceled},
		{&ProtocolError{Msg: "bad length"}, StatusProtocolError},
		{&selfClassified{err: fmt.Errorf("alert")}, StatusHandshakeError},
		// A timeout explains a failed handshake better than the handshake does.
		{&selfClassified{err: context.DeadlineExceeded}, StatusTimeout},
		{fmt.Errorf("something else"), StatusError},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.err); got != tt.want {
			t.Errorf("StatusOf(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}
