package hello

import (
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
)

// typeCertificateVerify is the CertificateVerify message (RFC 8446 4.4.3).
const typeCertificateVerify = 15

// ReadSignatureScheme reads the server's TLS 1.3 flight as ReadCertificate
// does, then on past the Certificate to the CertificateVerify, and returns
// the signature scheme the server signed the handshake with: over TLS 1.3
// that message is encrypted, so only a client holding the key share can
// see which scheme the server chose. A server that negotiated TLS 1.2 or
// older gives the flight and scheme 0 with no error: its choice is in the
// ServerKeyExchange, read in the clear. It reads ahead as ReadServerFlight
// does.
func (c *CertificateHello) ReadSignatureScheme(r io.Reader, maxBytes int) (*CertificateFlight, uint16, error) {
	c.flight13 = nil
	rd := &recordReader{r: r, max: orDefaultMax(maxBytes), ahead: newReadAhead()}
	defer rd.ahead.release()
	f, err := c.readCertificateFrom(rd)
	if err != nil || c.flight13 == nil {
		return f, 0, err
	}
	defer func() { f.Bytes = c.flight13.rd.n }()
	typ, body, err := c.flight13.message()
	if err != nil {
		return f, 0, fmt.Errorf("after the Certificate: %w", err)
	}
	if typ != typeCertificateVerify {
		return f, 0, protocolError("server sent handshake message type %d instead of a CertificateVerify", typ)
	}
	scheme, err := parseCertificateVerify(body)
	return f, scheme, err
}

// parseCertificateVerify returns the scheme of a CertificateVerify body:
// the scheme, then the signature (RFC 8446 4.4.3).
func parseCertificateVerify(body []byte) (uint16, error) {
	s := cryptobyte.String(body)
	var scheme uint16
	var sig cryptobyte.String
	if !s.ReadUint16(&scheme) || !s.ReadUint16LengthPrefixed(&sig) || len(sig) == 0 || !s.Empty() {
		return 0, protocolError("CertificateVerify message of %d bytes is malformed", len(body))
	}
	return scheme, nil
}
