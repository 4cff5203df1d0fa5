package tlswarden

import (
	"context"
	"net"
)

// Some servers serve one connection after the other: appliances, and
// `openssl s_server`. A hello that waits behind another probe's connection
// times out though the server is sound. The scanner and the probes agree
// on three things, beside the DialFunc, to scan such servers: a probe asks
// for a connection alone when it retries an exchange that timed out; a
// connection tells whether others to the endpoint were open beside it; and
// a probe whose retry alone was answered after a crowded timeout asks that
// the endpoint get one connection at a time from then on.

type dialAloneKey struct{}

// DialAlone returns ctx marked so that a DialFunc given it opens a
// connection only when no other to the endpoint is open, and opens no
// other beside it until it is closed.
func DialAlone(ctx context.Context) context.Context {
	return context.WithValue(ctx, dialAloneKey{}, true)
}

// DialsAlone reports whether ctx was marked by DialAlone.
func DialsAlone(ctx context.Context) bool {
	alone, _ := ctx.Value(dialAloneKey{}).(bool)
	return alone
}

// SharedConn is implemented by the connections of a DialFunc that knows
// what else is open to the endpoint (the scanner's).
type SharedConn interface {
	net.Conn
	// Crowded reports whether another connection to the endpoint was open
	// at some time while this one was.
	Crowded() bool
	// OneAtATime asks that the endpoint get one connection at a time from
	// now on, and that its report say so.
	OneAtATime()
}

// Crowded reports whether c is a SharedConn that was crowded; false when
// the DialFunc does not tell.
func Crowded(c net.Conn) bool {
	sc, ok := c.(SharedConn)
	return ok && sc.Crowded()
}

// OneAtATime asks, when c is a SharedConn, that its endpoint get one
// connection at a time from now on.
func OneAtATime(c net.Conn) {
	if sc, ok := c.(SharedConn); ok {
		sc.OneAtATime()
	}
}

type dialPriorityKey struct{}

// DialPriority returns ctx marked so that a DialFunc given it, when it
// must wait for a connection slot of the endpoint, is served before the
// dials of lower priority that wait there and after those of higher;
// dials of one priority are served in the order they came. A dial not
// marked has the highest priority: a probe marks the connections of its
// own long enumeration, which then make way for the few other probes'
// and among themselves for those with the longest chain of connections
// still behind them. A negative priority marks a connection nothing
// waits for: it fills the slots the others leave, and once it has waited
// five seconds it is served as if not marked, so that it still comes
// well within its probe's timeout.
func DialPriority(ctx context.Context, priority int) context.Context {
	return context.WithValue(ctx, dialPriorityKey{}, priority)
}

// DialPriorityOf returns ctx's priority (DialPriority) and whether it has
// one.
func DialPriorityOf(ctx context.Context) (int, bool) {
	p, ok := ctx.Value(dialPriorityKey{}).(int)
	return p, ok
}
