package probes

import "github.com/tlswarden/tlswarden"

// Priorities of the certificate and HTTP probes' connections. Over a
// network an endpoint's scan is chains of connections sharing a few
// slots (see helloPriority); the certificate and HTTP probes' connections
// used to ask with none, which goes first, and took the slots of the
// first round trips from the TLS probe's chains. Most of them have
// nothing behind them: the certificate probe's key-type hellos and its
// handshake without SNI. Asked for last, they fill the slots the chains
// leave, in the middle of the scan and at its end, where the last chain
// (TLS 1.2's curves, on the server below) ran with slots to spare: list
// scheduling, the jobs with no successor last. The certificate probe's
// first handshake (the key-type hellos wait for it) and the HTTP probe's
// exchange (a handshake and a request, a slot held for about three
// hellos' time) are short chains and ask as TLS 1.3's suite hellos
// offering as many suites do. No more connections, same facts.
//
// The endpoint is bound by its connections more than by its longest
// chain: on nginx with Mozilla's intermediate suites through 50 ms under
// the cap of 4, 41 connections each hold a slot for a connect and a hello
// (about two round trips): 20.5 round trips at the least. The scan took
// 1.154 s against 1.168 s (medians of 15, alternated), with less spread.
// Ranking the group chains above the suites' (by groups left) kept TLS
// 1.2's curve chain from waiting but made TLS 1.2's suites and order
// tests the tail instead, no quicker.

// oneShotPriority is the priority of a connection nothing waits for:
// negative, below every hello of the TLS probe (tlswarden.DialPriority).
const oneShotPriority = -1

// chainPriority is the priority of a connection with left hellos' time,
// itself included, still behind it.
func chainPriority(left int) int {
	return int(tlswarden.TLS13)<<16 | left
}

// Connections of the certificate and HTTP probes, in hellos' time.
const (
	httpLeft      = 3 // a handshake and a request
	certFirstLeft = 2 // a handshake, then the key-type hellos
)
