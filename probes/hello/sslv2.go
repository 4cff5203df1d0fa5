package hello

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// SSLv2 message types (the SSL 2.0 specification, appendix B).
const (
	sslv2MsgError       = 0
	sslv2MsgClientHello = 1
	sslv2MsgServerHello = 4
)

// SSLv2Cipher is an SSLv2 cipher kind: a three-byte code and its name.
type SSLv2Cipher struct {
	Spec uint32
	Name string
}

// sslv2Ciphers are the seven cipher kinds SSL 2.0 defines.
var sslv2Ciphers = []SSLv2Cipher{
	{0x010080, "SSL_CK_RC4_128_WITH_MD5"},
	{0x020080, "SSL_CK_RC4_128_EXPORT40_WITH_MD5"},
	{0x030080, "SSL_CK_RC2_128_CBC_WITH_MD5"},
	{0x040080, "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"},
	{0x050080, "SSL_CK_IDEA_128_CBC_WITH_MD5"},
	{0x060040, "SSL_CK_DES_64_CBC_WITH_MD5"},
	{0x0700C0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"},
}

// SSLv2Ciphers returns every SSLv2 cipher kind, strongest-named first as the
// specification lists them.
func SSLv2Ciphers() []SSLv2Cipher { return append([]SSLv2Cipher(nil), sslv2Ciphers...) }

// SSLv2CipherName returns the name of an SSLv2 cipher kind, or
// "SSL_CK_UNKNOWN_0xXXXXXX".
func SSLv2CipherName(spec uint32) string {
	for _, c := range sslv2Ciphers {
		if c.Spec == spec {
			return c.Name
		}
	}
	return fmt.Sprintf("SSL_CK_UNKNOWN_0x%06X", spec)
}

// SSLv2ClientHello returns an SSLv2 CLIENT-HELLO record (two-byte header)
// offering every SSLv2 cipher kind, with no session id and the given
// challenge.
func SSLv2ClientHello(challenge [16]byte) []byte {
	body := []byte{sslv2MsgClientHello, 0x00, 0x02} // CLIENT-VERSION 2
	n := 3 * len(sslv2Ciphers)
	body = append(body, byte(n>>8), byte(n), 0, 0, 0, byte(len(challenge)))
	for _, c := range sslv2Ciphers {
		body = append(body, byte(c.Spec>>16), byte(c.Spec>>8), byte(c.Spec))
	}
	body = append(body, challenge[:]...)
	return append([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body...)
}

// SSLv2ServerHello is an SSLv2 SERVER-HELLO.
type SSLv2ServerHello struct {
	SessionIDHit    bool
	CertificateType uint8
	Version         uint16
	Certificate     []byte
	// CipherSpecs lists every cipher kind the server has, in its order.
	CipherSpecs  []uint32
	ConnectionID []byte
}

// SSLv2Error is an SSLv2 ERROR message (for example NO-CIPHER-ERROR, 1).
type SSLv2Error struct{ Code uint16 }

func (e *SSLv2Error) Error() string { return fmt.Sprintf("sslv2 error message, code %d", e.Code) }

// ErrTLSReply reports a server that answered an SSLv2 hello with a TLS alert
// or ServerHello: it speaks TLS, not SSLv2. When the answer is an alert, the
// error also wraps an *AlertError.
var ErrTLSReply = errors.New("server answered the SSLv2 hello with a TLS record")

// ReadSSLv2ServerHello reads the server's answer to an SSLv2 CLIENT-HELLO,
// reading at most maxBytes (default DefaultMaxBytes). A server that closes
// before sending anything gives an error wrapping io.EOF.
func ReadSSLv2ServerHello(r io.Reader, maxBytes int) (*SSLv2ServerHello, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	rd := &recordReader{r: r, max: maxBytes}
	var hdr [2]byte
	if err := rd.read(hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0]&0x80 == 0 {
		return nil, tlsInsteadOfSSLv2(rd, hdr)
	}
	body := make([]byte, int(hdr[0]&0x7f)<<8|int(hdr[1]))
	if err := rd.read(body); err != nil {
		return nil, err
	}
	return parseSSLv2ServerHello(body)
}

// tlsInsteadOfSSLv2 reads a reply whose first bytes are not an SSLv2
// two-byte header. A well-formed TLS alert or ServerHello gives ErrTLSReply
// (wrapping the *AlertError); anything else is an error as from
// ReadServerFlight, so that two bytes that merely look like TLS do not pass
// for an answer.
func tlsInsteadOfSSLv2(rd *recordReader, hdr [2]byte) error {
	if hdr[0] < recordChangeCipherSpec || hdr[0] > recordApplicationData || hdr[1] != 3 {
		return protocolError("not an SSLv2 record header: % x", hdr)
	}
	f, err := ReadServerFlight(io.MultiReader(bytes.NewReader(hdr[:]), rd.r), ReadOptions{MaxBytes: rd.max})
	var alert *AlertError
	switch {
	case errors.As(err, &alert):
		return fmt.Errorf("%w: %w", ErrTLSReply, alert)
	case f.ServerHello != nil:
		return ErrTLSReply
	}
	return err
}

// parseSSLv2ServerHello parses the body of an SSLv2 record that should hold a
// SERVER-HELLO.
func parseSSLv2ServerHello(body []byte) (*SSLv2ServerHello, error) {
	s := cryptobyte.String(body)
	var typ uint8
	if !s.ReadUint8(&typ) {
		return nil, protocolError("empty SSLv2 record")
	}
	if typ == sslv2MsgError {
		var code uint16
		if !s.ReadUint16(&code) {
			return nil, protocolError("truncated SSLv2 ERROR message")
		}
		return nil, &SSLv2Error{Code: code}
	}
	if typ != sslv2MsgServerHello {
		return nil, protocolError("expected an SSLv2 SERVER-HELLO, got message type %d", typ)
	}
	sh := &SSLv2ServerHello{}
	var hit uint8
	var certLen, specsLen, idLen uint16
	if !s.ReadUint8(&hit) || !s.ReadUint8(&sh.CertificateType) || !s.ReadUint16(&sh.Version) ||
		!s.ReadUint16(&certLen) || !s.ReadUint16(&specsLen) || !s.ReadUint16(&idLen) {
		return nil, protocolError("SSLv2 SERVER-HELLO of %d bytes is truncated", len(body))
	}
	sh.SessionIDHit = hit != 0
	if sh.Version != 0x0002 {
		return nil, protocolError("SSLv2 SERVER-HELLO with version 0x%04x", sh.Version)
	}
	if specsLen%3 != 0 || int(certLen)+int(specsLen)+int(idLen) != len(s) {
		return nil, protocolError("SSLv2 SERVER-HELLO lengths (certificate %d, cipher specs %d, connection id %d) do not match its %d bytes",
			certLen, specsLen, idLen, len(s))
	}
	var specs []byte
	s.ReadBytes(&sh.Certificate, int(certLen))
	s.ReadBytes(&specs, int(specsLen))
	sh.ConnectionID = append([]byte(nil), s...)
	sh.Certificate = append([]byte(nil), sh.Certificate...)
	for i := 0; i+2 < len(specs); i += 3 {
		sh.CipherSpecs = append(sh.CipherSpecs, uint32(specs[i])<<16|uint32(specs[i+1])<<8|uint32(specs[i+2]))
	}
	return sh, nil
}
