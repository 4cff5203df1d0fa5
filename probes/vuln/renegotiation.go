package vuln

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// CheckRenegotiation is the client-initiated renegotiation check's name
// in Skipped.
const CheckRenegotiation = "client_initiated_renegotiation"

// renegotiationSuites are the TLS 1.2 AEAD suites Go's client negotiates:
// the renegotiation hello is encrypted by this package (record12.go),
// which knows AES-GCM and ChaCha20-Poly1305 records only.
var renegotiationSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
}

// clientRenegotiation makes a full TLS 1.2 handshake with Go's client and
// then sends one renegotiation ClientHello of its own, encrypted under the
// session's keys, with renegotiation_info carrying the client's
// verify_data (RFC 5746, section 3.5): a server that allows
// client-initiated renegotiation answers with a ServerHello, one that
// refuses with a no_renegotiation alert or by closing. One connection, one
// full handshake, one renegotiation attempt (never a loop: this is not a
// denial-of-service test). Go's client hands over the master secret
// through KeyLogWriter and the verify_data as tls-unique.
func (r *run) clientRenegotiation(ctx context.Context) *tlswarden.RenegotiationResult {
	res := &tlswarden.RenegotiationResult{}
	err := r.session(ctx, func(conn net.Conn) error {
		var server []byte
		var keyLog bytes.Buffer
		cfg := &tls.Config{
			ServerName: sniName(r.ep.Host), InsecureSkipVerify: true, // trust is the certificate probe's job
			MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: renegotiationSuites,
			SessionTicketsDisabled: true, KeyLogWriter: &keyLog,
		}
		tc := tls.Client(&sniffConn{Conn: conn, into: &server}, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("full TLS 1.2 handshake: %w", err)
		}
		return r.renegotiate(conn, tc.ConnectionState(), keyLog.Bytes(), server, res)
	})
	res.Status, res.Error = statusOf(err)
	return res
}

// canRenegotiate reports whether the renegotiation hello can follow a
// full handshake that ended in state: TLS 1.2 with a suite whose records
// this package encrypts.
func canRenegotiate(state tls.ConnectionState) bool {
	return state.Version == tls.VersionTLS12 && !state.DidResume && slices.Contains(renegotiationSuites, state.CipherSuite)
}

// renegotiate sends the renegotiation hello on conn, right after the full
// TLS 1.2 handshake by Go's client that ended in state (its key log and
// the server's bytes given), and reads the answer into res: the check's
// half after the handshake, which may follow resumption's first
// handshake (see resumption). conn must not have carried a record since
// the handshake.
func (r *run) renegotiate(conn net.Conn, state tls.ConnectionState, keyLog, server []byte, res *tlswarden.RenegotiationResult) error {
	res.Tested, res.CipherSuite = true, state.CipherSuite
	rc, err := sessionCiphers(keyLog, server, state.CipherSuite)
	if err != nil {
		return err
	}
	sh, _ := serverHelloOf(server)
	res.Secure = sh != nil && hasExtension(sh, extRenegotiation)
	msg, err := r.renegotiationHello(state.TLSUnique)
	if err != nil {
		return err
	}
	// Go's client sent its Finished under these keys (sequence 0) and
	// nothing since: the hello is record 1; the server's answer follows
	// its Finished, record 1 too (a NewSessionTicket comes before its
	// ChangeCipherSpec, in the clear).
	if err := r.send(conn, rc.client.seal(hello.RecordHandshake, msg)); err != nil {
		return err
	}
	res.Accepted, res.Answer, err = readRenegotiationAnswer(conn, rc.server)
	res.Answer, err = silence(res.Answer, err)
	return err
}

// renegotiationHello is the handshake message (no record header) of a
// TLS 1.2 ClientHello whose renegotiation_info carries verifyData.
func (r *run) renegotiationHello(verifyData []byte) ([]byte, error) {
	if len(verifyData) == 0 {
		return nil, errors.New("no verify_data from the full handshake")
	}
	ri := append([]byte{byte(len(verifyData))}, verifyData...)
	rec, err := r.clientHello(0x0303, renegotiationSuites, hello.Extension{Type: extRenegotiation, Data: ri})
	if err != nil {
		return nil, err
	}
	return unrecord(rec)
}

// unrecord joins the payloads of a run of records.
func unrecord(rec []byte) ([]byte, error) {
	var out []byte
	for len(rec) > 0 {
		if len(rec) < 5 {
			return nil, errors.New("truncated record")
		}
		n := int(rec[3])<<8 | int(rec[4])
		if len(rec) < 5+n {
			return nil, errors.New("truncated record")
		}
		out = append(out, rec[5:5+n]...)
		rec = rec[5+n:]
	}
	return out, nil
}

// readRenegotiationAnswer reads the server's first record after the
// renegotiation hello and decrypts it: a handshake record holding a
// ServerHello is a renegotiation under way.
func readRenegotiationAnswer(conn net.Conn, server *recordCipher) (accepted bool, answer string, err error) {
	typ, n, err := hello.ReadRecordHeader(conn)
	if err != nil {
		return false, "", err
	}
	if n > hello.MaxRecordPayload+2048 {
		return false, "", &tlswarden.ProtocolError{Msg: fmt.Sprintf("record of %d bytes", n)}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return false, "", fmt.Errorf("reading the answer to the renegotiation hello: %w", err)
	}
	plain, err := server.open(typ, body)
	if err != nil {
		return false, "", err
	}
	return renegotiationAnswer(typ, plain)
}

// renegotiationAnswer says what a decrypted record in answer to the
// renegotiation hello means: the pure half of the check.
func renegotiationAnswer(typ uint8, plain []byte) (accepted bool, answer string, err error) {
	switch {
	case typ == hello.RecordAlert && len(plain) == 2:
		level := "warning"
		if plain[0] == 2 {
			level = "fatal"
		}
		return false, fmt.Sprintf("alert %s (%s)", hello.AlertName(plain[1]), level), nil
	case typ == hello.RecordHandshake && len(plain) >= 4 && plain[0] == hello.MsgServerHello:
		return true, "ServerHello", nil
	case typ == hello.RecordHandshake && len(plain) >= 1:
		return false, fmt.Sprintf("handshake message of type %d", plain[0]), nil
	}
	return false, "", &tlswarden.ProtocolError{Msg: fmt.Sprintf("record of content type %d and %d bytes in answer to the renegotiation hello", typ, len(plain))}
}

// hasExtension reports whether a ServerHello carried the extension.
func hasExtension(sh *hello.ServerHello, typ uint16) bool {
	for _, t := range sh.Extensions {
		if t == typ {
			return true
		}
	}
	return false
}

// masterSecret reads the client random and the TLS 1.2 master secret of
// the one handshake in an NSS key log (a CLIENT_RANDOM line, as Go's
// KeyLogWriter writes it).
func masterSecret(keyLog []byte) (clientRandom, secret []byte, err error) {
	s := bufio.NewScanner(bytes.NewReader(keyLog))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) != 3 || f[0] != "CLIENT_RANDOM" {
			continue
		}
		clientRandom, err1 := hex.DecodeString(f[1])
		secret, err2 := hex.DecodeString(f[2])
		if err := errors.Join(err1, err2); err != nil || len(clientRandom) != 32 || len(secret) != 48 {
			return nil, nil, fmt.Errorf("malformed key log line: %w", err)
		}
		return clientRandom, secret, nil
	}
	return nil, nil, errors.New("no master secret in the key log")
}
