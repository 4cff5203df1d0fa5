package vuln

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// The TLS 1.3 key schedule of a PSK resumption (RFC 8446, section 7.1)
// as far as the server's EncryptedExtensions: the binder of the hello and
// the server's handshake traffic key.

// suite13 is a TLS 1.3 cipher suite.
type suite13 struct {
	id     uint16
	hash   func() hash.Hash
	keyLen int
	chacha bool
}

func suite13Of(id uint16) (suite13, bool) {
	switch id {
	case 0x1301:
		return suite13{id, sha256.New, 16, false}, true
	case 0x1302:
		return suite13{id, sha512.New384, 32, false}, true
	case 0x1303:
		return suite13{id, sha256.New, 32, true}, true
	}
	return suite13{}, false
}

func (s suite13) size() int { return s.hash().Size() }

func (s suite13) transcript(msgs ...[]byte) []byte {
	h := s.hash()
	for _, m := range msgs {
		h.Write(m)
	}
	return h.Sum(nil)
}

// expandLabel is HKDF-Expand-Label.
func (s suite13) expandLabel(secret []byte, label string, context []byte, n int) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint16(uint16(n))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte("tls13 " + label)) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(context) })
	out, err := hkdf.Expand(s.hash, secret, string(b.BytesOrPanic()), n)
	if err != nil {
		panic("vuln: HKDF-Expand-Label: " + err.Error()) // only for lengths beyond 255 hashes
	}
	return out
}

func (s suite13) extract(secret, salt []byte) []byte {
	out, err := hkdf.Extract(s.hash, secret, salt)
	if err != nil {
		panic("vuln: HKDF-Extract: " + err.Error())
	}
	return out
}

func (s suite13) earlySecret(psk []byte) []byte { return s.extract(psk, nil) }

// binder is the PSK binder over the hello truncated before its binders.
func (s suite13) binder(psk, truncated []byte) []byte {
	binderKey := s.expandLabel(s.earlySecret(psk), "res binder", s.transcript(), s.size())
	finished := s.expandLabel(binderKey, "finished", nil, s.size())
	mac := hmac.New(s.hash, finished)
	mac.Write(s.transcript(truncated))
	return mac.Sum(nil)
}

// trafficKey is one direction's record key and IV.
type trafficKey struct{ key, iv []byte }

// serverHandshakeKey derives the server's handshake traffic key from the
// PSK, the (EC)DHE secret and the ClientHello and ServerHello messages.
func (s suite13) serverHandshakeKey(psk, shared, ch, sh []byte) trafficKey {
	derived := s.expandLabel(s.earlySecret(psk), "derived", s.transcript(), s.size())
	hs := s.extract(shared, derived)
	secret := s.expandLabel(hs, "s hs traffic", s.transcript(ch, sh), s.size())
	return trafficKey{key: s.expandLabel(secret, "key", nil, s.keyLen), iv: s.expandLabel(secret, "iv", nil, 12)}
}

// handshakeHeader is a handshake message header.
func handshakeHeader(typ uint8, n int) []byte {
	return []byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}
}

// pskHello is a TLS 1.3 ClientHello message offering the session's ticket
// as a PSK with psk_dhe_ke, an X25519 key share and, when the ticket
// allows it, early_data.
// pre_shared_key comes last, as RFC 8446 requires, and there is no
// padding after it.
func pskHello(host string, suite suite13, s *session13, pub []byte, age uint32) ([]byte, error) {
	var random, sid [32]byte
	rand.Read(random[:])
	rand.Read(sid[:])
	build := func(binder []byte) ([]byte, error) {
		b := cryptobyte.NewBuilder(nil)
		b.AddUint8(1) // client_hello
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(0x0303)
			b.AddBytes(random[:])
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sid[:]) })
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(suite.id) })
			b.AddUint8(1)
			b.AddUint8(0) // null compression
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { pskExtensions(b, host, s, pub, age, binder) })
		})
		return b.Bytes()
	}
	msg, err := build(make([]byte, suite.size()))
	if err != nil {
		return nil, fmt.Errorf("resumption hello: %w", err)
	}
	truncated := msg[:len(msg)-(2+1+suite.size())] // without the binders list
	return build(suite.binder(s.psk, truncated))
}

func pskExtensions(b *cryptobyte.Builder, host string, s *session13, pub []byte, age uint32, binder []byte) {
	ext := func(typ uint16, f func(b *cryptobyte.Builder)) {
		b.AddUint16(typ)
		b.AddUint16LengthPrefixed(f)
	}
	if name := sniName(host); name != "" {
		ext(0, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint8(0) // host_name
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(name)) })
			})
		})
	}
	ext(extSupportedGroupsTLS13, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(groupX25519) })
	})
	ext(13, func(b *cryptobyte.Builder) { // signature_algorithms
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, sc := range hello.DefaultSignatureSchemes() {
				b.AddUint16(sc)
			}
		})
	})
	ext(extSupportedVersions, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x0304) })
	})
	ext(extPSKKeyExchangeModes, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(1) }) // psk_dhe_ke
	})
	ext(extKeyShare, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16(groupX25519)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(pub) })
		})
	})
	if s.maxEarlyData > 0 { // RFC 8446 4.2.10: only when the ticket allows it
		ext(extEarlyData, func(*cryptobyte.Builder) {})
	}
	ext(extPreSharedKey, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.ticket) })
			b.AddUint32(age)
		})
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(binder) })
		})
	})
}

// records13 reads the server's protected records under one traffic key.
type records13 struct {
	aead cipher.AEAD
	iv   []byte
	seq  uint64
}

func newRecords13(s suite13, k trafficKey) *records13 {
	var aead cipher.AEAD
	var err error
	if s.chacha {
		aead, err = chacha20poly1305.New(k.key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(k.key); err == nil {
			aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		panic("vuln: TLS 1.3 record key: " + err.Error()) // key lengths are the suite's own
	}
	return &records13{aead: aead, iv: k.iv}
}

// maxRecords13 bounds the records read before the first protected one
// (middlebox-compatibility ChangeCipherSpecs).
const maxRecords13 = 4

// firstMessage reads records up to the first protected one, decrypts it
// and returns the first handshake message it holds, whole.
func (d *records13) firstMessage(r io.Reader) ([]byte, error) {
	for range maxRecords13 {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, fmt.Errorf("reading a record header: %w", err)
		}
		n := int(binary.BigEndian.Uint16(hdr[3:]))
		if n > hello.MaxRecordPayload+256 {
			return nil, &tlswarden.ProtocolError{Msg: fmt.Sprintf("record of %d bytes", n)}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("reading a record: %w", err)
		}
		switch hdr[0] {
		case hello.RecordChangeCipherSpec:
			continue
		case hello.RecordAlert:
			if n == 2 {
				return nil, &hello.AlertError{Level: body[0], Description: body[1]}
			}
		case hello.RecordApplicationData:
			return d.open(hdr[:], body)
		}
		return nil, &tlswarden.ProtocolError{Msg: fmt.Sprintf("record of content type %d after the ServerHello", hdr[0])}
	}
	return nil, &tlswarden.ProtocolError{Msg: "no protected record after the ServerHello"}
}

// open decrypts one record and returns its first handshake message.
func (d *records13) open(hdr, body []byte) ([]byte, error) {
	plain, err := d.decrypt(hdr, body)
	if err != nil {
		return nil, err
	}
	if len(plain) < 4 {
		return nil, &tlswarden.ProtocolError{Msg: "the first protected record is too short"}
	}
	n := 4 + (int(plain[1])<<16 | int(plain[2])<<8 | int(plain[3]))
	if len(plain) < n {
		return nil, &tlswarden.ProtocolError{Msg: "the first handshake message spans records"}
	}
	return plain[:n], nil
}

// decrypt opens one record holding handshake messages and returns them.
func (d *records13) decrypt(hdr, body []byte) ([]byte, error) {
	nonce := append([]byte(nil), d.iv...)
	for i := range 8 {
		nonce[len(nonce)-1-i] ^= byte(d.seq >> (8 * i))
	}
	plain, err := d.aead.Open(nil, nonce, body, hdr)
	if err != nil {
		return nil, &tlswarden.ProtocolError{Msg: "the server's record does not decrypt under the expected keys"}
	}
	d.seq++
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != hello.RecordHandshake {
		return nil, &tlswarden.ProtocolError{Msg: "a protected record holds no handshake message"}
	}
	return plain[:i], nil
}

// ticketFacts are what a TLS 1.3 NewSessionTicket says beyond the ticket.
type ticketFacts struct {
	ageAdd       uint32
	maxEarlyData uint32 // 0 when the ticket allows no early data
	found        bool
}

// ticketFactsOf decrypts the server's records after its Finished with its
// application traffic secret (from the key log) and reads the
// NewSessionTicket carrying ticket. Records under the handshake keys do
// not decrypt and are passed over.
func ticketFactsOf(s suite13, appSecret, server, ticket []byte) ticketFacts {
	rd := newRecords13(s, trafficKey{key: s.expandLabel(appSecret, "key", nil, s.keyLen), iv: s.expandLabel(appSecret, "iv", nil, 12)})
	rec := cryptobyte.String(server)
	opened := false
	for !rec.Empty() {
		var hdr []byte
		var body cryptobyte.String
		if !rec.ReadBytes(&hdr, 3) || !rec.ReadUint16LengthPrefixed(&body) {
			break
		}
		if hdr[0] != hello.RecordApplicationData {
			continue
		}
		full := append(append([]byte(nil), hdr...), byte(len(body)>>8), byte(len(body)))
		plain, err := rd.decrypt(full, body)
		if err != nil {
			if opened {
				break
			}
			continue
		}
		opened = true
		if tf := newSessionTickets(plain, ticket); tf.found {
			return tf
		}
	}
	return ticketFacts{}
}

// newSessionTickets reads handshake messages and returns the facts of the
// NewSessionTicket carrying ticket (RFC 8446, section 4.6.1).
func newSessionTickets(msgs, ticket []byte) ticketFacts {
	s := cryptobyte.String(msgs)
	for !s.Empty() {
		var typ uint8
		var body cryptobyte.String
		if !s.ReadUint8(&typ) || !s.ReadUint24LengthPrefixed(&body) {
			break
		}
		var lifetime uint32
		var tf ticketFacts
		var nonce, tk, exts cryptobyte.String
		if typ != 4 || !body.ReadUint32(&lifetime) || !body.ReadUint32(&tf.ageAdd) || !body.ReadUint8LengthPrefixed(&nonce) ||
			!body.ReadUint16LengthPrefixed(&tk) || !body.ReadUint16LengthPrefixed(&exts) || !bytes.Equal(tk, ticket) {
			continue
		}
		for !exts.Empty() {
			var et uint16
			var data cryptobyte.String
			if !exts.ReadUint16(&et) || !exts.ReadUint16LengthPrefixed(&data) {
				break
			}
			if et == extEarlyData {
				data.ReadUint32(&tf.maxEarlyData)
			}
		}
		tf.found = true
		return tf
	}
	return ticketFacts{}
}
