package hello

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"
)

// tls13Suite is what the record layer needs of a TLS 1.3 suite.
type tls13Suite struct {
	hash   func() hash.Hash
	keyLen int
	aead   func(key []byte) (cipher.AEAD, error)
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// tls13Suites are the suites a TLS 1.3 certificate hello can read behind:
// the three every TLS 1.3 server has (RFC 8446 9.1 makes the first
// mandatory).
var tls13Suites = map[uint16]tls13Suite{
	0x1301: {sha256.New, 16, aesGCM},
	0x1302: {sha512.New384, 32, aesGCM},
	0x1303: {sha256.New, 32, chacha20poly1305.New},
}

// TLS13CertificateSuites returns the TLS 1.3 suites ReadCertificate can
// decrypt a server's flight under.
func TLS13CertificateSuites() []uint16 { return []uint16{0x1301, 0x1302, 0x1303} }

// readTLS13 derives the server's handshake traffic key from the shared
// secret and the transcript (ClientHello, ServerHello) and reads the
// encrypted flight up to the Certificate message.
func (c *CertificateHello) readTLS13(rd *recordReader, f *CertificateFlight, shBody []byte) error {
	sh := f.ServerHello
	suite, ok := tls13Suites[sh.CipherSuite]
	if !ok {
		return protocolError("server chose TLS 1.3 suite 0x%04X, which was not offered", sh.CipherSuite)
	}
	aead, iv, err := c.serverHandshakeKey(suite, sh, shBody)
	if err != nil {
		return err
	}
	dec := &tls13Records{rd: rd, aead: aead, iv: iv}
	c.flight13 = dec
	for {
		typ, body, err := dec.message()
		if err != nil {
			return fmt.Errorf("after the ServerHello: %w", err)
		}
		switch typ {
		case typeEncryptedExtensions, typeCertificateRequest:
			continue
		case typeCertificate:
			f.MessageBytes = len(body)
			return parseTLS13Certificate(body, f)
		}
		return protocolError("server sent handshake message type %d instead of a Certificate", typ)
	}
}

// serverHandshakeKey runs the TLS 1.3 key schedule up to the server's
// handshake traffic secret (RFC 8446 7.1) and returns its AEAD and IV.
func (c *CertificateHello) serverHandshakeKey(s tls13Suite, sh *ServerHello, shBody []byte) (cipher.AEAD, []byte, error) {
	var priv *ecdh.PrivateKey
	if c.shares != nil {
		priv = c.shares.priv[sh.KeyShareGroup]
	}
	data, ok := serverHelloExtension(shBody, extKeyShare)
	in := cryptobyte.String(data)
	var group uint16
	var share cryptobyte.String
	if priv == nil || !ok || !in.ReadUint16(&group) || !in.ReadUint16LengthPrefixed(&share) {
		return nil, nil, protocolError("server chose key share group 0x%04X, which was not offered", sh.KeyShareGroup)
	}
	peer, err := priv.Curve().NewPublicKey(share)
	if err != nil {
		return nil, nil, protocolError("server key share: %v", err)
	}
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, nil, protocolError("server key share: %v", err)
	}
	transcript := s.hash()
	transcript.Write(c.msg)
	transcript.Write(handshakeHeader(typeServerHello, len(shBody)))
	transcript.Write(shBody)
	secret := handshakeTrafficSecret(s.hash, shared, transcript.Sum(nil))
	key := expandLabel(s.hash, secret, "key", nil, s.keyLen)
	aead, err := s.aead(key)
	if err != nil {
		return nil, nil, fmt.Errorf("server handshake key: %w", err)
	}
	return aead, expandLabel(s.hash, secret, "iv", nil, 12), nil
}

// handshakeTrafficSecret is server_handshake_traffic_secret for a full
// handshake without a PSK.
func handshakeTrafficSecret(h func() hash.Hash, shared, transcript []byte) []byte {
	zeros := make([]byte, h().Size())
	early, _ := hkdf.Extract(h, zeros, nil)
	empty := h().Sum(nil)
	derived := expandLabel(h, early, "derived", empty, len(zeros))
	hs, _ := hkdf.Extract(h, shared, derived)
	return expandLabel(h, hs, "s hs traffic", transcript, len(zeros))
}

// expandLabel is HKDF-Expand-Label (RFC 8446 7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, n int) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint16(uint16(n))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("tls13 " + label)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(context) })
	out, _ := hkdf.Expand(h, secret, string(b.BytesOrPanic()), n)
	return out
}

func handshakeHeader(typ uint8, n int) []byte {
	return []byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}
}

// tls13Records reads the server's protected records and reassembles the
// handshake messages in them.
type tls13Records struct {
	rd        *recordReader
	aead      cipher.AEAD
	iv        []byte
	seq       uint64
	protected bool // a protected record has been read
	hs        []byte
}

func (d *tls13Records) message() (uint8, []byte, error) {
	for {
		if len(d.hs) >= 4 {
			n := int(d.hs[1])<<16 | int(d.hs[2])<<8 | int(d.hs[3])
			if n > d.rd.max {
				return 0, nil, protocolError("handshake message of %d bytes exceeds the %d-byte limit", n, d.rd.max)
			}
			if len(d.hs) >= 4+n {
				typ, body := d.hs[0], d.hs[4:4+n]
				d.hs = d.hs[4+n:]
				return typ, body, nil
			}
		}
		if err := d.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// fill reads one record: a compatibility change_cipher_spec before the
// first protected record is skipped (RFC 8446 D.4), an alert is returned,
// a protected record is decrypted and its handshake bytes kept.
func (d *tls13Records) fill() error {
	typ, frag, err := d.rd.record()
	if err != nil {
		return err
	}
	switch {
	case typ == recordChangeCipherSpec && !d.protected && len(frag) == 1 && frag[0] == 1:
		return nil
	case typ == recordAlert:
		return parseAlert(frag)
	case typ != recordApplicationData:
		return protocolError("unprotected record of content type %d after a TLS 1.3 ServerHello", typ)
	}
	d.protected = true
	inner, innerType, err := d.open(frag)
	if err != nil {
		return err
	}
	switch innerType {
	case recordHandshake:
		d.hs = append(d.hs, inner...)
		return nil
	case recordAlert:
		return parseAlert(inner)
	}
	return protocolError("protected record of content type %d during the handshake", innerType)
}

// open decrypts one protected record (RFC 8446 5.2) and strips its
// padding.
func (d *tls13Records) open(frag []byte) ([]byte, uint8, error) {
	nonce := make([]byte, len(d.iv))
	copy(nonce, d.iv)
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], d.seq)
	for i := range seq {
		nonce[len(nonce)-8+i] ^= seq[i]
	}
	d.seq++
	n := len(frag)
	hdr := []byte{recordApplicationData, 3, 3, byte(n >> 8), byte(n)}
	plain, err := d.aead.Open(nil, nonce, frag, hdr)
	if err != nil {
		return nil, 0, protocolError("protected record %d does not decrypt under the handshake key", d.seq)
	}
	for i := len(plain) - 1; i >= 0; i-- {
		if plain[i] != 0 {
			return plain[:i], plain[i], nil
		}
	}
	return nil, 0, protocolError("protected record %d holds no content type", d.seq)
}

// parseTLS13Certificate parses a TLS 1.3 Certificate message body (RFC
// 8446 4.4.2): a request context, then entries of certificate and
// extensions; the leaf entry's extensions may carry the OCSP staple and
// SCTs.
func parseTLS13Certificate(body []byte, f *CertificateFlight) error {
	s := cryptobyte.String(body)
	var ctx, list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&ctx) || !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return protocolError("TLS 1.3 Certificate message of %d bytes is malformed", len(body))
	}
	for !list.Empty() {
		var der, exts cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || len(der) == 0 || !list.ReadUint16LengthPrefixed(&exts) {
			return protocolError("TLS 1.3 Certificate entry is malformed")
		}
		if len(f.Certificates) == 0 {
			leafExtensions(exts, f)
		}
		f.Certificates = append(f.Certificates, append([]byte(nil), der...))
	}
	return nil
}

// leafExtensions records the staple and SCTs of the leaf's entry.
func leafExtensions(exts cryptobyte.String, f *CertificateFlight) {
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return
		}
		switch typ {
		case extStatusRequest:
			f.OCSPResponse = parseCertificateStatus(data)
		case extSCT:
			f.SCTs = parseSCTList(data)
		}
	}
}
