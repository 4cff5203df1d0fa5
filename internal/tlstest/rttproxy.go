package tlstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// RTTProxy listens on a loopback address and relays every connection to
// backend with round trip rtt added, as a network path would: each byte
// takes rtt/2 either way, and the client's first bytes leave no earlier
// than rtt after the connect (the SYN and SYN-ACK). The kernel completes
// the connect at once, so the client may write at once; a connection
// opened ahead and written later pays no more than its own half round
// trip. The relay dials the backend only when the first bytes are due
// there, as a server accepts a connection about when its first data
// arrives (a server that serves one connection at a time would otherwise
// sit on a connection whose hello is still on its way): the client must
// speak first. A reset passes on as a reset. The proxy stops when the
// test ends.
func RTTProxy(t testing.TB, backend netip.AddrPort, rtt time.Duration) netip.AddrPort {
	t.Helper()
	return RawServer(t, func(_ context.Context, c net.Conn) {
		relayRTT(c, backend, rtt, time.Now().Add(rtt))
	})
}

// delayed is one read and when it may be written on; data nil carries the
// end of the stream (io.EOF a FIN, anything else a reset).
type delayed struct {
	data []byte
	err  error
	due  time.Time
}

// relayRTT relays one connection; the client's bytes leave no earlier
// than notBefore plus half the round trip.
func relayRTT(client net.Conn, backend netip.AddrPort, rtt time.Duration, notBefore time.Time) {
	up := readDelayed(client, rtt/2, notBefore)
	first, ok := <-up
	if !ok || first.data == nil {
		rstClose(client)
		for range up {
		}
		return
	}
	time.Sleep(time.Until(first.due))
	server, err := net.Dial("tcp", backend.String())
	if err != nil {
		rstClose(client)
		for range up {
		}
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { writeDelayed(server, client, first, up) })
	wg.Go(func() { writeDelayed(client, server, delayed{}, readDelayed(server, rtt/2, time.Time{})) })
	wg.Wait()
	client.Close()
	server.Close()
}

// readDelayed reads src to its end, each read due delay after it was
// read and not before notBefore plus delay.
func readDelayed(src net.Conn, delay time.Duration, notBefore time.Time) <-chan delayed {
	q := make(chan delayed, 256)
	go func() {
		defer close(q)
		buf := make([]byte, 16<<10)
		for {
			n, err := src.Read(buf)
			at := time.Now()
			if at.Before(notBefore) {
				at = notBefore
			}
			if n > 0 {
				q <- delayed{data: bytes.Clone(buf[:n]), due: at.Add(delay)}
			}
			if err != nil {
				q <- delayed{err: err, due: at.Add(delay)}
				return
			}
		}
	}()
	return q
}

// writeDelayed writes first, when it holds anything, then q's reads to
// dst, each at its time; src is reset when dst fails.
func writeDelayed(dst, src net.Conn, first delayed, q <-chan delayed) {
	failed := false
	write := func(d delayed) {
		time.Sleep(time.Until(d.due))
		switch {
		case failed:
		case d.data != nil:
			if _, err := dst.Write(d.data); err != nil {
				failed = true
				rstClose(src)
			}
		case errors.Is(d.err, io.EOF):
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
				return
			}
			rstClose(dst)
		case d.err != nil:
			rstClose(dst)
		}
	}
	if first.data != nil || first.err != nil {
		write(first)
	}
	for d := range q {
		write(d)
	}
}

// rstClose closes c with a TCP reset rather than a FIN.
func rstClose(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
