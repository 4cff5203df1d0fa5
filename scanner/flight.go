package scanner

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// flight tells the budget how one connection went, once: answered (its
// first bytes came back), congested (it timed out, or was reset before any
// answer, on an endpoint that has answered before), or nothing (refused,
// closed by the server, closed by the probe). A nil flight does nothing.
type flight struct {
	b     *budget
	epoch uint64
	seen  *answers  // the endpoint's answers so far
	start time.Time // when the connect began: an answer's delay is from it
	told  atomic.Bool
}

// answers is what one endpoint's connections have shown in a scan.
type answers struct {
	alive    atomic.Bool  // it has answered a connection
	quickest atomic.Int64 // its quickest answer in nanoseconds, 0 before any
}

// answer records one answer's delay and returns the quickest before it
// (0 for the first).
func (a *answers) answer(d time.Duration) time.Duration {
	a.alive.Store(true)
	for {
		q := a.quickest.Load()
		if q != 0 && q <= int64(d) || a.quickest.CompareAndSwap(q, max(int64(d), 1)) {
			return time.Duration(q)
		}
	}
}

// observe looks at one read's or dial's result.
func (f *flight) observe(n int, err error) {
	if f == nil || f.told.Load() {
		return
	}
	switch {
	case n > 0:
		if f.told.CompareAndSwap(false, true) {
			d := time.Since(f.start)
			f.b.answered(d, f.seen.answer(d))
		}
	case err == nil:
	case congestion(err) && f.seen.alive.Load():
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
