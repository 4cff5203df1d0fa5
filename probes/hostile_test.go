package probes

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// hostileTimeout keeps these tests fast: every connection ends within it.
const hostileTimeout = 300 * time.Millisecond

// runHostile probes a raw server with a short timeout and checks that it
// ends in bounded time, with nothing reported as supported.
func runHostile(t *testing.T, handle func(context.Context, net.Conn)) (*tlswarden.TLSResult, error) {
	t.Helper()
	start := time.Now()
	res, err := runTLS(t, tlstest.RawServer(t, handle), "localhost", TLSConfig{Timeout: hostileTimeout})
	// Six versions over four connection slots, each connection bounded by
	// the timeout, and a fallback hello at most: a few timeouts in all.
	if elapsed := time.Since(start); elapsed > 6*hostileTimeout {
		t.Errorf("probe took %v", elapsed)
	}
	return res, err
}

// checkHostile checks that no version is supported and that each has the
// status wanted and an error.
func checkHostile(t *testing.T, res *tlswarden.TLSResult, want tlswarden.Status) {
	t.Helper()
	for _, v := range res.Versions {
		if v.Supported || len(v.Suites) > 0 || v.Status != want || v.Error == "" {
			t.Errorf("%s: supported %v, %d suites, status %s (want %s), error %q", v.Version, v.Supported, len(v.Suites), v.Status, want, v.Error)
		}
	}
	if len(res.Groups) > 0 {
		t.Errorf("groups %v from a hostile server", res.Groups)
	}
}

func TestTLSHostileSilent(t *testing.T) {
	res, err := runHostile(t, tlstest.Silent)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	checkHostile(t, res, tlswarden.StatusTimeout)
}

func TestTLSHostileGarbage(t *testing.T) {
	res, err := runHostile(t, tlstest.Reply([]byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")))
	var pe *tlswarden.ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "plaintext") {
		t.Errorf("err = %v, want a protocol error about plaintext", err)
	}
	checkHostile(t, res, tlswarden.StatusProtocolError)
}

func TestTLSHostileReset(t *testing.T) {
	res, err := runHostile(t, tlstest.Reset)
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want a reset", err)
	}
	checkHostile(t, res, tlswarden.StatusReset)
}

func TestTLSHostileClose(t *testing.T) {
	res, err := runHostile(t, tlstest.CloseSilently)
	if !errors.Is(err, io.EOF) {
		t.Errorf("err = %v, want EOF", err)
	}
	checkHostile(t, res, tlswarden.StatusReset)
}

// TestTLSHostileTrickle sends a valid ServerHello one byte every 50ms: each
// read succeeds, but the connection's deadline must cut it off.
func TestTLSHostileTrickle(t *testing.T) {
	sh := fakeRecord(22, 0x0303, fakeHandshake(2, fakeServerHello(0x0303, 0xC02F, [32]byte{1})))
	res, err := runHostile(t, tlstest.Trickle(sh, 50*time.Millisecond))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	checkHostile(t, res, tlswarden.StatusTimeout)
}

// TestTLSHostileStallAfterHeader sends a record header promising more than
// it sends, then holds the connection.
func TestTLSHostileStallAfterHeader(t *testing.T) {
	res, err := runHostile(t, tlstest.ReplyAndHold([]byte{22, 3, 3, 0x40, 0, 2, 0}))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	checkHostile(t, res, tlswarden.StatusTimeout)
}

// TestTLSHostileNonsenseLengths answers with a ServerHello whose session id
// length runs past its end.
func TestTLSHostileNonsenseLengths(t *testing.T) {
	body := append(append([]byte{3, 3}, make([]byte, 32)...), 200, 0xC0, 0x2F, 0)
	res, err := runHostile(t, tlstest.Reply(fakeRecord(22, 0x0303, fakeHandshake(2, body))))
	var pe *tlswarden.ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "ServerHello") {
		t.Errorf("err = %v, want a protocol error about the ServerHello", err)
	}
	checkHostile(t, res, tlswarden.StatusProtocolError)
}

// TestTLSHostileHugeRecord announces a message far beyond any limit.
func TestTLSHostileHugeMessage(t *testing.T) {
	res, err := runHostile(t, tlstest.Reply(fakeRecord(22, 0x0303, []byte{2, 0xFF, 0xFF, 0xFF})))
	var pe *tlswarden.ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("err = %v, want a protocol error about the limit", err)
	}
	checkHostile(t, res, tlswarden.StatusProtocolError)
}

// TestTLSHostileSameAnswer answers every hello with the same TLS 1.2
// ServerHello. Only its first answer to a TLS 1.2 hello is believable; it
// must not make TLS 1.0 or SSLv3 look supported, nor TLS 1.3.
func TestTLSHostileSameAnswer(t *testing.T) {
	sh := fakeRecord(22, 0x0303, fakeHandshake(2, fakeServerHello(0x0303, 0xC02F, [32]byte{1})))
	res, err := runHostile(t, tlstest.Reply(sh))
	if err != nil {
		t.Fatalf("err = %v; the server answered, so the probe has results", err)
	}
	for _, v := range res.Versions {
		switch v.Version {
		case tlswarden.TLS12:
			if !v.Supported || len(v.Suites) != 1 || v.Suites[0].Code != 0xC02F || v.Status != tlswarden.StatusProtocolError ||
				!strings.Contains(v.Error, "not offered") {
				t.Errorf("TLS 1.2: %+v", v)
			}
		case tlswarden.SSLv3, tlswarden.TLS10, tlswarden.TLS11:
			if v.Supported || v.Status != tlswarden.StatusProtocolError || !strings.Contains(v.Error, "server answered TLSv1.2 to a") {
				t.Errorf("%s: %+v", v.Version, v)
			}
		default: // SSLv2 and TLS 1.3: a TLS 1.2 answer means no
			if v.Supported || v.Status != tlswarden.StatusOK {
				t.Errorf("%s: %+v", v.Version, v)
			}
		}
	}
}

// TestTLSHostileAlertOnly refuses everything with an alert: TLS is spoken,
// so every version is tested, and none is supported.
func TestTLSHostileAlertOnly(t *testing.T) {
	res, err := runHostile(t, tlstest.Reply(fakeAlert(40)))
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res)
	if got := found(res); len(got) > 0 {
		t.Errorf("supported: %v", got)
	}
}

// stallAfter serves the first n connections with handle and stalls every
// later one.
func stallAfter(n int64, handle func(context.Context, net.Conn)) func(context.Context, net.Conn) {
	var count atomic.Int64
	return func(ctx context.Context, c net.Conn) {
		if count.Add(1) > n {
			tlstest.Silent(ctx, c)
			return
		}
		handle(ctx, c)
	}
}

// TestTLSHostileStallMidway answers the first hello and stalls the rest:
// what was seen stays reported, marked incomplete.
func TestTLSHostileStallMidway(t *testing.T) {
	fs := &fakeServer{suites: map[tlswarden.Version][]uint16{tlswarden.TLS12: {0xC02F, 0x009C}}, groups: []uint16{29}}
	addr := tlstest.RawServer(t, stallAfter(1, fs.handle))
	res, err := runTLS(t, addr, "localhost", TLSConfig{Timeout: hostileTimeout, Versions: []tlswarden.Version{tlswarden.TLS12}})
	if err != nil {
		t.Fatalf("err = %v; the first hello was answered", err)
	}
	v := version(res, tlswarden.TLS12)
	if !v.Supported || len(v.Suites) != 1 || v.Suites[0].Code != 0xC02F || v.Status != tlswarden.StatusTimeout || !strings.Contains(v.Error, "TLSv1.2 ClientHello") {
		t.Errorf("TLS 1.2: %+v", v)
	}
}

// TestTLSHostileStallInGroups stalls once the suites are known, during the
// group enumeration: the groups found so far are kept, with the error.
func TestTLSHostileStallInGroups(t *testing.T) {
	// The suite enumeration's hellos offer every group and are answered;
	// the group enumeration's first (without x25519, which the first
	// suite hello found) finds the second group, and its next (without
	// secp256r1 either) stalls.
	fs := &fakeServer{suites: map[tlswarden.Version][]uint16{tlswarden.TLS13: {0x1301}}, groups: []uint16{29, 23, 24},
		stall: func(ch clientHelloInfo) bool { return !slices.Contains(ch.groups, 23) }}
	addr := tlstest.RawServer(t, fs.handle)
	res, err := runTLS(t, addr, "localhost", TLSConfig{Timeout: hostileTimeout, Versions: []tlswarden.Version{tlswarden.TLS13}})
	if err != nil {
		t.Fatal(err)
	}
	checkTested(t, res, tlswarden.TLS13)
	want := []tlswarden.Group{{Code: 29, Name: "x25519"}, {Code: 23, Name: "secp256r1"}}
	if diff := cmp.Diff(want, res.Groups); diff != "" || !strings.Contains(res.GroupsError, "timeout") {
		t.Errorf("groups error %q, groups (-want +got):\n%s", res.GroupsError, diff)
	}
}
