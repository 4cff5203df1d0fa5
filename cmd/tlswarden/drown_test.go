package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/store"
)

// sslv2Server answers an SSLv2 CLIENT-HELLO as an SSLv2 server does, with
// a SERVER-HELLO carrying cert and one cipher kind
// (SSL_CK_DES_192_EDE3_CBC_WITH_MD5), and anything else as Go's TLS
// server with cert: Debian's OpenSSL has no SSLv2 left to serve.
func sslv2Server(t *testing.T, cert tls.Certificate) netip.AddrPort {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		first, err := br.Peek(3)
		if err != nil {
			return
		}
		if first[0]&0x80 == 0 || first[2] != 1 { // not an SSLv2 CLIENT-HELLO
			_ = tls.Server(peekedConn{c, br}, cfg).HandshakeContext(ctx)
			return
		}
		n := int(first[0]&0x7f)<<8 | int(first[1])
		if _, err := io.CopyN(io.Discard, br, int64(2+n)); err != nil {
			return
		}
		der := cert.Certificate[0]
		specs := []byte{0x07, 0x00, 0xc0}
		id := make([]byte, 16)
		rand.Read(id)
		body := []byte{4, 0, 1, 0, 2} // SERVER-HELLO, no session hit, X.509, version 2
		body = binary.BigEndian.AppendUint16(body, uint16(len(der)))
		body = binary.BigEndian.AppendUint16(body, uint16(len(specs)))
		body = binary.BigEndian.AppendUint16(body, uint16(len(id)))
		body = append(append(append(body, der...), specs...), id...)
		_, _ = c.Write(append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...))
	})
}

// peekedConn reads through the reader that peeked at the connection.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (p peekedConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// TestDROWNAcrossTheEstate scans, through the service on both stores, a
// target whose RSA key another target serves with SSLv2 (in another
// certificate): before the SSLv2 endpoint is scanned it passes DROWN;
// once the store holds that scan, its next scan fails DROWN naming the
// SSLv2 endpoint and is graded F. A target with another key passes.
func TestDROWNAcrossTheEstate(t *testing.T) {
	for _, backend := range testdb.Names {
		t.Run(backend, func(t *testing.T) { testDROWNAcrossTheEstate(t, backend) })
	}
}

func testDROWNAcrossTheEstate(t *testing.T, backend string) {
	storeArgs := []string{"--data-dir", t.TempDir()}
	if backend == "postgres" {
		storeArgs = []string{"--database-url", testdb.PostgresURL(t)}
	}
	// tlstest mints every RSA certificate of the process with one key.
	legacyCert := tlstest.SelfSigned(t, tlstest.CertSpec{CommonName: "legacy.example"}).TLSCertificate()
	webCert := tlstest.SelfSigned(t, tlstest.CertSpec{CommonName: "web.example"}).TLSCertificate()
	ecCert := tlstest.SelfSigned(t, tlstest.CertSpec{CommonName: "ec.example", Key: tlstest.ECDSA256}).TLSCertificate()
	legacy := sslv2Server(t, legacyCert)
	web := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{webCert}})
	ec := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{ecCert}})

	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	err := m.ParseFlags(append([]string{"--listen", "127.0.0.1:0", "--allow-cidr", "127.0.0.0/8",
		"--schedule", "off", "--no-http", "--no-groups", "--no-intrusive", "--log-level", "warn"}, storeArgs...))
	if err != nil {
		t.Fatal(err)
	}
	m.Jobs.PollInterval = 50 * time.Millisecond
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	c := apiClient{t: t, base: m.URL(), token: createToken(t, storeArgs, "e2e", "admin")}
	add := func(ap netip.AddrPort) int64 {
		var tg store.Target
		c.do("POST", "/api/v1/targets", map[string]any{"host": ap.Addr().String(), "port": ap.Port(), "kind": "tls"}, http.StatusCreated, &tg)
		return tg.ID
	}
	legacyID, webID, ecID := add(legacy), add(web), add(ec)
	drown := func(id int64) (tlswarden.Finding, tlswarden.EndpointEvaluation) {
		t.Helper()
		req := c.scan(id)
		var res store.ScanResult
		c.do("GET", fmt.Sprintf("/api/v1/scans/%d/result", req.ScanID), nil, http.StatusOK, &res)
		if res.Evaluation == nil || len(res.Evaluation.Endpoints) != 1 {
			t.Fatalf("scan of target %d: %+v", id, res)
		}
		ee := res.Evaluation.Endpoints[0]
		i := slices.IndexFunc(ee.Findings, func(f tlswarden.Finding) bool { return f.RuleID == "vuln.drown" })
		if i < 0 {
			t.Fatalf("scan of target %d has no vuln.drown finding: %+v", id, ee.Findings)
		}
		return ee.Findings[i], ee
	}

	if f, _ := drown(webID); f.Outcome != tlswarden.RulePass {
		t.Errorf("before the SSLv2 endpoint was scanned: %s %q, want pass", f.Outcome, f.Message)
	}
	if f, _ := drown(legacyID); f.Outcome != tlswarden.RuleFail || !strings.Contains(f.Message, "SSLv2 accepted") {
		t.Fatalf("the SSLv2 endpoint: %s %q, want fail: SSLv2 accepted", f.Outcome, f.Message)
	}
	f, ee := drown(webID)
	// Self-signed: graded T, and F ignoring trust.
	if f.Outcome != tlswarden.RuleFail || !strings.Contains(f.Message, legacy.String()) || ee.Grade == nil || ee.Grade.IgnoringTrust != "F" ||
		!slices.ContainsFunc(ee.Grade.Caps, func(c tlswarden.GradeCap) bool { return c.Max == "F" && strings.HasPrefix(c.Reason, "DROWN") }) {
		t.Errorf("after the SSLv2 endpoint was scanned: %s %q, grade %+v; want fail naming %s, F", f.Outcome, f.Message, ee.Grade, legacy)
	}
	if f, _ := drown(ecID); f.Outcome != tlswarden.RulePass {
		t.Errorf("an ECDSA key: %s %q, want pass", f.Outcome, f.Message)
	}
}
