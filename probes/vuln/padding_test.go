package vuln

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/tls"
	"encoding/hex"
	"errors"
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
	"github.com/tlswarden/tlswarden/probes/hello"
)

// cbcServerConfig is a crypto/tls server configuration with the given
// CBC suites and versions, and the key log in keyLog when it is set.
func cbcServerConfig(t *testing.T, suites []uint16, minV, maxV uint16, keyLog io.Writer) *tls.Config {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	return &tls.Config{
		Certificates: []tls.Certificate{cert}, CipherSuites: suites,
		MinVersion: minV, MaxVersion: maxV, KeyLogWriter: keyLog,
	}
}

// readingServer is a crypto/tls server that, after the handshake, reads
// records and echoes application data until an error: a bad record ends
// the connection with the alert Go sends for it.
func readingServer(t *testing.T, cfg *tls.Config) netip.AddrPort {
	return tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, cfg)
		if tc.HandshakeContext(ctx) != nil {
			return
		}
		_, _ = io.Copy(tc, tc)
	})
}

func paddingRun(t *testing.T, addr netip.AddrPort) (*run, *tlswarden.PaddingOracleResult) {
	t.Helper()
	d := tlstest.NewDialer(addr)
	r := testRun(addr, d.Dial)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	res := r.paddingOracle(ctx)
	if int(r.conns.Load()) != d.Count() {
		t.Errorf("%d connections counted, %d dialled", r.conns.Load(), d.Count())
	}
	return r, res
}

// goAnswer is what Go's server answers to every malformed record.
const goAnswer = "alert bad_record_mac (fatal), then closed"

func allAnswers(a string) []tlswarden.PaddingAnswer {
	var out []tlswarden.PaddingAnswer
	for _, rec := range paddingRecords {
		out = append(out, tlswarden.PaddingAnswer{Record: rec, Answer: a})
	}
	return out
}

// TestPaddingOracleGoServer checks Go's server, which checks padding and
// MAC in constant time and answers every flaw with bad_record_mac, in
// each version and with each MAC: tested, no oracle, four connections.
func TestPaddingOracleGoServer(t *testing.T) {
	tests := []struct {
		name       string
		suite      uint16
		minV, maxV uint16
	}{
		{"TLS 1.2 ECDHE SHA-1", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.VersionTLS10, tls.VersionTLS12},
		{"TLS 1.2 ECDHE SHA-256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, tls.VersionTLS12, tls.VersionTLS12},
		{"TLS 1.2 RSA AES-256", tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.VersionTLS12, tls.VersionTLS12},
		{"TLS 1.1", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, tls.VersionTLS11, tls.VersionTLS11},
		{"TLS 1.0", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.VersionTLS10, tls.VersionTLS10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := readingServer(t, cbcServerConfig(t, []uint16{tc.suite}, tc.minV, tc.maxV, nil))
			r, res := paddingRun(t, addr)
			want := &tlswarden.PaddingOracleResult{Status: tlswarden.StatusOK, Tested: true,
				Version: tlswarden.Version(tc.maxV), CipherSuite: tc.suite, Answers: allAnswers(goAnswer)}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := r.conns.Load(); n != 4 {
				t.Errorf("%d connections, want 4", n)
			}
		})
	}
}

// TestCBCRecordsRoundTrip checks the CBC record protection against Go's
// own: a well-formed record sealed here is read by Go's server, which
// echoes it, and its record opens here, in every version.
func TestCBCRecordsRoundTrip(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12} {
		for _, suite := range []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256} {
			if suite == tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256 && v != tls.VersionTLS12 {
				continue
			}
			addr := readingServer(t, cbcServerConfig(t, []uint16{suite}, v, v, nil))
			got, err := echoCBC(t.Context(), addr, v, []byte("hello, padding"))
			if err != nil || string(got) != "hello, padding" {
				t.Errorf("%s %#04x: echo %q, %v", tlswarden.Version(v), suite, got, err)
			}
		}
	}
}

// echoCBC makes a handshake with Go's client, sends msg twice in records
// of this package's own (the second checks TLS 1.0's IV chaining) and
// returns what the server echoed, opened here.
func echoCBC(ctx context.Context, addr netip.AddrPort, v uint16, msg []byte) ([]byte, error) {
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var server, client []byte
	var keyLog bytes.Buffer
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v, CipherSuites: paddingSuites,
		SessionTicketsDisabled: true, KeyLogWriter: &keyLog}
	tc := tls.Client(&sniffConn{Conn: conn, into: &server, sent: &client}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	st := tc.ConnectionState()
	s, err := cbcSessionOf(keyLog.Bytes(), server, client, st.Version, st.CipherSuite)
	if err != nil {
		return nil, err
	}
	half := len(msg) / 2
	out := append(s.client.seal(hello.RecordApplicationData, msg[:half]), s.client.seal(hello.RecordApplicationData, msg[half:])...)
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	var got []byte
	for len(got) < len(msg) {
		typ, body, err := readServerRecord(conn)
		if err != nil {
			return got, err
		}
		plain, err := s.server.open(typ, body)
		if err != nil {
			return got, err
		}
		got = append(got, plain...)
	}
	return got, nil
}

// TestPaddingOracleNoCBC checks a server without CBC suites: one
// connection, not tested, and why.
func TestPaddingOracleNoCBC(t *testing.T) {
	addr := readingServer(t, cbcServerConfig(t, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, tls.VersionTLS12, tls.VersionTLS12, nil))
	r, res := paddingRun(t, addr)
	if res.Status != tlswarden.StatusOK || res.Tested || res.Oracle || !strings.Contains(res.Reason, "handshake failure") || r.conns.Load() != 1 {
		t.Errorf("%+v after %d connections", res, r.conns.Load())
	}
}

// TestPaddingOracleRelay checks the detection against a padding oracle
// made of real TLS: a relay in front of Go's server, holding its key log,
// decrypts the client's records after the handshake and closes silently
// on bad padding, handing the rest on to Go's server, which answers
// bad_record_mac. The answers differ by the flaw, twice: an oracle.
func TestPaddingOracleRelay(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS12} {
		t.Run(tlswarden.Version(v).String(), func(t *testing.T) {
			t.Parallel()
			keys := &keyLogBuffer{}
			backend := readingServer(t, cbcServerConfig(t, []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}, v, v, keys))
			addr := tlstest.RawServer(t, func(ctx context.Context, c net.Conn) { paddingRelay(ctx, c, backend, keys) })
			r, res := paddingRun(t, addr)
			want := &tlswarden.PaddingOracleResult{Status: tlswarden.StatusOK, Tested: true, Version: tlswarden.Version(v),
				CipherSuite: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, Consistent: true, Oracle: true,
				Answers: []tlswarden.PaddingAnswer{
					{Record: paddingRecords[0], Answer: "closed"},
					{Record: paddingRecords[1], Answer: goAnswer},
					{Record: paddingRecords[2], Answer: "closed"},
					{Record: paddingRecords[3], Answer: goAnswer},
				}}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := r.conns.Load(); n != 8 {
				t.Errorf("%d connections, want 8 (a second round)", n)
			}
			// the whole probe, as a scan runs it: the check is wired in
			// beside the others, and --no-intrusive leaves it out
			all := scan(t, Config{AnswerWait: time.Second}, addr)
			if po := all.PaddingOracle; po == nil || !po.Oracle {
				t.Errorf("the probe's padding oracle check: %+v", po)
			}
			quiet := scan(t, Config{AnswerWait: time.Second, NoIntrusive: true}, addr)
			if quiet.PaddingOracle != nil || !slices.Contains(quiet.Skipped, CheckPaddingOracle) {
				t.Errorf("NoIntrusive: padding oracle %+v, skipped %v", quiet.PaddingOracle, quiet.Skipped)
			}
		})
	}
}

// keyLogBuffer is a key log written by a server's connections at once.
type keyLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (k *keyLogBuffer) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.b.Write(p)
}

// line returns the key log line of the handshake with clientRandom.
func (k *keyLogBuffer) line(clientRandom []byte) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	for l := range bytes.Lines(k.b.Bytes()) {
		if bytes.Contains(l, []byte(hex.EncodeToString(clientRandom))) {
			return bytes.Clone(l)
		}
	}
	return nil
}

// lockedBytes is the server's side of the relayed stream.
type lockedBytes struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBytes) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBytes) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b)
}

// paddingRelay relays c to the backend record by record. After the
// client's ChangeCipherSpec and Finished, it decrypts each application
// data record with the backend's keys and ends both connections without
// a word when the padding is wrong: the padding oracle.
func paddingRelay(ctx context.Context, c net.Conn, backend netip.AddrPort, keys *keyLogBuffer) {
	b, err := (&net.Dialer{}).DialContext(ctx, "tcp", backend.String())
	if err != nil {
		return
	}
	defer b.Close()
	var fromServer lockedBytes
	go func() { _, _ = io.Copy(io.MultiWriter(c, &fromServer), b); c.Close() }()
	var fromClient []byte // up to the client's Finished
	var s *cbcSession
	for {
		var rec [5]byte
		if _, err := io.ReadFull(c, rec[:]); err != nil {
			return
		}
		body := make([]byte, int(rec[3])<<8|int(rec[4]))
		if _, err := io.ReadFull(c, body); err != nil {
			return
		}
		if rec[0] == hello.RecordApplicationData {
			if s == nil {
				if s, err = relaySession(keys, fromServer.bytes(), fromClient); err != nil {
					return
				}
			}
			if !padded(s.client, body) {
				return // the oracle: bad padding ends the connection silently
			}
		}
		if s == nil {
			fromClient = append(append(fromClient, rec[:]...), body...)
		}
		if _, err := b.Write(append(rec[:], body...)); err != nil {
			return
		}
	}
}

// relaySession derives the client's record keys from the backend's key
// log, as the probe does from its own client's.
func relaySession(keys *keyLogBuffer, server, client []byte) (*cbcSession, error) {
	if len(client) < 43 {
		return nil, errors.New("no ClientHello")
	}
	line := keys.line(client[11:43]) // record and handshake headers, version
	sh, err := serverHelloOf(server)
	if err != nil {
		return nil, err
	}
	return cbcSessionOf(line, server, client, sh.Version, sh.CipherSuite)
}

// padded decrypts a client record and checks its padding only, as a
// server that checks it before the MAC (and says so) would.
func padded(c *cbcCipher, body []byte) bool {
	iv := c.iv
	if c.version >= tls.VersionTLS11 {
		iv, body = body[:cbcBlock], body[cbcBlock:]
	}
	plain := make([]byte, len(body))
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(plain, body)
	c.iv = bytes.Clone(body[len(body)-cbcBlock:])
	p := int(plain[len(plain)-1])
	return p < len(plain) && allBytes(plain[len(plain)-1-p:], byte(p))
}

// TestPaddingOracleRealServers checks Debian's OpenSSL, nginx and GnuTLS
// with CBC suites: tested, every malformed record answered alike, and
// what they answer recorded.
func TestPaddingOracleRealServers(t *testing.T) {
	tls10 := []tlswarden.Version{tlswarden.TLS10}
	tests := []struct {
		name    string
		start   func(t *testing.T) netip.AddrPort
		version tlswarden.Version
		answer  string
	}{
		{"openssl TLS 1.2 SHA-1", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cipher: "ECDHE-RSA-AES128-SHA"})
		}, tlswarden.TLS12, "alert bad_record_mac (fatal), then closed"},
		{"openssl TLS 1.2 SHA-256 RSA", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cipher: "AES128-SHA256:@SECLEVEL=0"})
		}, tlswarden.TLS12, "alert bad_record_mac (fatal), then closed"},
		{"openssl TLS 1.0", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: tls10, Cipher: "ECDHE-RSA-AES256-SHA:@SECLEVEL=0"})
		}, tlswarden.TLS10, "alert bad_record_mac (fatal), then closed"},
		{"nginx", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Versions: []tlswarden.Version{tlswarden.TLS12}, Ciphers: "ECDHE-RSA-AES256-SHA"})
		}, tlswarden.TLS12, "alert bad_record_mac (fatal), then closed"},
		{"gnutls", func(t *testing.T) netip.AddrPort {
			return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:-CIPHER-ALL:+AES-128-CBC:-VERS-TLS1.3"})
		}, tlswarden.TLS12, "alert bad_record_mac (fatal), then closed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, res := paddingRun(t, tc.start(t))
			t.Logf("%+v", res)
			if res.Status != tlswarden.StatusOK || !res.Tested || res.Oracle || res.Version != tc.version {
				t.Fatalf("%+v, want tested with %s, no oracle", res, tc.version)
			}
			if diff := cmp.Diff(allAnswers(tc.answer), res.Answers); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			if n := r.conns.Load(); n != 4 {
				t.Errorf("%d connections, want 4", n)
			}
		})
	}
}

// TestPaddingPlaintext checks each malformed record is malformed the way
// it says and no other: the MAC right where it should be, the padding
// wrong only where it should be, all of them 80 bytes.
func TestPaddingPlaintext(t *testing.T) {
	for _, suite := range []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256} {
		p, _ := cbcParamsOf(suite)
		c, _ := newCBCCipher(p, tls.VersionTLS12, bytes.Repeat([]byte{1}, p.macLen), make([]byte, p.keyLen))
		for kind, name := range paddingRecords {
			plain := paddingPlaintext(c, kind)
			if len(plain) != paddingPlainLen {
				t.Fatalf("%s: %d bytes", name, len(plain))
			}
			last := int(plain[len(plain)-1])
			padOK := last < len(plain) && allBytes(plain[len(plain)-1-last:], byte(last))
			roomForMAC := len(plain)-1-last >= p.macLen
			macOK := false
			if roomForMAC {
				content := plain[:len(plain)-1-last-p.macLen]
				macOK = bytes.Equal(plain[len(content):len(content)+p.macLen], c.recordMAC(hello.RecordApplicationData, content))
			}
			want := map[int][3]bool{ // padding valid, room for a MAC, MAC valid
				recordBadPadding:  {false, true, true},
				recordBadMAC:      {true, true, false},
				recordBadBoth:     {false, true, false},
				recordPaddingOnly: {true, false, false},
			}[kind]
			if got := [3]bool{padOK, roomForMAC, macOK}; got != want {
				t.Errorf("%#04x %s: padding valid, room for a MAC, MAC valid = %v, want %v", suite, name, got, want)
			}
		}
	}
}
