package hello

import (
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden/iana"
)

// DefaultMaxBytes bounds what ReadServerFlight reads when
// ReadOptions.MaxBytes is zero: enough for a long certificate chain.
const DefaultMaxBytes = 256 << 10

// orDefaultMax is maxBytes, or DefaultMaxBytes when it is not positive.
func orDefaultMax(maxBytes int) int {
	if maxBytes <= 0 {
		return DefaultMaxBytes
	}
	return maxBytes
}

// maxRecordLength is the largest record length accepted: a plaintext
// fragment plus the expansion RFC 5246 allows a protected one.
const maxRecordLength = MaxRecordPayload + 2048

// helloRetryRandom is the ServerHello.random that marks a HelloRetryRequest
// (RFC 8446, section 4.1.3): SHA-256 of "HelloRetryRequest".
var helloRetryRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// ReadOptions says how far ReadServerFlight reads.
type ReadOptions struct {
	// MaxBytes bounds the bytes read (default DefaultMaxBytes).
	MaxBytes int
	// KeyExchange continues past a TLS 1.2-or-older ServerHello that chose a
	// DHE or ECDHE suite, through Certificate and CertificateStatus, to the
	// ServerKeyExchange, stopping at ServerHelloDone.
	KeyExchange bool
	// KeepCertificate, with KeyExchange, keeps what the flight shows of
	// the server's certificate on the way to the ServerKeyExchange: the
	// Certificate message, a CertificateStatus and the ServerHello's SCTs
	// (Flight.Certificate). It reads nothing more than KeyExchange does.
	KeepCertificate bool
}

// ServerHello is the server's answer to a ClientHello (RFC 5246 section
// 7.4.1.3, RFC 8446 section 4.1.3).
type ServerHello struct {
	// Version is the negotiated version: the supported_versions extension's
	// when present, else LegacyVersion.
	Version       uint16
	LegacyVersion uint16
	Random        [32]byte
	SessionID     []byte
	CipherSuite   uint16
	Compression   uint8
	// HelloRetryRequest marks a TLS 1.3 HelloRetryRequest (by its random).
	HelloRetryRequest bool
	// SupportedVersion is the supported_versions extension's value, zero
	// when the extension is absent.
	SupportedVersion uint16
	// KeyShareGroup is the group named by the key_share extension (the group
	// a HelloRetryRequest asks for, or the server's share's group), zero
	// when absent.
	KeyShareGroup uint16
	// Extensions lists the extension types in the order sent.
	Extensions []uint16
}

// KeyExchange is what a ServerKeyExchange says about the key exchange.
type KeyExchange struct {
	// CurveType is the ECParameters curve_type of an ECDHE exchange:
	// 3 named_curve, 1 explicit_prime, 2 explicit_char2; zero for DHE.
	CurveType uint8
	// Curve is the named curve (a supported_groups code point).
	Curve uint16
	// DHBits is the bit length of the DH prime p.
	DHBits int
	// DHPrime is the DH prime p, big-endian, as sent (a copy).
	DHPrime []byte
}

// Flight is what ReadServerFlight read of the server's reply.
type Flight struct {
	ServerHello *ServerHello
	// KeyExchange is set when a ServerKeyExchange was read.
	KeyExchange *KeyExchange
	// Certificate is set, with ReadOptions.KeepCertificate, when a
	// Certificate message was read: only its fields of the certificates,
	// the staple and the SCTs are filled in.
	Certificate *CertificateFlight
	// Bytes counts the bytes of the reply the flight took: the records
	// read, not what was read ahead of them.
	Bytes int
}

// ReadServerFlight reads the server's reply to a ClientHello, record by
// record, up to the ServerHello (and with opts.KeyExchange up to the
// ServerKeyExchange). It returns what it read even with an error: a
// ServerHello followed by an alert or garbage still names the suite. It
// reads ahead of the records it takes, as much as r has ready within
// MaxBytes (a whole flight in one read rather than two reads a record), so
// r is not to be read again after it: what it read ahead is gone.
//
// A server that closes the connection before sending anything gives an error
// wrapping io.EOF, with Flight.Bytes zero; an alert gives an *AlertError;
// bytes that are not TLS give a *tlswarden.ProtocolError. Errors from r are
// wrapped.
func ReadServerFlight(r io.Reader, opts ReadOptions) (*Flight, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	rd := &recordReader{r: r, max: opts.MaxBytes, ahead: newReadAhead()}
	defer rd.ahead.release()
	f := &Flight{}
	err := readFlight(rd, f, opts)
	f.Bytes = rd.n
	return f, err
}

func readFlight(rd *recordReader, f *Flight, opts ReadOptions) error {
	typ, body, err := rd.message()
	for err == nil && typ == typeHelloRequest && len(body) == 0 {
		typ, body, err = rd.message() // RFC 5246: ignored while negotiating
	}
	if errors.Is(err, errChangeCipherSpec) {
		return protocolError("change_cipher_spec before the ServerHello")
	}
	if err != nil {
		return err
	}
	if typ != typeServerHello {
		return protocolError("expected a ServerHello, got handshake message type %d", typ)
	}
	if f.ServerHello, err = parseServerHello(body); err != nil {
		return err
	}
	sh := f.ServerHello
	if !opts.KeyExchange || sh.HelloRetryRequest || sh.Version >= 0x0304 {
		return nil
	}
	kx := keyExchangeOf(sh.CipherSuite)
	if kx == kxNone {
		return nil
	}
	if opts.KeepCertificate {
		f.Certificate = &CertificateFlight{}
		if sct, ok := serverHelloExtension(body, extSCT); ok {
			f.Certificate.SCTs = parseSCTList(sct)
		}
	}
	return readKeyExchange(rd, f, kx)
}

// readKeyExchange skips the messages that may follow a ServerHello up to the
// ServerKeyExchange and parses it.
func readKeyExchange(rd *recordReader, f *Flight, kx kxKind) error {
	for {
		typ, body, err := rd.message()
		if errors.Is(err, errChangeCipherSpec) {
			return nil // an abbreviated handshake: no key exchange to read
		}
		if err != nil {
			return fmt.Errorf("after the ServerHello: %w", err)
		}
		switch typ {
		case typeCertificate, typeCertificateStatus:
			f.keep(typ, body)
		case typeCertificateRequest, typeSupplementalData:
			continue
		case typeServerHelloDone:
			return nil
		case typeServerKeyExchange:
			f.KeyExchange, err = parseServerKeyExchange(body, kx)
			return err
		default:
			return protocolError("unexpected handshake message type %d before ServerHelloDone", typ)
		}
	}
}

// keep records a Certificate or CertificateStatus message when the flight
// keeps them (Certificate set). A Certificate message that does not parse
// drops what was kept: reading on to the key exchange is the flight's
// job, and it goes on as if nothing had been kept.
func (f *Flight) keep(typ uint8, body []byte) {
	c := f.Certificate
	switch {
	case c == nil:
	case typ == typeCertificateStatus:
		c.OCSPResponse = parseCertificateStatus(body)
	default:
		certs, err := parseCertificateList(body)
		if err != nil {
			f.Certificate = nil
			return
		}
		c.Certificates, c.MessageBytes = certs, len(body)
	}
}

// errChangeCipherSpec reports a ChangeCipherSpec record where a handshake
// message was expected.
var errChangeCipherSpec = errors.New("change_cipher_spec record")

// recordReader reads records and reassembles the handshake messages in
// them, never reading more than max bytes in all.
type recordReader struct {
	r   io.Reader
	max int
	n   int    // bytes taken so far
	hs  []byte // handshake bytes not yet returned as messages
	// ahead, when it has a buffer, reads ahead of the records taken
	// (flight readers whose connection is read no further).
	ahead readAhead
}

// message returns the next handshake message's type and body.
func (rd *recordReader) message() (uint8, []byte, error) {
	for {
		if len(rd.hs) >= 4 {
			n := int(rd.hs[1])<<16 | int(rd.hs[2])<<8 | int(rd.hs[3])
			if n > rd.max {
				return 0, nil, protocolError("handshake message of %d bytes exceeds the %d-byte limit", n, rd.max)
			}
			if len(rd.hs) >= 4+n {
				typ, body := rd.hs[0], rd.hs[4:4+n]
				rd.hs = rd.hs[4+n:]
				return typ, body, nil
			}
		}
		if err := rd.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// fill reads one record and appends its handshake bytes, or returns the
// alert or other record that came instead.
func (rd *recordReader) fill() error {
	typ, frag, err := rd.record()
	if err != nil {
		return err
	}
	switch typ {
	case recordHandshake:
		if len(rd.hs) == 0 {
			rd.hs = frag // the usual case: a record holds whole messages, so no copy
			return nil
		}
		rd.hs = append(rd.hs, frag...)
		return nil
	case recordAlert:
		if len(rd.hs) > 0 {
			return fmt.Errorf("alert in the middle of a handshake message: %w", parseAlert(frag))
		}
		return parseAlert(frag)
	case recordChangeCipherSpec:
		if len(rd.hs) > 0 {
			return protocolError("change_cipher_spec in the middle of a handshake message")
		}
		return errChangeCipherSpec
	}
	return protocolError("unexpected application_data record before the handshake ended")
}

// record reads one record, skipping warning alerts that only comment
// (unrecognized_name, sent by servers whose names do not match the SNI).
func (rd *recordReader) record() (uint8, []byte, error) {
	for {
		typ, frag, err := rd.rawRecord()
		if err != nil {
			return 0, nil, err
		}
		if typ == recordAlert && len(frag) == 2 && frag[0] == AlertWarning && frag[1] == AlertUnrecognizedName {
			continue
		}
		return typ, frag, nil
	}
}

func (rd *recordReader) rawRecord() (uint8, []byte, error) {
	var hdr [5]byte
	first := rd.n == 0
	if err := rd.read(hdr[:]); err != nil {
		return 0, nil, err
	}
	typ, length := hdr[0], int(hdr[3])<<8|int(hdr[4])
	if typ < recordChangeCipherSpec || typ > recordApplicationData || hdr[1] != 3 {
		return 0, nil, notTLS(hdr[:], first)
	}
	if length > maxRecordLength {
		return 0, nil, protocolError("record of %d bytes exceeds the TLS maximum of %d", length, maxRecordLength)
	}
	if length == 0 && typ != recordApplicationData {
		return 0, nil, protocolError("empty record of content type %d", typ)
	}
	frag := make([]byte, length)
	if err := rd.read(frag); err != nil {
		return 0, nil, err
	}
	return typ, frag, nil
}

// read fills p from the connection within the byte limit.
func (rd *recordReader) read(p []byte) error {
	if rd.n+len(p) > rd.max {
		return protocolError("server sent more than %d bytes without completing its hello", rd.max)
	}
	var (
		n   int
		err error
	)
	if rd.ahead.buf != nil {
		n, err = rd.ahead.readFull(rd.r, p, rd.max-rd.n)
	} else {
		n, err = io.ReadFull(rd.r, p)
	}
	rd.n += n
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) && rd.n == 0:
		return fmt.Errorf("connection closed before the server replied: %w", io.EOF)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return protocolError("connection closed after %d bytes, in the middle of the server's hello", rd.n)
	}
	return fmt.Errorf("reading the server's hello after %d bytes: %w", rd.n, err)
}

// notTLS describes a record header that is not TLS.
func notTLS(hdr []byte, first bool) error {
	if first && hdr[0]&0x80 != 0 {
		return protocolError("server answered in SSLv2 record format (% x)", hdr)
	}
	if first && printable(hdr) {
		return protocolError("server answered in plaintext, not TLS: %q", hdr)
	}
	return protocolError("not a TLS record header: % x", hdr)
}

func printable(b []byte) bool {
	return !strings.ContainsFunc(string(b), func(r rune) bool { return r < 0x20 || r > 0x7e })
}

// parseAlert turns an alert record into an *AlertError.
func parseAlert(frag []byte) error {
	if len(frag) < 2 || len(frag)%2 != 0 {
		return protocolError("alert record of %d bytes", len(frag))
	}
	return &AlertError{Level: frag[0], Description: frag[1]}
}

// parseServerHello parses a ServerHello (or HelloRetryRequest) body.
func parseServerHello(body []byte) (*ServerHello, error) {
	s := cryptobyte.String(body)
	sh := &ServerHello{}
	var sid cryptobyte.String
	if !s.ReadUint16(&sh.LegacyVersion) || !s.CopyBytes(sh.Random[:]) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16(&sh.CipherSuite) || !s.ReadUint8(&sh.Compression) {
		return nil, protocolError("ServerHello of %d bytes is truncated", len(body))
	}
	if len(sid) > 32 {
		return nil, protocolError("ServerHello session id of %d bytes (at most 32)", len(sid))
	}
	if sh.LegacyVersion>>8 != 3 {
		return nil, protocolError("ServerHello with version 0x%04x", sh.LegacyVersion)
	}
	sh.SessionID = append([]byte(nil), sid...)
	sh.HelloRetryRequest = sh.Random == helloRetryRandom
	if !s.Empty() {
		var exts cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
			return nil, protocolError("ServerHello extensions length does not match the message length")
		}
		if err := sh.parseExtensions(exts); err != nil {
			return nil, err
		}
	}
	sh.Version = sh.LegacyVersion
	if sh.SupportedVersion != 0 {
		sh.Version = sh.SupportedVersion
	}
	return sh, nil
}

func (sh *ServerHello) parseExtensions(exts cryptobyte.String) error {
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return protocolError("ServerHello extension block is malformed")
		}
		for _, seen := range sh.Extensions {
			if seen == typ {
				return protocolError("ServerHello repeats extension %d", typ)
			}
		}
		sh.Extensions = append(sh.Extensions, typ)
		switch typ {
		case extSupportedVersions:
			if !data.ReadUint16(&sh.SupportedVersion) || !data.Empty() {
				return protocolError("ServerHello supported_versions extension of %d bytes, want 2", len(data)+2)
			}
		case extKeyShare:
			if !data.ReadUint16(&sh.KeyShareGroup) {
				return protocolError("ServerHello key_share extension is truncated")
			}
			var share cryptobyte.String
			if !sh.HelloRetryRequest && (!data.ReadUint16LengthPrefixed(&share) || len(share) == 0) {
				return protocolError("ServerHello key_share entry is malformed")
			}
			if !data.Empty() {
				return protocolError("ServerHello key_share extension has trailing bytes")
			}
		}
	}
	return nil
}

// kxKind says what a suite's ServerKeyExchange carries.
type kxKind int

const (
	kxNone     kxKind = iota
	kxDH              // ServerDHParams
	kxDHPSK           // psk_identity_hint, then ServerDHParams
	kxECDH            // ServerECDHParams
	kxECDHEPSK        // psk_identity_hint, then ServerECDHParams
)

// keyExchangeOf classifies a suite by its IANA key exchange name.
func keyExchangeOf(suite uint16) kxKind {
	cs, ok := iana.Suite(suite)
	if !ok {
		return kxNone
	}
	kx := cs.KeyExchange
	switch {
	case kx == "DHE_PSK" || kx == "PSK_DHE":
		return kxDHPSK
	case kx == "ECDHE_PSK":
		return kxECDHEPSK
	case strings.HasPrefix(kx, "DHE_") || strings.HasPrefix(kx, "DH_anon"):
		return kxDH
	case strings.HasPrefix(kx, "ECDHE_") || strings.HasPrefix(kx, "ECDH_anon"):
		return kxECDH
	}
	return kxNone
}

// parseServerKeyExchange reads the parameters at the start of a
// ServerKeyExchange (RFC 5246 section 7.4.3, RFC 8422 section 5.4, RFC 4279
// and 5489 for the PSK variants). The signature after them is not read.
func parseServerKeyExchange(body []byte, kx kxKind) (*KeyExchange, error) {
	s := cryptobyte.String(body)
	if kx == kxDHPSK || kx == kxECDHEPSK {
		var hint cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&hint) {
			return nil, protocolError("ServerKeyExchange psk_identity_hint is truncated")
		}
	}
	if kx == kxDH || kx == kxDHPSK {
		var p, g, y cryptobyte.String
		if !s.ReadUint16LengthPrefixed(&p) || !s.ReadUint16LengthPrefixed(&g) || !s.ReadUint16LengthPrefixed(&y) {
			return nil, protocolError("ServerKeyExchange DH parameters are truncated")
		}
		n := bitLen(p)
		if n == 0 {
			return nil, protocolError("ServerKeyExchange DH prime is zero")
		}
		return &KeyExchange{DHBits: n, DHPrime: slices.Clone([]byte(p))}, nil
	}
	ke := &KeyExchange{}
	if !s.ReadUint8(&ke.CurveType) {
		return nil, protocolError("ServerKeyExchange ECDH parameters are truncated")
	}
	if ke.CurveType != 3 {
		return ke, nil // explicit curves: the parameters follow, not a name
	}
	var point cryptobyte.String
	if !s.ReadUint16(&ke.Curve) || !s.ReadUint8LengthPrefixed(&point) || len(point) == 0 {
		return nil, protocolError("ServerKeyExchange named curve parameters are truncated")
	}
	return ke, nil
}

// bitLen returns the bit length of a big-endian unsigned integer.
func bitLen(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return (len(b)-i-1)*8 + bits.Len8(c)
		}
	}
	return 0
}
