package preamble

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ldapStartTLS is the StartTLS extended request (RFC 4511 4.14.1):
// LDAPMessage{messageID 1, [APPLICATION 23] {[0] "1.3.6.1.4.1.1466.20037"}}.
var ldapStartTLS = append([]byte{0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16}, "1.3.6.1.4.1.1466.20037"...)

// maxLDAPMessage bounds the one response read.
const maxLDAPMessage = 16 << 10

// ldap sends the StartTLS extended operation and reads its response; a
// resultCode other than success (protocolError, 2, from servers without
// it) means STARTTLS is not offered.
func ldap(s *session) error {
	if err := s.send(ldapStartTLS); err != nil {
		return err
	}
	msg, err := readBER(s.r, maxLDAPMessage)
	if err != nil {
		return err
	}
	code, diag, err := ParseLDAPExtendedResponse(msg)
	if err != nil {
		return err
	}
	s.res.Reply = printable("resultCode "+strconv.Itoa(code)+" "+diag, maxBanner)
	if code != 0 {
		return s.notOffered(s.res.Reply)
	}
	return nil
}

// readBER reads one BER TLV whole: its tag, its length (definite only),
// and its contents, at most max bytes.
func readBER(r io.ByteReader, max int) ([]byte, error) {
	var hdr []byte
	next := func() (byte, error) {
		b, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("read: %w", err)
		}
		hdr = append(hdr, b)
		return b, nil
	}
	if _, err := next(); err != nil {
		return nil, err
	}
	l, err := next()
	if err != nil {
		return nil, err
	}
	n := int(l)
	if l&0x80 != 0 {
		k := int(l & 0x7f)
		if k == 0 || k > 3 {
			return nil, protoErr("BER length of %d bytes", k)
		}
		n = 0
		for i := 0; i < k; i++ {
			b, err := next()
			if err != nil {
				return nil, err
			}
			n = n<<8 | int(b)
		}
	}
	if n > max {
		return nil, protoErr("an LDAP message of %d bytes, more than %d", n, max)
	}
	body := make([]byte, n)
	for i := range body {
		if body[i], err = r.ReadByte(); err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
	}
	return append(hdr, body...), nil
}

// tlv is one BER element: its tag byte and contents.
type tlv struct {
	tag  byte
	body []byte
}

// splitBER cuts one element off b, returning it and the rest.
func splitBER(b []byte) (tlv, []byte, error) {
	if len(b) < 2 {
		return tlv{}, nil, errors.New("truncated element")
	}
	tag, l, b := b[0], int(b[1]), b[2:]
	if l&0x80 != 0 {
		k := l & 0x7f
		if k == 0 || k > 3 || len(b) < k {
			return tlv{}, nil, errors.New("bad length")
		}
		l = 0
		for _, x := range b[:k] {
			l = l<<8 | int(x)
		}
		b = b[k:]
	}
	if l > len(b) {
		return tlv{}, nil, errors.New("length beyond the message")
	}
	return tlv{tag, b[:l]}, b[l:], nil
}

// ParseLDAPExtendedResponse reads an LDAPMessage holding an
// ExtendedResponse ([APPLICATION 24]) and returns its resultCode and
// diagnosticMessage. A Notice of Disconnection (messageID 0) is read the
// same way: its resultCode says why.
func ParseLDAPExtendedResponse(msg []byte) (code int, diag string, err error) {
	fail := func(what string) (int, string, error) {
		return 0, "", protoErr("not an LDAP extended response: %s", what)
	}
	seq, _, err := splitBER(msg)
	if err != nil || seq.tag != 0x30 {
		return fail("no LDAPMessage sequence")
	}
	id, rest, err := splitBER(seq.body)
	if err != nil || id.tag != 0x02 {
		return fail("no messageID")
	}
	op, _, err := splitBER(rest)
	if err != nil || op.tag != 0x78 {
		return fail(fmt.Sprintf("operation tag 0x%02x, want 0x78", op.tag))
	}
	rc, rest, err := splitBER(op.body)
	if err != nil || rc.tag != 0x0a || len(rc.body) == 0 || len(rc.body) > 4 {
		return fail("no resultCode")
	}
	for _, x := range rc.body {
		code = code<<8 | int(x)
	}
	if _, rest, err = splitBER(rest); err != nil { // matchedDN
		return fail("no matchedDN")
	}
	if d, _, err := splitBER(rest); err == nil && d.tag == 0x04 {
		diag = string(d.body)
	}
	return code, diag, nil
}

// pgSSLRequest is PostgreSQL's SSLRequest: length 8, code 80877103.
var pgSSLRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// postgres sends SSLRequest; the server answers one byte, S or N.
func postgres(s *session) error {
	if err := s.send(pgSSLRequest); err != nil {
		return err
	}
	b, err := s.r.ReadByte()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	s.res.Reply = string(rune(b))
	switch b {
	case 'S':
		return nil
	case 'N':
		return s.notOffered("N")
	case 'E':
		// A server from before protocol 3 answers with an error message.
		return protoErr("the server answered SSLRequest with an error message")
	}
	return protoErr("the server answered SSLRequest with 0x%02x, not S or N", b)
}

// MySQL's capability flags (Protocol::CapabilityFlags).
const (
	mysqlClientLongPassword     = 0x00000001
	mysqlClientProtocol41       = 0x00000200
	mysqlClientSSL              = 0x00000800
	mysqlClientSecureConnection = 0x00008000
)

// maxMySQLPacket bounds the server's initial handshake packet.
const maxMySQLPacket = 16 << 10

// mysql reads the server's initial handshake and, when it offers
// CLIENT_SSL, sends the SSLRequest packet that precedes the ClientHello.
func mysql(s *session) error {
	pkt, err := readMySQLPacket(s.r)
	if err != nil {
		return err
	}
	version, caps, err := ParseMySQLHandshake(pkt)
	if err != nil {
		return err
	}
	s.banner(version)
	if caps&mysqlClientSSL == 0 {
		return s.notOffered("the handshake's capability flags lack CLIENT_SSL")
	}
	req := make([]byte, 4+32)
	req[0], req[3] = 32, 1 // payload length 32, sequence 1
	binary.LittleEndian.PutUint32(req[4:], mysqlClientSSL|mysqlClientProtocol41|mysqlClientSecureConnection|mysqlClientLongPassword)
	binary.LittleEndian.PutUint32(req[8:], 1<<24) // max packet size
	req[12] = 45                                  // utf8mb4_general_ci
	return s.send(req)
}

// readMySQLPacket reads one packet: a 3-byte length, a sequence byte and
// the payload.
func readMySQLPacket(r io.ByteReader) ([]byte, error) {
	var hdr [4]byte
	for i := range hdr {
		b, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		hdr[i] = b
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n > maxMySQLPacket {
		return nil, protoErr("a MySQL packet of %d bytes, more than %d", n, maxMySQLPacket)
	}
	p := make([]byte, n)
	for i := range p {
		b, err := r.ReadByte()
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		p[i] = b
	}
	return p, nil
}

// ParseMySQLHandshake reads a HandshakeV10 payload's server version and
// capability flags; an error packet (0xff) is a refusal.
func ParseMySQLHandshake(p []byte) (version string, caps uint32, err error) {
	if len(p) > 0 && p[0] == 0xff {
		msg := ""
		if len(p) > 3 {
			msg = printable(string(p[3:]), maxBanner)
		}
		return "", 0, &RefusedError{Reply: msg}
	}
	if len(p) < 1 || p[0] != 10 {
		return "", 0, protoErr("not a MySQL HandshakeV10")
	}
	end := 1
	for end < len(p) && p[end] != 0 {
		end++
	}
	// version NUL, connection id 4, auth data 8, filler 1, capabilities 2
	if end+1+4+8+1+2 > len(p) {
		return "", 0, protoErr("a MySQL handshake cut short")
	}
	version = string(p[1:end])
	at := end + 1 + 4 + 8 + 1
	caps = uint32(binary.LittleEndian.Uint16(p[at:]))
	// charset 1, status 2, then the upper capability bytes.
	if at+2+1+2+2 <= len(p) {
		caps |= uint32(binary.LittleEndian.Uint16(p[at+5:])) << 16
	}
	return version, caps, nil
}
