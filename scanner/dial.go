package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sync/semaphore"

	"github.com/tlswarden/tlswarden"
)

// addrLimit returns the semaphore bounding connections to one address.
func (s *Scanner) addrLimit(a netip.Addr) *semaphore.Weighted {
	s.mu.Lock()
	defer s.mu.Unlock()
	sem, ok := s.perIP[a]
	if !ok {
		sem = semaphore.NewWeighted(int64(s.cfg.MaxConnsPerAddr))
		s.perIP[a] = sem
	}
	return sem
}

// dialFunc returns the DialFunc handed to probes for one endpoint: it waits
// for a free slot for the address, connects, and counts the connection. The
// slot is released when the connection is closed.
func (s *Scanner) dialFunc(addr netip.AddrPort, count *atomic.Int64) tlswarden.DialFunc {
	sem := s.addrLimit(addr.Addr())
	return func(ctx context.Context) (net.Conn, error) {
		if err := sem.Acquire(ctx, 1); err != nil {
			return nil, fmt.Errorf("dial %s: waiting for a connection slot: %w", addr, err)
		}
		count.Add(1)
		s.conns.Add(1)
		c, err := s.dialer.DialContext(ctx, "tcp", addr.String())
		if err != nil {
			sem.Release(1)
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		return &slotConn{Conn: c, release: sync.OnceFunc(func() { sem.Release(1) })}, nil
	}
}

// slotConn gives its address slot back when closed.
type slotConn struct {
	net.Conn
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// StatusOf classifies an error from resolution or a probe into a Status.
func StatusOf(err error) tlswarden.Status {
	var (
		dnsErr   *dnsError
		protoErr *tlswarden.ProtocolError
		netErr   net.Error
	)
	switch {
	case err == nil:
		return tlswarden.StatusOK
	case errors.Is(err, context.Canceled):
		return tlswarden.StatusCanceled
	case errors.As(err, &dnsErr):
		return tlswarden.StatusDNSError
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return tlswarden.StatusTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return tlswarden.StatusRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.EPIPE):
		return tlswarden.StatusReset
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return tlswarden.StatusUnreachable
	case errors.As(err, &protoErr):
		return tlswarden.StatusProtocolError
	case errors.As(err, &netErr) && netErr.Timeout():
		return tlswarden.StatusTimeout
	}
	var st interface{ Status() tlswarden.Status }
	if errors.As(err, &st) {
		return st.Status()
	}
	return tlswarden.StatusError
}
