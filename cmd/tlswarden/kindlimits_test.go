package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

func TestKindValuesFlag(t *testing.T) {
	for _, tc := range []struct {
		conns, spacing []string
		wantConns      map[tlswarden.Kind]int
		wantSpacing    map[tlswarden.Kind]time.Duration
		err            string
	}{
		{
			wantConns:   map[tlswarden.Kind]int{"smtp": 2, "submission": 2, "smtps": 2},
			wantSpacing: map[tlswarden.Kind]time.Duration{"smtp": 200 * time.Millisecond, "submission": 200 * time.Millisecond, "smtps": 200 * time.Millisecond},
		},
		{
			conns: []string{"smtp=1, IMAP=3", "postgresql=0"}, spacing: []string{"smtp=1s,xmpp=50ms"},
			wantConns:   map[tlswarden.Kind]int{"smtp": 1, "submission": 2, "smtps": 2, "imap": 3, "postgres": 0},
			wantSpacing: map[tlswarden.Kind]time.Duration{"smtp": time.Second, "submission": 200 * time.Millisecond, "smtps": 200 * time.Millisecond, "xmpp": 50 * time.Millisecond},
		},
		{conns: []string{"smtp"}, err: `"smtp": want KIND=VALUE`},
		{conns: []string{"gopher=2"}, err: "unknown kind"},
		{conns: []string{"mail=2"}, err: "scanned as smtp: write smtp=2"},
		{conns: []string{"smtp=-1"}, err: `smtp: "-1" is not a number of connections`},
		{conns: []string{"smtp=two"}, err: `smtp: "two" is not a number`},
		{conns: []string{"smtp=1", "smtp=2"}, err: "smtp is given twice"},
		{spacing: []string{"smtp=5"}, err: `smtp: "5" is not a duration`},
		{spacing: []string{"smtp=2m"}, err: "from 0 to 1m0s"},
		{spacing: []string{"smtp=-1s"}, err: "not a duration"},
	} {
		f := scanningFlags{kindConns: newKindConns(), kindSpacing: newKindSpacing()}
		var err error
		for _, v := range tc.conns {
			if err == nil {
				err = f.kindConns.Set(v)
			}
		}
		for _, v := range tc.spacing {
			if err == nil {
				err = f.kindSpacing.Set(v)
			}
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v %v: error %v, want one saying %q", tc.conns, tc.spacing, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v %v: %v", tc.conns, tc.spacing, err)
		}
		conns, spacing := f.politeness()
		if d := cmp.Diff(tc.wantConns, conns); d != "" {
			t.Errorf("%v: connections per kind (-want +got):\n%s", tc.conns, d)
		}
		if d := cmp.Diff(tc.wantSpacing, spacing); d != "" {
			t.Errorf("%v: spacing per kind (-want +got):\n%s", tc.spacing, d)
		}
	}
}

// TestKindFlagsRefusedAtStart: scan, serve and worker all take the flags
// and stop at once (exit 2) on a bad value, naming it.
func TestKindFlagsRefusedAtStart(t *testing.T) {
	for _, args := range [][]string{
		{"scan", "--kind-conns", "smtp=x", "127.0.0.1:1"},
		{"serve", "--kind-spacing", "smtp=1h"},
		{"worker", "--kind-conns", "mail=1"},
	} {
		code, _, stderr := runCmd(t, "", args...)
		if code != exitNotScanned || !strings.Contains(stderr, "invalid value \""+args[2]+"\" for flag "+args[1][1:]) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %s", args, code, stderr, args[1])
		}
	}
}

// smtpRecorder is an SMTP server (RFC 5321, 3207) that records when each
// connection came and how many were in their exchange before TLS at
// once. It waits hold before answering EHLO, so that connections a
// scanner opens together overlap there, where the client surely holds
// them open (it waits for the reply).
type smtpRecorder struct {
	mu      sync.Mutex
	arrived []time.Time
	inside  int
	maxIn   int
}

func (s *smtpRecorder) serve(t *testing.T, cfg *tls.Config, hold time.Duration) string {
	return tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		s.mu.Lock()
		s.arrived = append(s.arrived, time.Now())
		s.inside++
		s.maxIn = max(s.maxIn, s.inside)
		s.mu.Unlock()
		left := sync.OnceFunc(func() { s.mu.Lock(); s.inside--; s.mu.Unlock() })
		defer left()
		r := bufio.NewReader(c)
		io.WriteString(c, "220 mx.test ESMTP\r\n")
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(l)); {
			case strings.HasPrefix(cmd, "EHLO"):
				time.Sleep(hold)
				io.WriteString(c, "250-mx.test\r\n250 STARTTLS\r\n")
			case cmd == "STARTTLS":
				left() // the client may close whenever it has read what it needs
				io.WriteString(c, "220 2.0.0 Ready to start TLS\r\n")
				_ = tls.Server(c, cfg).HandshakeContext(ctx)
				return
			default:
				io.WriteString(c, "502 5.5.2 Error: command not recognized\r\n")
			}
		}
	}).String()
}

// TestScanKindFlags: --kind-conns caps the connections to an SMTP
// endpoint (1: never two in the exchange at once; 3: more than one) and
// --kind-spacing spaces them (as far apart as it says, on average).
func TestScanKindFlags(t *testing.T) {
	ca := tlstest.NewCA(t, "mail CA")
	leaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	caFile, _ := ca.Cert.WritePEM(t, t.TempDir())
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	scan := func(rec *smtpRecorder, hold time.Duration, flags ...string) {
		t.Helper()
		addr := rec.serve(t, cfg, hold)
		args := append([]string{"scan", "--progress=false", "--json", "--no-vulns", "--ca-file", caFile, "--timeout", "10s"}, flags...)
		code, stdout, stderr := runCmd(t, "", append(args, "smtp://"+addr)...)
		var r reportJSON
		if err := json.Unmarshal([]byte(stdout), &r); err != nil || len(r.Endpoints) != 1 || r.Endpoints[0].Status != tlswarden.StatusOK {
			t.Fatalf("%v: exit %d, %v\n%s\n%s", flags, code, err, stdout, stderr)
		}
	}

	one, three := &smtpRecorder{}, &smtpRecorder{}
	scan(one, 100*time.Millisecond, "--kind-conns", "smtp=1", "--kind-spacing", "smtp=0s")
	scan(three, 100*time.Millisecond, "--kind-conns", "smtp=3", "--kind-spacing", "smtp=0s")
	if one.maxIn != 1 || three.maxIn < 2 {
		t.Errorf("connections in the exchange at once: %d with smtp=1 (want 1), %d with smtp=3 (want more than 1)", one.maxIn, three.maxIn)
	}

	spaced := &smtpRecorder{}
	const spacing = 400 * time.Millisecond
	scan(spaced, 0, "--kind-conns", "smtp=0", "--kind-spacing", "smtp="+spacing.String(), "--no-groups")
	n := len(spaced.arrived)
	if n < 3 {
		t.Fatalf("%d connections, want at least 3", n)
	}
	// The client spaces its connects; the server sees each one a little
	// late, by however long a busy machine takes to run its goroutine, so
	// one gap can look short and the next long. Their mean is sure: the
	// span telescopes, only the first connection's delay shortens it.
	mean := spaced.arrived[n-1].Sub(spaced.arrived[0]) / time.Duration(n-1)
	if mean < spacing*9/10 {
		t.Errorf("%d connections, %s apart on average; want about %s (the default is 200ms)", n, mean, spacing)
	}
}
