package vuln

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// CheckPaddingOracle is the CBC padding oracle check's name in Skipped.
const CheckPaddingOracle = "padding_oracle"

// paddingSuites are the AES-CBC suites with HMAC-SHA1 or HMAC-SHA256 that
// Go's client negotiates and record12.go encrypts. Go's client offers no
// DHE, Camellia or SHA-384 CBC suite: a server with only those is not
// tested.
var paddingSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
}

// The malformed application data records, one a connection (Craig
// Young's padding oracle research, 2019, and the CVE-2016-2107 test of
// Somorovsky's TLS-Attacker). Every one has the same length: 80 bytes of
// plaintext, five blocks, so that only the flaw tells them apart.
const (
	// Valid MAC, invalid padding: POODLE-TLS when a server checks the
	// padding's last byte only, Zombie POODLE when the answer tells it
	// from a bad MAC.
	recordBadPadding = iota
	// Invalid MAC, valid padding: GOLDENDOODLE when the answer tells it
	// from bad padding.
	recordBadMAC
	// Invalid MAC and invalid padding.
	recordBadBoth
	// Nothing but padding (79 announced), no room for a MAC:
	// CVE-2016-2107's record, which OpenSSL's AES-NI code took for
	// well-padded and answered otherwise.
	recordPaddingOnly
)

// paddingRecords names the records, in order.
var paddingRecords = []string{
	"valid MAC, invalid padding",
	"invalid MAC, valid padding",
	"invalid MAC, invalid padding",
	"padding only, no room for a MAC",
}

// paddingPlainLen is each malformed record's plaintext length.
const paddingPlainLen = 5 * cbcBlock

// paddingPlaintext is the plaintext of malformed record kind, under c
// (whose MAC length and sequence number it uses).
func paddingPlaintext(c *cbcCipher, kind int) []byte {
	if kind == recordPaddingOnly {
		return bytes.Repeat([]byte{paddingPlainLen - 1}, paddingPlainLen)
	}
	const padLen = cbcBlock // 16 bytes of value 15
	content := bytes.Repeat([]byte{'A'}, paddingPlainLen-c.macLen-padLen)
	mac := c.recordMAC(hello.RecordApplicationData, content)
	if kind == recordBadMAC || kind == recordBadBoth {
		mac[0] ^= 0x80
	}
	pad := bytes.Repeat([]byte{padLen - 1}, padLen)
	if kind == recordBadPadding || kind == recordBadBoth {
		pad[0] ^= 0x80 // the length byte stays right: only its run is wrong
	}
	return slices.Concat(content, mac, pad)
}

// paddingOracle makes full handshakes with Go's client offering only the
// AES-CBC suites it has, and after each sends one malformed application
// data record of its own, encrypted under the session's keys (the master
// secret from Go's key log), then reads the server's answer: its records,
// decrypted, until it closes (see paddingAnswer). One connection a record
// (a server that has seen one bad record must end the connection, RFC
// 5246 section 7.2.2), so 4 connections and 4 full handshakes; the first
// picks the suite, the others offer only that one. When the answers
// differ the records are sent once more and only answers that repeat
// count: 8 connections. One connection when the server negotiates none of
// the suites.
func (r *run) paddingOracle(ctx context.Context) *tlswarden.PaddingOracleResult {
	res := &tlswarden.PaddingOracleResult{}
	first, err := r.paddingRound(ctx, res)
	if err == nil && first != nil && !allSame(first) {
		var again []string
		if again, err = r.paddingRound(ctx, res); err == nil {
			res.Consistent = slices.Equal(first, again)
		}
	}
	var no *noCBCError
	switch {
	case errors.As(err, &no):
		res.Reason, err = no.reason, nil
	case first != nil:
		res.Tested = true
		for i, a := range first {
			res.Answers = append(res.Answers, tlswarden.PaddingAnswer{Record: paddingRecords[i], Answer: a})
		}
		res.Oracle = !allSame(first) && res.Consistent
	}
	res.Status, res.Error = statusOf(err)
	return res
}

// noCBCError is a server that completes no handshake with the CBC suites
// offered: nothing to test.
type noCBCError struct{ reason string }

func (e *noCBCError) Error() string { return e.reason }

// paddingRound sends every malformed record once, each on a connection of
// its own, and returns the answers in order. The check's first handshake
// sets res's version and suite, which the later ones offer alone; those
// run at once (under the endpoint's connection cap; in turn when serial
// is set), so that the check's chain is two handshakes long, not four.
// Under the scanner's cap of 4 the probe is bound by the cap either way:
// the check's 4 connections cost an nginx about 0.2 s at 50 ms of round
// trip (BenchmarkVulnLatency: 1.13 s against 0.93 s without it).
func (r *run) paddingRound(ctx context.Context, res *tlswarden.PaddingOracleResult) ([]string, error) {
	answers := make([]string, len(paddingRecords))
	errs := make([]error, len(paddingRecords))
	first := 0
	if res.CipherSuite == 0 {
		if answers[0], errs[0] = r.paddingOnce(ctx, res, 0); errs[0] != nil {
			return nil, errs[0]
		}
		first = 1
	}
	var wg sync.WaitGroup
	for kind := first; kind < len(paddingRecords); kind++ {
		once := func() { answers[kind], errs[kind] = r.paddingOnce(ctx, res, kind) }
		if r.serial {
			once()
		} else {
			wg.Go(once)
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return answers, nil
}

// paddingOnce makes one handshake and sends one malformed record. It
// writes res's version and suite on the check's first handshake only, and
// reads them after.
func (r *run) paddingOnce(ctx context.Context, res *tlswarden.PaddingOracleResult, kind int) (string, error) {
	var answer string
	err := r.session(ctx, func(conn net.Conn) error {
		var server, client []byte
		var keyLog bytes.Buffer
		cfg := &tls.Config{
			ServerName: sniName(r.ep.Host), InsecureSkipVerify: true, // trust is the certificate probe's job
			MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: paddingSuites,
			SessionTicketsDisabled: true, KeyLogWriter: &keyLog,
		}
		if res.CipherSuite != 0 {
			cfg.MinVersion, cfg.MaxVersion = uint16(res.Version), uint16(res.Version)
			cfg.CipherSuites = []uint16{res.CipherSuite}
		}
		tc := tls.Client(&sniffConn{Conn: conn, into: &server, sent: &client}, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return handshakeErr(err, res.CipherSuite == 0)
		}
		st := tc.ConnectionState()
		if res.CipherSuite == 0 {
			res.Version, res.CipherSuite = tlswarden.Version(st.Version), st.CipherSuite
		}
		s, err := cbcSessionOf(keyLog.Bytes(), server, client, st.Version, st.CipherSuite)
		if err != nil {
			return err
		}
		// Go's client sent its Finished (sequence 0) and nothing since.
		rec := s.client.encrypt(hello.RecordApplicationData, paddingPlaintext(s.client, kind))
		if err := r.send(conn, rec); err != nil {
			return err
		}
		answer, err = r.paddingAnswer(conn, s.server)
		return err
	})
	return answer, err
}

// handshakeErr is the error of a failed handshake: on the check's first,
// an alert refusing it (handshake_failure when no suite is in common,
// protocol_version, ...) is a server the check cannot test, and says why.
func handshakeErr(err error, first bool) error {
	var op *net.OpError
	if first && errors.As(err, &op) && op.Op == "remote error" {
		return &noCBCError{reason: "the handshake offering only AES-CBC suites was refused: " + err.Error()}
	}
	return fmt.Errorf("full handshake with a CBC suite: %w", err)
}

// paddingAnswer reads the server's answer to a malformed record until it
// closes the connection or the answer wait ends: its records, decrypted
// (an alert by name and level), at most three, then "closed" or "kept
// open"; or "closed" or "no answer" alone. Application data (the record
// was taken) ends the reading.
func (r *run) paddingAnswer(conn net.Conn, server *cbcCipher) (string, error) {
	var parts []string
	for range 3 {
		typ, body, err := readServerRecord(conn)
		if err != nil {
			end, err := silence("", err)
			if err != nil {
				return "", err
			}
			if end == "no answer" && len(parts) > 0 {
				end = "kept open"
			}
			return strings.Join(append(parts, end), ", then "), nil
		}
		parts = append(parts, describeRecord(server, typ, body))
		if typ != hello.RecordAlert {
			return strings.Join(parts, ", then "), nil
		}
	}
	return strings.Join(append(parts, "more"), ", then "), nil
}

// readServerRecord reads one record, bounded by the largest a record may be.
func readServerRecord(conn net.Conn) (uint8, []byte, error) {
	typ, n, err := hello.ReadRecordHeader(conn)
	if err != nil {
		return 0, nil, err
	}
	if n > hello.MaxRecordPayload+2048 {
		return 0, nil, &tlswarden.ProtocolError{Msg: fmt.Sprintf("record of %d bytes", n)}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return 0, nil, fmt.Errorf("reading a record: %w", err)
	}
	return typ, body, nil
}

// describeRecord says what a record from the server is: decrypted under
// the session's keys, or an alert in the clear, which some stacks send
// after a record they could not decrypt. The pure half of the answer.
func describeRecord(server *cbcCipher, typ uint8, body []byte) string {
	plain, err := server.open(typ, body)
	clear := ""
	if err != nil {
		if typ != hello.RecordAlert || len(body) != 2 {
			return fmt.Sprintf("record of content type %d and %d bytes that does not decrypt", typ, len(body))
		}
		plain, clear = body, " in the clear"
	}
	switch {
	case typ == hello.RecordAlert && len(plain) == 2:
		level := "warning"
		if plain[0] == 2 {
			level = "fatal"
		}
		return fmt.Sprintf("alert %s (%s)%s", hello.AlertName(plain[1]), level, clear)
	case typ == hello.RecordApplicationData:
		return "application data" // the record was taken as data: its content is not kept
	}
	return fmt.Sprintf("record of content type %d and %d bytes", typ, len(plain))
}
