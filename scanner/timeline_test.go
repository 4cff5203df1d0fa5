//go:build linux

package scanner

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// connTap sits between the scanner and a backend (an RTTProxy) and
// records, for every connection, when it was accepted (a slot taken: the
// scanner connects on loopback at once), when the hello came, when the
// answer went back, when the scanner closed it (the slot given back), the
// hello's version and suites and the answer.
type connTap struct {
	start time.Time
	mu    sync.Mutex
	conns []*tapConn
}

// tapConn is one connection through a connTap. Times are from the tap's
// start; -1: never.
type tapConn struct {
	accept, hello, answer, answerEnd, closed time.Duration
	version                                  string
	offered                                  []uint16
	groups                                   []uint16 // supported_groups
	sni                                      bool     // server_name sent
	schemes                                  int      // signature_algorithms offered
	answerSuite                              uint16
	answerKind                               string // "sh", "alert", "closed"
	label                                    string
	chain, step                              int // a chain's hellos, from 1; 0: none
	done                                     bool
}

// newConnTap listens on loopback in front of backend.
func newConnTap(t testing.TB, backend netip.AddrPort) (*connTap, netip.AddrPort) {
	tap := &connTap{start: time.Now()}
	addr := tlstest.RawServer(t, func(_ context.Context, c net.Conn) { tap.relay(c, backend) })
	return tap, addr
}

func (tap *connTap) since() time.Duration { return time.Since(tap.start) }

func (tap *connTap) relay(c net.Conn, backend netip.AddrPort) {
	tap.mu.Lock()
	tc := &tapConn{accept: tap.since(), hello: -1, answer: -1, answerEnd: -1, closed: -1}
	tap.conns = append(tap.conns, tc)
	tap.mu.Unlock()
	b, err := net.Dial("tcp", backend.String())
	if err != nil {
		return
	}
	defer b.Close()
	var wg sync.WaitGroup
	mu := &tap.mu
	var up, down []byte
	wg.Go(func() { // scanner to server
		buf := make([]byte, 16<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				mu.Lock()
				if tc.hello < 0 {
					tc.hello = tap.since()
				}
				if len(up) < 8<<10 {
					up = append(up, buf[:n]...)
				}
				mu.Unlock()
				if _, werr := b.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		mu.Lock()
		tc.closed = tap.since()
		mu.Unlock()
		if t, ok := b.(*net.TCPConn); ok {
			_ = t.SetLinger(0)
		}
		b.Close()
	})
	wg.Go(func() { // server to scanner
		buf := make([]byte, 16<<10)
		for {
			n, err := b.Read(buf)
			if n > 0 {
				mu.Lock()
				if tc.answer < 0 {
					tc.answer = tap.since()
				}
				tc.answerEnd = tap.since()
				if len(down) < 8<<10 {
					down = append(down, buf[:n]...)
				}
				mu.Unlock()
				if _, werr := c.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		c.Close()
	})
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	tc.done = true
	defer func() { _ = recover() }() // a truncated hello or answer stays unparsed
	tc.version, tc.offered, tc.groups = parseClientHello(up)
	tc.sni, tc.schemes = helloExtras(up)
	tc.answerKind, tc.answerSuite = parseServerHello(down)
}

// parseClientHello returns a TLS ClientHello's version, suites and
// supported groups.
func parseClientHello(b []byte) (_ string, _, groups []uint16) {
	if len(b) < 5 || b[0] != 22 {
		if len(b) > 0 && b[0]&0x80 != 0 {
			return "sslv2", nil, nil
		}
		return "?", nil, nil
	}
	h := b[5:]
	if len(h) < 4+2+32+1 {
		return "?", nil, nil
	}
	ver := binary.BigEndian.Uint16(h[4:])
	p := h[4+2+32:]
	p = p[1+int(p[0]):]
	n := int(binary.BigEndian.Uint16(p))
	p = p[2:]
	var suites []uint16
	for i := 0; i+1 < n && i+1 < len(p); i += 2 {
		suites = append(suites, binary.BigEndian.Uint16(p[i:]))
	}
	p = p[n:]
	p = p[1+int(p[0]):] // compression
	if len(p) >= 2 {
		p = p[2:]
		for len(p) >= 4 {
			typ, l := binary.BigEndian.Uint16(p), int(binary.BigEndian.Uint16(p[2:]))
			if typ == 43 && l >= 3 {
				ver = binary.BigEndian.Uint16(p[5:]) // the first offered
			}
			if typ == 10 && l >= 2 {
				for i := 6; i+1 < min(len(p), 4+l); i += 2 {
					groups = append(groups, binary.BigEndian.Uint16(p[i:]))
				}
			}
			p = p[min(len(p), 4+l):]
		}
	}
	names := map[uint16]string{0x0300: "ssl3", 0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}
	return names[ver], suites, groups
}

// parseServerHello returns what the first server record was.
func parseServerHello(b []byte) (string, uint16) {
	switch {
	case len(b) == 0:
		return "closed", 0
	case b[0] == 21:
		return "alert", 0
	case b[0] != 22 || len(b) < 5+4+2+32+1:
		return "?", 0
	}
	p := b[5+4+2+32:]
	p = p[1+int(p[0]):]
	if len(p) < 2 {
		return "?", 0
	}
	return "sh", binary.BigEndian.Uint16(p)
}

// label names what each connection was for, from its hello: the first
// offer of a version, a chain's root and steps (a hello offering what an
// earlier one of its version offered less the suite picked), and the
// order tests (pairs, the preference test), and "spare" for one that
// carried nothing.
func (tap *connTap) label() []*tapConn {
	var conns []*tapConn
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		tap.mu.Lock()
		conns = slices.Clone(tap.conns)
		done := !slices.ContainsFunc(conns, func(c *tapConn) bool { return !c.done })
		tap.mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
	}
	tap.mu.Lock() // copies: the relays of connections still open write on
	for i, c := range conns {
		cp := *c
		conns[i] = &cp
	}
	tap.mu.Unlock()
	slices.SortFunc(conns, func(a, b *tapConn) int { return int(a.accept - b.accept) })
	chain := map[*tapConn]int{}
	step := map[*tapConn]int{}
	chains := map[string]int{}
	maxOffer := map[string]int{}
	for _, c := range conns {
		maxOffer[c.version] = max(maxOffer[c.version], len(c.offered))
	}
	for i, c := range conns {
		switch {
		case c.hello < 0:
			c.label = "unused spare"
			continue
		case len(c.offered) == 0:
			c.label = c.version
			continue
		case len(c.offered) == maxOffer[c.version]:
			c.label = "first offer"
			continue
		}
		parent := -1
		for j := i - 1; j >= 0; j-- {
			p := conns[j]
			if p.version == c.version && p.answerKind == "sh" && len(p.offered) == len(c.offered)+1 &&
				!slices.Contains(c.offered, p.answerSuite) && subset(c.offered, p.offered) {
				parent = j
				break
			}
		}
		switch {
		case parent >= 0 && conns[parent].label != "first offer" && chain[conns[parent]] > 0:
			chain[c], step[c] = chain[conns[parent]], step[conns[parent]]+1
			c.chain, c.step = chain[c], step[c]
			c.label = fmt.Sprintf("chain %d step %d", chain[c], step[c])
		case len(c.offered) == 2:
			c.label = "pair"
		case len(c.offered) > 8:
			chains[c.version]++
			chain[c], step[c] = chains[c.version], 1
			c.chain, c.step = chain[c], step[c]
			c.label = fmt.Sprintf("chain %d step 1", chain[c])
		default:
			c.label = fmt.Sprintf("order %d", len(c.offered))
		}
	}
	return conns
}

func subset(a, b []uint16) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// report writes the timeline in round trips and the slots' occupancy in
// each round trip window.
func (tap *connTap) report(w io.Writer, rtt time.Duration, slots int) {
	conns := tap.label()
	u := func(d time.Duration) string {
		if d < 0 {
			return "   -  "
		}
		return fmt.Sprintf("%6.2f", d.Seconds()/rtt.Seconds())
	}
	fmt.Fprintf(w, "%3s %6s %6s %6s %6s %6s  %-4s %4s %-10s %s\n", "#", "dial", "hello", "ans", "ansEnd", "close", "ver", "offr", "answer", "for")
	var end time.Duration
	for i, c := range conns {
		ans := c.answerKind
		if ans == "sh" {
			ans = fmt.Sprintf("%04X", c.answerSuite)
		}
		fmt.Fprintf(w, "%3d %s %s %s %s %s  %-4s %4d %-10s %s\n", i, u(c.accept), u(c.hello), u(c.answer), u(c.answerEnd), u(c.closed), c.version, len(c.offered), ans, c.label)
		end = max(end, c.closed)
	}
	windows := int(end/rtt) + 1
	busy := make([]float64, windows)
	idle := 0.0
	for k := range windows {
		lo, hi := time.Duration(k)*rtt, time.Duration(k+1)*rtt
		for _, c := range conns {
			from, to := c.accept, c.closed
			if to < 0 {
				to = end
			}
			if o := min(hi, to) - max(lo, from); o > 0 {
				busy[k] += o.Seconds() / rtt.Seconds()
			}
		}
		idle += float64(slots) - busy[k]
	}
	var sb strings.Builder
	for k, b := range busy {
		fmt.Fprintf(&sb, "%d:%.1f ", k, b)
	}
	fmt.Fprintf(w, "slots busy per round trip: %s\n", sb.String())
	fmt.Fprintf(w, "%d connections, %.1f round trips, %.1f slot-round-trips idle of %d\n", len(conns), end.Seconds()/rtt.Seconds(), idle, slots*windows)
}

// scanThroughTap scans addr through an RTTProxy behind a tap with the
// scanner's defaults and the probes given, and returns the tap.
func scanThroughTap(t *testing.T, cfg Config, addr netip.AddrPort, rtt time.Duration) (*connTap, tlswarden.EndpointReport, time.Duration) {
	front := tlstest.RTTProxy(t, addr, rtt)
	tap, taddr := newConnTap(t, front)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now() // about the tap's: New takes microseconds
	r := s.Scan(t.Context(), targetOf(taddr))
	took := time.Since(start)
	e := r.Endpoints[0]
	if e.Status != tlswarden.StatusOK || e.TLS == nil {
		t.Fatalf("%s: %s", e.Status, e.Error)
	}
	return tap, e, took
}

// longestChainWaits returns, for the longest chain of hellos at version,
// its hellos and how many of them waited for a slot: connected more
// than half a round trip after the one before was closed.
func longestChainWaits(conns []*tapConn, version string, rtt time.Duration) (steps, waits int) {
	byChain := map[int][]*tapConn{}
	for _, c := range conns {
		if c.version == version && c.chain > 0 {
			byChain[c.chain] = append(byChain[c.chain], c)
		}
	}
	var longest []*tapConn
	for _, cs := range byChain {
		if len(cs) > len(longest) {
			longest = cs
		}
	}
	for i := 1; i < len(longest); i++ {
		if longest[i].accept-longest[i-1].closed > rtt/2 {
			waits++
		}
	}
	return len(longest), waits
}

// TestScanSlowestCriticalPath scans the fleet benchmark's slowest
// endpoint, nginx "ALL:@SECLEVEL=0" at TLS 1.0 to 1.2 (versions and
// suites, 126 connections under the cap of 4), through a 100 ms round
// trip, and checks that the chain of hellos that decides when it is done,
// TLS 1.2's longest, never waits for a connection slot behind shorter
// work (tlswarden.DialPriority, prioritySem): the other chains fill the
// slots around it. Served in arrival order it waited at 5 to 7 of its 25
// steps. TLS 1.2's first hello must go out at once, not behind SSLv2's
// and SSLv3's. It counts waits and connections, not wall time, so that a
// loaded machine does not fail it; the facts must be loopback's. With -v
// it logs the timeline: each connection in round trips from the scan's
// start, what it was for, and how busy the slots were.
func TestScanSlowestCriticalPath(t *testing.T) {
	const rtt = 100 * time.Millisecond
	addr := tlstest.NginxServer(t, tlstest.NginxConfig{Versions: []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12},
		Ciphers: "ALL:@SECLEVEL=0", DHBits: 1024, PreferServerCiphers: true})
	cfg := Config{Probes: []tlswarden.Probe{probes.TLS(probes.TLSConfig{NoGroups: true})}}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := s.Scan(t.Context(), targetOf(addr)).Endpoints[0]
	if base.Status != tlswarden.StatusOK || base.TLS == nil {
		t.Fatalf("loopback: %s %s", base.Status, base.Error)
	}
	tap, got, took := scanThroughTap(t, cfg, addr, rtt)
	var sb strings.Builder
	tap.report(&sb, rtt, 4)
	t.Logf("%d connections (the TLS probe's %d), %.1f round trips\n%s", got.Connections, got.TLS.Connections, took.Seconds()/rtt.Seconds(), sb.String())
	if diff := cmp.Diff(versionFacts(base.TLS), versionFacts(got.TLS)); diff != "" {
		t.Errorf("facts through %v differ from loopback's (-loopback +%v):\n%s", rtt, rtt, diff)
	}
	if got.Connections > got.TLS.Connections+1 || got.TLS.Connections > base.TLS.Connections {
		t.Errorf("%d connections, the TLS probe's %d, on loopback %d: want the same hellos and at most one spare more", got.Connections, got.TLS.Connections, base.TLS.Connections)
	}
	conns := tap.label()
	steps, waits := longestChainWaits(conns, "1.2", rtt)
	t.Logf("TLS 1.2's longest chain: %d hellos, %d waited for a slot", steps, waits)
	if steps < 20 {
		t.Fatalf("TLS 1.2's longest chain has %d hellos: not the server this test was written for", steps)
	}
	if waits > 3 {
		t.Errorf("TLS 1.2's longest chain waited for a slot at %d of its %d hellos: want at most 3 (none but when the machine is too busy to ask within the slot's hold)", waits, steps)
	}
	first := slices.IndexFunc(conns, func(c *tapConn) bool { return c.version == "1.2" && c.label == "first offer" })
	if first < 0 || conns[first].accept > rtt/2 {
		t.Errorf("TLS 1.2's first hello did not go out at once: %+v", conns[max(first, 0)])
	}
}
