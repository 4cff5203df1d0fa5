package hello

import (
	"errors"
	"io"
	"sync"
)

// aheadSize is a read-ahead buffer's size: a whole flight of most servers
// (ServerHello, Certificate, ServerKeyExchange, ServerHelloDone arrive
// together, a few KiB), so that it takes one system call instead of two a
// record (header, then body). A record longer than the buffer is read
// straight into its own slice.
const aheadSize = 8 << 10

// aheadPool keeps the buffers between flights: what a flight returns is
// copied out of them, so one is free again once its flight is read.
var aheadPool = sync.Pool{New: func() any { return new([aheadSize]byte) }}

// readAhead holds what the connection had ready beyond what a
// recordReader has taken: the reader asks for as much as the connection
// has, within its byte limit, and takes records out of it. A connection
// read with it must not be read again without it: the bytes it holds are
// gone from the connection.
type readAhead struct {
	buf        *[aheadSize]byte
	start, end int // buf[start:end] read and not yet taken
}

func newReadAhead() readAhead {
	return readAhead{buf: aheadPool.Get().(*[aheadSize]byte)}
}

// release gives the buffer back; the readAhead is not to be used again.
func (a *readAhead) release() {
	if a.buf != nil {
		aheadPool.Put(a.buf)
		a.buf = nil
	}
}

// readFull fills p as io.ReadFull(r, p) does (io.EOF when nothing was
// read, io.ErrUnexpectedEOF when part of p was), first from what is held,
// then reading ahead from r at most limit bytes counted from p's start.
func (a *readAhead) readFull(r io.Reader, p []byte, limit int) (int, error) {
	n := copy(p, a.buf[a.start:a.end])
	a.start += n
	for n < len(p) {
		if len(p)-n >= aheadSize {
			m, err := io.ReadFull(r, p[n:])
			return n + m, fullErr(n+m, err)
		}
		m, err := r.Read(a.buf[:min(aheadSize, limit-n)])
		c := copy(p[n:], a.buf[:m])
		a.start, a.end = c, m
		n += c
		if err != nil && n < len(p) {
			return n, fullErr(n, err)
		}
	}
	return n, nil
}

// fullErr is io.ReadFull's error for a short read of n bytes ending in err.
func fullErr(n int, err error) error {
	if n > 0 && errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
