package tlstest

import (
	"context"
	"io"
	"net"
	"time"
)

// Handlers for RawServer that misbehave the ways real servers do. Each reads
// what the client sends first (one read, enough for a ClientHello on
// loopback) unless it says otherwise, and ends when the test does.

// Silent accepts and never says anything.
func Silent(ctx context.Context, c net.Conn) {
	_, _ = io.Copy(io.Discard, c)
}

// Reply answers the client's first bytes with b and closes the connection.
func Reply(b []byte) func(context.Context, net.Conn) {
	return func(ctx context.Context, c net.Conn) {
		readSome(c)
		_, _ = c.Write(b)
	}
}

// ReplyAndHold answers the client's first bytes with b and keeps the
// connection open without a further word, as a server waiting for the
// client's next flight does.
func ReplyAndHold(b []byte) func(context.Context, net.Conn) {
	return func(ctx context.Context, c net.Conn) {
		readSome(c)
		_, _ = c.Write(b)
		_, _ = io.Copy(io.Discard, c)
	}
}

// Reset reads the client's first bytes and resets the connection (RST, not
// FIN).
func Reset(ctx context.Context, c net.Conn) {
	readSome(c)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// CloseSilently reads the client's first bytes and closes the connection
// normally, with no reply.
func CloseSilently(ctx context.Context, c net.Conn) {
	readSome(c)
}

// Trickle answers the client's first bytes with b, one byte every interval,
// so that each read succeeds but the whole answer takes len(b) intervals.
func Trickle(b []byte, every time.Duration) func(context.Context, net.Conn) {
	return func(ctx context.Context, c net.Conn) {
		readSome(c)
		t := time.NewTicker(every)
		defer t.Stop()
		for i := range b {
			if _, err := c.Write(b[i : i+1]); err != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}

func readSome(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	_, _ = c.Read(buf)
	_ = c.SetReadDeadline(time.Time{})
}
