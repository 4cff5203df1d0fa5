package scanner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
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

// dialFunc returns the DialFunc handed to probes for one endpoint: it checks
// the address against the scope, waits for a free slot for the address and
// for the global pace, connects, and counts the connection. The slot is
// released when the connection is closed.
func (s *Scanner) dialFunc(addr netip.AddrPort, count *atomic.Int64) tlswarden.DialFunc {
	sem := s.addrLimit(addr.Addr())
	return func(ctx context.Context) (net.Conn, error) {
		if err := s.checkScope(addr.Addr()); err != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		if err := sem.Acquire(ctx, 1); err != nil {
			return nil, fmt.Errorf("dial %s: waiting for a connection slot: %w", addr, err)
		}
		if err := s.pace.wait(ctx); err != nil {
			sem.Release(1)
			return nil, fmt.Errorf("dial %s: waiting for the connection rate: %w", addr, err)
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

// checkScope asks the configured scope, if any, about addr.
func (s *Scanner) checkScope(addr netip.Addr) error {
	if s.cfg.Scope == nil {
		return nil
	}
	return s.cfg.Scope.Check(addr)
}

// controlScope checks the scope once more on the socket address itself,
// just before connect(2): whatever path a connection takes through the
// dialer, no address the scope refuses is ever connected to.
func (s *Scanner) controlScope(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: not an address the scope can check: %w", network, address, err)
	}
	return s.checkScope(ap.Addr())
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

// StatusOf classifies an error from resolution or a probe into a Status. A
// failed resolution is a dns_error whatever its cause, unless the scan was
// canceled.
func StatusOf(err error) tlswarden.Status {
	var de *dnsError
	if errors.As(err, &de) && !errors.Is(err, context.Canceled) {
		return tlswarden.StatusDNSError
	}
	return tlswarden.StatusOf(err)
}

// Dial connects to any port of an address under that address's connection
// cap, for probes that need a second port (plain HTTP beside HTTPS). The
// connection is counted in Connections but not in an endpoint's count.
func (s *Scanner) Dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	var uncounted atomic.Int64
	return s.dialFunc(addr, &uncounted)(ctx)
}
