package probes

import (
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// TestQueueWatch feeds answer times to the watch as servers of either kind
// produce them.
func TestQueueWatch(t *testing.T) {
	const ms = time.Millisecond
	type answer struct {
		sent, at time.Duration // from the start
		alert    bool
	}
	cases := []struct {
		name    string
		answers []answer
		waiting []time.Duration // hellos sent at these times, never answered
		want    bool
	}{
		{"one a round trip apart", []answer{{0, 100 * ms, false}, {0, 150 * ms, false}, {0, 200 * ms, false}}, nil, true},
		{"together", []answer{{0, 100 * ms, false}, {0, 101 * ms, false}, {0, 150 * ms, false}, {0, 200 * ms, false}}, nil, false},
		{"a busy server answering one late", []answer{{0, 100 * ms, false}, {0, 150 * ms, false}}, nil, false},
		{"one answer, and a hello left waiting a round trip", []answer{{0, 100 * ms, false}}, []time.Duration{0}, false},
		{"one gap, and a hello left waiting", []answer{{0, 100 * ms, false}, {0, 150 * ms, false}}, []time.Duration{0}, true},
		{"alerts come at any time", []answer{{0, 100 * ms, false}, {0, 101 * ms, true}, {0, 150 * ms, false}, {0, 151 * ms, true}, {0, 200 * ms, false}}, nil, true},
		{"hellos sent after the last answer", []answer{{0, 100 * ms, false}, {100 * ms, 200 * ms, false}, {200 * ms, 300 * ms, false}}, nil, false},
		{"loopback: gaps under the floor", []answer{{0, ms / 2, false}, {0, ms, false}, {0, 3 * ms / 2, false}}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now().Add(-time.Second) // every answer in the past
			var q queueWatch
			for _, s := range tc.waiting {
				q.sent(&timedReader{sent: start.Add(s), q: &q})
			}
			for _, a := range tc.answers {
				tr := &timedReader{sent: start.Add(a.sent), q: &q}
				q.sent(tr)
				q.answered(tr, start.Add(a.at), !a.alert)
			}
			if got := q.oneAtATime(t.Context()); got != tc.want {
				t.Errorf("oneAtATime = %v, want %v (quickest %v, wide gaps %d, close %v)", got, tc.want, q.quickest, q.wide, q.close)
			}
		})
	}
}

// TestQueueWatchWaitsForTheNextAnswer: with one gap known and a hello sent
// before the last answer still waiting, the decision waits; an answer
// close behind the last one settles it for a server that answers at once.
func TestQueueWatchWaitsForTheNextAnswer(t *testing.T) {
	var q queueWatch
	now := time.Now()
	sent := now.Add(-400 * time.Millisecond)
	for _, at := range []time.Duration{-300, 0} { // the quickest 100 ms, then a gap of 300 ms
		tr := &timedReader{sent: sent, q: &q}
		q.sent(tr)
		q.answered(tr, now.Add(at*time.Millisecond), true)
	}
	late := &timedReader{sent: sent, q: &q}
	q.sent(late)
	got := make(chan bool)
	go func() { got <- q.oneAtATime(t.Context()) }()
	q.answered(late, time.Now(), true) // within a quickGap (25 ms) of the last, unless the host stalls
	if <-got && q.close {
		t.Error("oneAtATime = true after an answer came together with the last")
	}
}

// oneAtATimeServer serves fs's hellos one connection at a time, as
// gnutls-serv and `openssl s_server` do: after a ServerHello it takes the
// next connection's hello only once the client has closed this one (after
// an alert, or nothing, it closes at once).
func oneAtATimeServer(t *testing.T, fs *fakeServer) netip.AddrPort {
	var turn sync.Mutex
	return tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		turn.Lock()
		defer turn.Unlock()
		w := &firstByte{Conn: c}
		fs.handle(ctx, w)
		if w.first != hello.RecordHandshake {
			return
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, c) // until the client closes
	})
}

// firstByte remembers the first byte written.
type firstByte struct {
	net.Conn
	first byte
}

func (c *firstByte) Write(p []byte) (int, error) {
	if c.first == 0 && len(p) > 0 {
		c.first = p[0]
	}
	return c.Conn.Write(p)
}

// runThrough runs the TLS probe through a proxy adding rtt, four
// connections at a time, and returns its result and wall time.
func runThrough(t *testing.T, proxy netip.AddrPort, alwaysChains bool) (*tlswarden.TLSResult, time.Duration) {
	t.Helper()
	d := tlstest.NewDialer(proxy)
	d.MaxConns = 4
	start := time.Now()
	obs, err := TLS(TLSConfig{NoGroups: true, alwaysChains: alwaysChains}).Run(t.Context(), tlswarden.Endpoint{Host: "localhost", Addr: proxy}, d.Dial)
	if err != nil {
		t.Fatalf("TLS probe (chains forced %v): %v", alwaysChains, err)
	}
	if obs.TLS.Connections != d.Count() {
		t.Errorf("TLS probe reported %d connections; the dialer counted %d", obs.TLS.Connections, d.Count())
	}
	return obs.TLS, time.Since(start)
}

// TestTLSOneAtATimeServerOneChain: through a 50 ms round trip, a server
// with its own order that serves one connection at a time is enumerated
// in one chain a version, with fewer connections than the parallel
// chains and their merging take, and the same facts.
func TestTLSOneAtATimeServerOneChain(t *testing.T) {
	t.Parallel()
	serial := tlstest.RTTProxy(t, oneAtATimeServer(t, kxBlocks()), 50*time.Millisecond)
	chained, chainedWall := runThrough(t, serial, true)
	one, oneWall := runThrough(t, serial, false)
	t.Logf("one at a time: chains %d connections in %v; one chain %d in %v", chained.Connections, chainedWall, one.Connections, oneWall)
	if diff := cmp.Diff(facts(chained), facts(one)); diff != "" {
		t.Errorf("facts differ (-chains +one chain):\n%s", diff)
	}
	if one.Connections >= chained.Connections {
		t.Errorf("one chain took %d connections, the chains %d: want fewer", one.Connections, chained.Connections)
	}
}

// TestTLSParallelServerKeepsChains: a server that serves connections at
// once keeps its chains (through 100 ms, where a busy host's delays are
// far below the gaps that count).
func TestTLSParallelServerKeepsChains(t *testing.T) {
	t.Parallel()
	parallel := tlstest.RTTProxy(t, tlstest.RawServer(t, kxBlocks().handle), 100*time.Millisecond)
	chained, _ := runThrough(t, parallel, true)
	got, _ := runThrough(t, parallel, false)
	if got.Connections != chained.Connections {
		t.Errorf("%d connections, %d with the chains forced: want the chains kept", got.Connections, chained.Connections)
	}
}
