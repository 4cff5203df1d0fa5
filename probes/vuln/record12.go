package vuln

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tlswarden/tlswarden"
)

// A TLS 1.2 session's record protection, for the checks that write a
// record after Go's client finished the handshake (client-initiated
// renegotiation): the PRF and key expansion of RFC 5246 (sections 5 and
// 6.3), AES-GCM records (RFC 5288) and ChaCha20-Poly1305 records (RFC
// 7905). Only AEAD suites: that is what Go's client is offered for it.

// suiteKeys says how a TLS 1.2 AEAD suite's keys are derived and used.
type suiteKeys struct {
	prfHash func() hash.Hash
	keyLen  int
	ivLen   int // the fixed IV: 4 bytes for AES-GCM, 12 for ChaCha20
	chacha  bool
}

func suiteKeysOf(suite uint16) (suiteKeys, bool) {
	switch suite {
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256:
		return suiteKeys{sha256.New, 16, 4, false}, true
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_RSA_WITH_AES_256_GCM_SHA384:
		return suiteKeys{sha512.New384, 32, 4, false}, true
	case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return suiteKeys{sha256.New, 32, 12, true}, true
	}
	return suiteKeys{}, false
}

// prf12 is the TLS 1.2 PRF: P_hash(secret, label + seed) cut to n bytes.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	seed = append([]byte(label), seed...)
	out := make([]byte, 0, n+h().Size())
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(nil)
	}
	return out[:n]
}

// recordCipher protects one direction's records.
type recordCipher struct {
	aead    cipher.AEAD
	fixedIV []byte
	chacha  bool
	seq     uint64
}

// sessionKeys are both directions of a session.
type sessionKeys struct{ client, server *recordCipher }

// sessionCiphers derives both directions' record protection from a key
// log holding the session's master secret and the server's bytes holding
// its ServerHello. Both directions start at sequence number 1: the
// Finished messages were record 0.
func sessionCiphers(keyLog, server []byte, suite uint16) (*sessionKeys, error) {
	sk, ok := suiteKeysOf(suite)
	if !ok {
		return nil, fmt.Errorf("suite %#04x is not an AEAD suite this check encrypts", suite)
	}
	clientRandom, master, err := masterSecret(keyLog)
	if err != nil {
		return nil, err
	}
	sh, err := serverHelloOf(server)
	if err != nil {
		return nil, err
	}
	seed := append(sh.Random[:], clientRandom...) // server_random + client_random
	block := prf12(sk.prfHash, master, "key expansion", seed, 2*sk.keyLen+2*sk.ivLen)
	ck, sKey := block[:sk.keyLen], block[sk.keyLen:2*sk.keyLen]
	civ, siv := block[2*sk.keyLen:2*sk.keyLen+sk.ivLen], block[2*sk.keyLen+sk.ivLen:]
	c, err1 := newRecordCipher(sk, ck, civ)
	s, err2 := newRecordCipher(sk, sKey, siv)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("record keys: %w", err)
	}
	return &sessionKeys{client: c, server: s}, nil
}

func newRecordCipher(sk suiteKeys, key, iv []byte) (*recordCipher, error) {
	var aead cipher.AEAD
	var err error
	if sk.chacha {
		aead, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			aead, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		return nil, err
	}
	return &recordCipher{aead: aead, fixedIV: iv, chacha: sk.chacha, seq: 1}, nil
}

// nonce is the record's nonce and the explicit part sent before the
// ciphertext (AES-GCM's 8 bytes; none for ChaCha20).
func (c *recordCipher) nonce() (nonce, explicit []byte) {
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], c.seq)
	if c.chacha {
		nonce = append([]byte(nil), c.fixedIV...)
		for i := range seq {
			nonce[4+i] ^= seq[i]
		}
		return nonce, nil
	}
	return append(append([]byte(nil), c.fixedIV...), seq[:]...), seq[:]
}

// additionalData is seq_num + type + version + length (RFC 5246 6.2.3.3).
func (c *recordCipher) additionalData(typ uint8, n int) []byte {
	ad := binary.BigEndian.AppendUint64(nil, c.seq)
	return append(ad, typ, 3, 3, byte(n>>8), byte(n))
}

// seal returns one TLS 1.2 record of type typ holding payload.
func (c *recordCipher) seal(typ uint8, payload []byte) []byte {
	nonce, explicit := c.nonce()
	out := append([]byte{typ, 3, 3, 0, 0}, explicit...)
	out = c.aead.Seal(out, nonce, payload, c.additionalData(typ, len(payload)))
	n := len(out) - 5
	out[3], out[4] = byte(n>>8), byte(n)
	c.seq++
	return out
}

// open decrypts the body of one record of type typ.
func (c *recordCipher) open(typ uint8, body []byte) ([]byte, error) {
	nonce, explicit := c.nonce()
	if !c.chacha {
		if len(body) < len(explicit) {
			return nil, &tlswarden.ProtocolError{Msg: "encrypted record shorter than its nonce"}
		}
		nonce = append(nonce[:len(c.fixedIV)], body[:len(explicit)]...)
		body = body[len(explicit):]
	}
	n := len(body) - c.aead.Overhead()
	if n < 0 {
		return nil, &tlswarden.ProtocolError{Msg: "encrypted record shorter than its tag"}
	}
	plain, err := c.aead.Open(nil, nonce, body, c.additionalData(typ, n))
	if err != nil {
		return nil, &tlswarden.ProtocolError{Msg: "the server's record does not decrypt under the session's keys"}
	}
	c.seq++
	return plain, nil
}
