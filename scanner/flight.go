package scanner

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
)

// flight tells the budget how one connection went, once: answered (its
// first bytes came back), congested (it timed out, or was reset before any
// answer, on an endpoint that has answered before), or nothing (refused,
// closed by the server, closed by the probe). A nil flight does nothing.
type flight struct {
	b     *budget
	epoch uint64
	alive *atomic.Bool // the endpoint has answered a connection of this scan
	told  atomic.Bool
}

// observe looks at one read's or dial's result.
func (f *flight) observe(n int, err error) {
	if f == nil || f.told.Load() {
		return
	}
	switch {
	case n > 0:
		if f.told.CompareAndSwap(false, true) {
			f.alive.Store(true)
			f.b.answered()
		}
	case err == nil:
	case congestion(err) && f.alive.Load():
		if f.told.CompareAndSwap(false, true) {
			f.b.congested(f.epoch)
		}
	default:
		f.told.Store(true)
	}
}

// congestion reports whether err is what a loaded path or server does: a
// timeout, or a reset (a listen queue overflowing, a middlebox shedding
// state). A refusal is a closed port, and says nothing of the kind.
func congestion(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ECONNRESET) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// Read reports the first read's outcome to the connection's flight.
func (c *slotConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.flight.observe(n, err)
	return n, err
}
