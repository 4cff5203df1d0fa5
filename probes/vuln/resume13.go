package vuln

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// TLS 1.3 extension types of the resumption hello (RFC 8446, section 4.2).
const (
	extPreSharedKey         = 41
	extEarlyData            = 42
	extSupportedVersions    = 43
	extPSKKeyExchangeModes  = 45
	extKeyShare             = 51
	extSupportedGroupsTLS13 = 10
	groupX25519             = 0x001d
	msgEncryptedExtensions  = 8
)

// resumption13 makes a full TLS 1.3 handshake with Go's client, keeping
// the ticket it gets, then sends a ClientHello of its own offering that
// ticket as a PSK (psk_dhe_ke) and early_data, but no early data: the
// ServerHello's pre_shared_key says whether the server resumed, and its
// EncryptedExtensions, decrypted with the handshake keys from the PSK and
// our key share, whether it would have taken 0-RTT data (RFC 8446,
// section 4.2.10). Go's client neither sends early data nor exposes the
// PSK; the PSK is read from the session's encoding (sessionPSK). Two
// connections, one full handshake; the second hello is never finished.
func (r *run) resumption13(ctx context.Context) *tlswarden.TLS13ResumptionResult {
	res := &tlswarden.TLS13ResumptionResult{}
	s, err := r.ticket13(ctx)
	if err == nil && s != nil {
		res.Tested, res.TicketIssued = true, true
		err = r.offerPSK(ctx, s, res)
	}
	res.Status, res.Error = statusOf(err)
	return res
}

// session13 is what the resumption hello needs of a TLS 1.3 session.
type session13 struct {
	ticket   []byte
	psk      []byte
	suite    uint16
	ageAdd   uint32
	received time.Time
	// maxEarlyData is the ticket's early_data max_early_data_size, read
	// from the NewSessionTicket on the wire: 0 allows no 0-RTT.
	maxEarlyData uint32
}

// notifyCache is a one-session ClientSessionCache that says when the
// client stored a session (a NewSessionTicket arrived).
type notifyCache struct {
	mu     sync.Mutex
	cs     *tls.ClientSessionState
	at     time.Time
	stored chan struct{}
}

func (c *notifyCache) Get(string) (*tls.ClientSessionState, bool) { return nil, false }

func (c *notifyCache) Put(_ string, cs *tls.ClientSessionState) {
	if cs == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cs == nil {
		c.cs, c.at = cs, time.Now()
		close(c.stored)
	}
}

// ticketWait is how long ticket13 waits for a NewSessionTicket once its
// handshake is done, given the round trip rtt measured on the connection
// (its first exchange, which counts the server's handshake work too and
// so errs on the long side; 0 when unknown) and the most it may wait.
//
// Servers send their TLS 1.3 tickets as soon as they have read the
// client's Finished (OpenSSL, GnuTLS; Go's server sends them with its own
// Finished when it asks for no certificate): a ticket arrives about one
// round trip after the handshake ends. On top of that round trip, the wait
// allows one lost segment either way, which TCP sends again after its
// retransmission timeout (srtt + 4 rttvar, at least 200 ms on Linux: about
// one round trip and 200 ms on a steady path), and one round trip and
// 50 ms more for queueing and a busy server: 3 round trips and 250 ms,
// never more than max (AnswerWait, 3 s by default). A server that issues
// no ticket and keeps the connection open cost those 3 s at any round
// trip; now 250 ms on loopback, 400 ms at 50 ms, 700 ms at 150 ms.
func ticketWait(rtt, max time.Duration) time.Duration {
	if rtt <= 0 {
		return max
	}
	return min(3*rtt+250*time.Millisecond, max)
}

// clockConn times a connection's first exchange: from its first write
// (the ClientHello) to the first bytes read back. Only the handshake's
// goroutine uses it.
type clockConn struct {
	net.Conn
	sent, answered time.Time
}

func (c *clockConn) Write(p []byte) (int, error) {
	if c.sent.IsZero() {
		c.sent = time.Now()
	}
	return c.Conn.Write(p)
}

func (c *clockConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.answered.IsZero() && !c.sent.IsZero() {
		c.answered = time.Now()
	}
	return n, err
}

// rtt is the round trip of the first exchange, 0 when there was none.
func (c *clockConn) rtt() time.Duration {
	if c.answered.IsZero() {
		return 0
	}
	return c.answered.Sub(c.sent)
}

// ticket13 makes the full TLS 1.3 handshake and waits for a
// NewSessionTicket, a few round trips of the connection at most
// (ticketWait). It returns nil, nil when none came.
func (r *run) ticket13(ctx context.Context) (*session13, error) {
	cache := &notifyCache{stored: make(chan struct{})}
	var keyLog bytes.Buffer
	var server []byte
	var suite uint16
	cfg := &tls.Config{
		ServerName: sniName(r.ep.Host), InsecureSkipVerify: true, // trust is the certificate probe's job
		MinVersion: tls.VersionTLS13, MaxVersion: tls.VersionTLS13, ClientSessionCache: cache, KeyLogWriter: &keyLog,
	}
	err := r.session(ctx, func(conn net.Conn) error {
		clock := &clockConn{Conn: &sniffConn{Conn: conn, into: &server}}
		tc := tls.Client(clock, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("full TLS 1.3 handshake: %w", err)
		}
		// Tickets come after the handshake: a Read processes them. It
		// ends when a ticket is stored or the wait has passed.
		wait := ticketWait(clock.rtt(), r.cfg.AnswerWait)
		r.cfg.Logger.Debug("waiting for a TLS 1.3 ticket", "endpoint", r.ep.Addr, "rtt", clock.rtt(), "wait", wait)
		if err := conn.SetReadDeadline(time.Now().Add(wait)); err != nil {
			return fmt.Errorf("set deadline: %w", err)
		}
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-cache.stored:
				_ = conn.SetReadDeadline(time.Unix(1, 0))
			case <-stop:
			}
		}()
		var b [1]byte
		_, _ = tc.Read(b[:])
		suite = tc.ConnectionState().CipherSuite
		return nil
	})
	cache.mu.Lock()
	defer cache.mu.Unlock()
	if err != nil || cache.cs == nil {
		return nil, err
	}
	ticket, state, err := cache.cs.ResumptionState()
	if err != nil || state == nil {
		return nil, fmt.Errorf("reading the session: %v", err)
	}
	enc, err := state.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encoding the session: %w", err)
	}
	s, err := sessionPSK(enc)
	if err != nil {
		return nil, err
	}
	s.ticket, s.received = ticket, cache.at
	if st, ok := suite13Of(suite); ok {
		if secret := keyLogSecret(keyLog.Bytes(), "SERVER_TRAFFIC_SECRET_0"); secret != nil {
			if tf := ticketFactsOf(st, secret, server, ticket); tf.found {
				s.ageAdd, s.maxEarlyData = tf.ageAdd, tf.maxEarlyData
			}
		}
	}
	return s, nil
}

// keyLogSecret returns the secret of the first NSS key log line with the
// label, nil when none.
func keyLogSecret(keyLog []byte, label string) []byte {
	for _, line := range strings.Split(string(keyLog), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == label {
			if b, err := hex.DecodeString(f[2]); err == nil {
				return b
			}
		}
	}
	return nil
}

// offerPSK sends the resumption hello and reads the answer to the
// EncryptedExtensions.
func (r *run) offerPSK(ctx context.Context, s *session13, res *tlswarden.TLS13ResumptionResult) error {
	suite, ok := suite13Of(s.suite)
	if !ok {
		return fmt.Errorf("session suite %#04x is not a TLS 1.3 suite", s.suite)
	}
	key, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("key share: %w", err)
	}
	age := uint32(time.Since(s.received).Milliseconds()) + s.ageAdd
	res.MaxEarlyData = s.maxEarlyData
	ch, err := pskHello(r.ep.Host, suite, s, key.PublicKey().Bytes(), age)
	if err != nil {
		return err
	}
	return r.session(ctx, func(conn net.Conn) error {
		if _, err := conn.Write(hello.Record(hello.RecordHandshake, 0x0301, ch)); err != nil {
			return fmt.Errorf("send hello: %w", err)
		}
		hs, err := hello.ReadHandshake(conn, 0)
		if err != nil || hs.ServerHello == nil {
			return fmt.Errorf("offering the ticket: %w", err)
		}
		sh := hs.ServerHello
		if sh.HelloRetryRequest || sh.Version != 0x0304 {
			return &tlswarden.ProtocolError{Msg: fmt.Sprintf("a resumption hello was answered with %s", serverHelloKind(sh))}
		}
		shMsg := append(handshakeHeader(hello.MsgServerHello, len(hs.Messages[0].Body)), hs.Messages[0].Body...)
		exts, err := hello.ExtensionBodies(hs.Messages[0].Body)
		if err != nil {
			return err
		}
		res.Resumed = pskSelected(exts[extPreSharedKey])
		if !res.Resumed {
			return nil // a full handshake: no 0-RTT without the PSK
		}
		shared, err := sharedSecret(key, exts[extKeyShare])
		if err != nil {
			return err
		}
		rd := newRecords13(suite, suite.serverHandshakeKey(s.psk, shared, ch, shMsg))
		ee, err := rd.firstMessage(conn)
		if err != nil {
			return fmt.Errorf("reading the EncryptedExtensions: %w", err)
		}
		accepted, err := earlyDataIn(ee)
		res.EarlyDataAccepted = accepted && s.maxEarlyData > 0
		return err
	})
}

// serverHelloKind names an answer that is no TLS 1.3 ServerHello.
func serverHelloKind(sh *hello.ServerHello) string {
	if sh.HelloRetryRequest {
		return "a HelloRetryRequest"
	}
	return tlswarden.Version(sh.Version).String()
}

// pskSelected reports a ServerHello pre_shared_key extension selecting
// identity 0, the ticket.
func pskSelected(body []byte) bool {
	return len(body) == 2 && body[0] == 0 && body[1] == 0
}

// sharedSecret is the X25519 secret with the server's key_share.
func sharedSecret(key *ecdh.PrivateKey, body []byte) ([]byte, error) {
	s := cryptobyte.String(body)
	var group uint16
	var pub cryptobyte.String
	if !s.ReadUint16(&group) || !s.ReadUint16LengthPrefixed(&pub) || !s.Empty() || group != groupX25519 {
		return nil, &tlswarden.ProtocolError{Msg: "ServerHello key_share is malformed or not X25519"}
	}
	peer, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, &tlswarden.ProtocolError{Msg: "ServerHello X25519 key is malformed"}
	}
	shared, err := key.ECDH(peer)
	if err != nil {
		return nil, &tlswarden.ProtocolError{Msg: "ServerHello X25519 key is a low-order point"}
	}
	return shared, nil
}

// earlyDataIn reads an EncryptedExtensions message and reports whether it
// carries early_data: the server accepts the 0-RTT data.
func earlyDataIn(msg []byte) (bool, error) {
	s := cryptobyte.String(msg)
	var typ uint8
	var body, exts cryptobyte.String
	if !s.ReadUint8(&typ) || typ != msgEncryptedExtensions || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() ||
		!body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
		return false, &tlswarden.ProtocolError{Msg: "EncryptedExtensions is malformed"}
	}
	for !exts.Empty() {
		var et uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&et) || !exts.ReadUint16LengthPrefixed(&data) {
			return false, &tlswarden.ProtocolError{Msg: "EncryptedExtensions extension is malformed"}
		}
		if et == extEarlyData {
			return true, nil
		}
	}
	return false, nil
}

// sessionPSK reads the head of a client session's encoding by
// crypto/tls (SessionState.Bytes, documented in crypto/tls/ticket.go:
// version, type, cipher_suite, created_at, secret, ...), and its TLS 1.3
// client tail (use_by, age_add). The secret of a TLS 1.3 client session is
// the PSK. Go calls the encoding opaque: a change shows as an error here,
// never as a wrong answer, and the tests against OpenSSL catch it.
func sessionPSK(enc []byte) (*session13, error) {
	s := cryptobyte.String(enc)
	var version, suite uint16
	var typ, ems, early uint8
	var created, useBy uint64
	var secret, extra, certs, chains, alpn cryptobyte.String
	var ageAdd uint32
	ok := s.ReadUint16(&version) && s.ReadUint8(&typ) && s.ReadUint16(&suite) && s.ReadUint64(&created) &&
		s.ReadUint8LengthPrefixed(&secret) && s.ReadUint24LengthPrefixed(&extra) && s.ReadUint8(&ems) &&
		s.ReadUint8(&early) && s.ReadUint24LengthPrefixed(&certs) && s.ReadUint24LengthPrefixed(&chains) &&
		(early == 0 || s.ReadUint8LengthPrefixed(&alpn)) && s.ReadUint64(&useBy) && s.ReadUint32(&ageAdd)
	if !ok || version != tls.VersionTLS13 || typ != 2 || len(secret) == 0 {
		return nil, errors.New("the session's encoding by crypto/tls is not the one this check reads")
	}
	return &session13{psk: append([]byte(nil), secret...), suite: suite, ageAdd: ageAdd}, nil
}
