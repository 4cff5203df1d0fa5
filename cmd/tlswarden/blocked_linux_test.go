package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// silentPort returns a loopback port whose connects go unanswered, as on
// a network that drops outbound SYNs to port 25: a listener with a
// backlog of 0 that never accepts, its accept queue filled by the test's
// own connections. Linux then drops every further SYN (it does not
// refuse: tcp_abort_on_overflow is 0 by default), so a connect times
// out. The proof is a dial that timed out; the test fails if none does.
func silentPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return port
		}
		t.Fatalf("filling the accept queue of %s: %v", addr, err)
	}
	t.Fatalf("%s still answers connects after 16 left unaccepted", addr)
	return 0
}

// TestScanBlockedPort: an SMTP endpoint whose connect is never answered is
// blocked, the scanner's own status and not a finding about the server
// (no rule fails, the verdict is not judged, exit 2), reported within the
// connect timeout and not after the kernel's SYN retries. The same
// silence on a kind whose port is not commonly filtered is a timeout.
func TestScanBlockedPort(t *testing.T) {
	port := silentPort(t)
	scan := func(target, timeout string) (int, reportJSON, time.Duration) {
		start := time.Now()
		code, stdout, stderr := runCmd(t, "", "scan", "--progress=false", "--json", "--timeout", timeout, target)
		took := time.Since(start)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 {
			t.Fatalf("%s: exit %d, %v\n%s\n%s", target, code, err, stdout, stderr)
		}
		return code, r, took
	}
	code, r, took := scan(fmt.Sprintf("smtp://127.0.0.1:%d", port), "2s")
	e := r.Endpoints[0]
	if e.Status != tlswarden.StatusBlocked || code != exitNotScanned {
		t.Errorf("smtp: status %s (%s), exit %d; want blocked, exit %d", e.Status, e.Error, code, exitNotScanned)
	}
	if took > 30*time.Second {
		t.Errorf("smtp: blocked after %s, want about the 2s connect timeout", took)
	}
	if r.Evaluation.Compliance != tlswarden.ComplianceUnknown {
		t.Errorf("smtp: compliance %s, want the endpoint not judged", r.Evaluation.Compliance)
	}
	for _, f := range r.Evaluation.Endpoints[0].Findings {
		if f.Outcome == tlswarden.RuleFail {
			t.Errorf("a blocked port gave a finding about the server: %+v", f)
		}
	}

	// Each probe of a TLS endpoint waits out a connect of its own: 1s keeps
	// this short.
	_, r, _ = scan(fmt.Sprintf("tls://127.0.0.1:%d", port), "1s")
	if e := r.Endpoints[0]; e.Status != tlswarden.StatusTimeout {
		t.Errorf("tls: status %s (%s), want timeout", e.Status, e.Error)
	}
}
