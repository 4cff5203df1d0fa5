package vuln

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
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
// 7905). The CBC records of the padding oracle check follow the AEAD
// ones.

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

// keyBlock is a full handshake's key expansion (RFC 5246, section 6.3):
// n bytes of the PRF over the master secret in the key log, seeded with
// the server's random (from its bytes' ServerHello) and the client's. A
// nil prfHash is TLS 1.0 and 1.1's PRF (RFC 2246, section 5).
func keyBlock(keyLog, server []byte, prfHash func() hash.Hash, n int) ([]byte, error) {
	clientRandom, master, err := masterSecret(keyLog)
	if err != nil {
		return nil, err
	}
	sh, err := serverHelloOf(server)
	if err != nil {
		return nil, err
	}
	seed := append(sh.Random[:], clientRandom...) // server_random + client_random
	if prfHash == nil {
		return prf10(master, "key expansion", seed, n), nil
	}
	return prf12(prfHash, master, "key expansion", seed, n), nil
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
	block, err := keyBlock(keyLog, server, sk.prfHash, 2*sk.keyLen+2*sk.ivLen)
	if err != nil {
		return nil, err
	}
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

// CBC records (RFC 5246 section 6.2.3.2, RFC 4346 and RFC 2246 for the
// IVs): MAC-then-encrypt with HMAC-SHA1 or HMAC-SHA256 and AES-CBC, for
// the padding oracle check, which must write records malformed on
// purpose, so the MAC, the padding and the encryption are separate steps
// here. The key block of TLS 1.0 and 1.1 comes from their MD5 and SHA-1
// PRF.

// cbcParams says how a CBC suite's keys are derived and used.
type cbcParams struct {
	mac    func() hash.Hash
	macLen int
	keyLen int
}

// cbcBlock is AES's block size, which is also each record's IV size from
// TLS 1.1 on.
const cbcBlock = aes.BlockSize

// cbcParamsOf says how the AES-CBC suites Go's client negotiates protect
// records.
func cbcParamsOf(suite uint16) (cbcParams, bool) {
	switch suite {
	case tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:
		return cbcParams{sha1.New, sha1.Size, 16}, true
	case tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:
		return cbcParams{sha1.New, sha1.Size, 32}, true
	case tls.TLS_RSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256:
		return cbcParams{sha256.New, sha256.Size, 16}, true
	}
	return cbcParams{}, false
}

// prf10 is the PRF of TLS 1.0 and 1.1 (RFC 2246 section 5): P_MD5 over
// the secret's first half XOR P_SHA1 over its second.
func prf10(secret []byte, label string, seed []byte, n int) []byte {
	half := (len(secret) + 1) / 2
	out := prf12(md5.New, secret[:half], label, seed, n)
	for i, b := range prf12(sha1.New, secret[len(secret)-half:], label, seed, n) {
		out[i] ^= b
	}
	return out
}

// cbcCipher protects one direction's CBC records.
type cbcCipher struct {
	block   cipher.Block
	mac     func() hash.Hash
	macKey  []byte
	macLen  int
	version uint16
	// iv is TLS 1.0's: the last ciphertext block of the direction's
	// previous record (RFC 2246 section 6.2.3.2). TLS 1.1 and 1.2 send a
	// fresh IV before each record instead.
	iv  []byte
	seq uint64
}

// cbcSession is both directions of a CBC session.
type cbcSession struct{ client, server *cbcCipher }

// cbcSessionOf derives both directions' record protection of a full
// handshake from its key log and the server's bytes (ServerHello), as
// sessionCiphers does for AEAD suites. Both directions start at sequence
// number 1. For TLS 1.0 the next IVs are the last ciphertext blocks of
// the Finished records: the last record in the client's bytes and in the
// server's.
func cbcSessionOf(keyLog, server, client []byte, version, suite uint16) (*cbcSession, error) {
	p, ok := cbcParamsOf(suite)
	if !ok {
		return nil, fmt.Errorf("suite %#04x is not a CBC suite this check encrypts", suite)
	}
	var prfHash func() hash.Hash // nil: TLS 1.0 and 1.1's PRF
	if version >= tls.VersionTLS12 {
		prfHash = sha256.New
	}
	kb, err := keyBlock(keyLog, server, prfHash, 2*p.macLen+2*p.keyLen+2*cbcBlock)
	if err != nil {
		return nil, err
	}
	take := func(k int) []byte { b := kb[:k]; kb = kb[k:]; return b }
	cMAC, sMAC, cKey, sKey := take(p.macLen), take(p.macLen), take(p.keyLen), take(p.keyLen)
	c, err1 := newCBCCipher(p, version, cMAC, cKey)
	s, err2 := newCBCCipher(p, version, sMAC, sKey)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("record keys: %w", err)
	}
	if version == tls.VersionTLS10 {
		c.iv, err1 = lastBlock(client)
		s.iv, err2 = lastBlock(server)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("TLS 1.0 IVs: %w", err)
		}
	}
	return &cbcSession{client: c, server: s}, nil
}

func newCBCCipher(p cbcParams, version uint16, macKey, key []byte) (*cbcCipher, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return &cbcCipher{block: b, mac: p.mac, macKey: macKey, macLen: p.macLen, version: version, seq: 1}, nil
}

// lastBlock is the last block of the last record in a run of records:
// the IV of the next record in a TLS 1.0 CBC session.
func lastBlock(records []byte) ([]byte, error) {
	var last []byte
	for len(records) >= 5 {
		n := int(records[3])<<8 | int(records[4])
		if len(records) < 5+n {
			break
		}
		last, records = records[5:5+n], records[5+n:]
	}
	if len(records) != 0 || len(last) < cbcBlock || len(last)%cbcBlock != 0 {
		return nil, errors.New("the handshake's last record is not a whole CBC record")
	}
	return bytes.Clone(last[len(last)-cbcBlock:]), nil
}

// recordMAC is the MAC of a record's content at the cipher's sequence
// number: HMAC(seq_num + type + version + length + content).
func (c *cbcCipher) recordMAC(typ uint8, content []byte) []byte {
	h := hmac.New(c.mac, c.macKey)
	var hdr [13]byte
	binary.BigEndian.PutUint64(hdr[:], c.seq)
	hdr[8], hdr[9], hdr[10] = typ, byte(c.version>>8), byte(c.version)
	hdr[11], hdr[12] = byte(len(content)>>8), byte(len(content))
	h.Write(hdr[:])
	h.Write(content)
	return h.Sum(nil)
}

// cbcPadding is valid CBC padding that brings n bytes to a whole number
// of blocks: p+1 bytes of value p (at least one byte).
func cbcPadding(n int) []byte {
	p := cbcBlock - 1 - n%cbcBlock
	return bytes.Repeat([]byte{byte(p)}, p+1)
}

// encrypt returns one record of type typ whose plaintext (content, MAC
// and padding, valid or not) is plain, a whole number of blocks.
func (c *cbcCipher) encrypt(typ uint8, plain []byte) []byte {
	out := []byte{typ, byte(c.version >> 8), byte(c.version), 0, 0}
	iv := c.iv
	if c.version >= tls.VersionTLS11 {
		iv = make([]byte, cbcBlock)
		rand.Read(iv)
		out = append(out, iv...)
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(c.block, iv).CryptBlocks(ct, plain)
	out = append(out, ct...)
	n := len(out) - 5
	out[3], out[4] = byte(n>>8), byte(n)
	c.iv = bytes.Clone(ct[len(ct)-cbcBlock:])
	c.seq++
	return out
}

// seal returns one well-formed record of type typ holding content.
func (c *cbcCipher) seal(typ uint8, content []byte) []byte {
	plain := append(bytes.Clone(content), c.recordMAC(typ, content)...)
	return c.encrypt(typ, append(plain, cbcPadding(len(plain))...))
}

// open decrypts the body of one record of type typ and checks its
// padding and MAC (not in constant time: these are the server's records).
func (c *cbcCipher) open(typ uint8, body []byte) ([]byte, error) {
	iv := c.iv
	if c.version >= tls.VersionTLS11 {
		if len(body) < cbcBlock {
			return nil, &tlswarden.ProtocolError{Msg: "CBC record shorter than its IV"}
		}
		iv, body = body[:cbcBlock], body[cbcBlock:]
	}
	if len(body) == 0 || len(body)%cbcBlock != 0 {
		return nil, &tlswarden.ProtocolError{Msg: fmt.Sprintf("CBC record of %d bytes, not whole blocks", len(body))}
	}
	plain := make([]byte, len(body))
	cipher.NewCBCDecrypter(c.block, iv).CryptBlocks(plain, body)
	p := int(plain[len(plain)-1])
	if p+1+c.macLen > len(plain) || !allBytes(plain[len(plain)-1-p:], byte(p)) {
		return nil, &tlswarden.ProtocolError{Msg: "the server's CBC record has bad padding under the session's keys"}
	}
	plain = plain[:len(plain)-1-p]
	content, mac := plain[:len(plain)-c.macLen], plain[len(plain)-c.macLen:]
	if !hmac.Equal(mac, c.recordMAC(typ, content)) {
		return nil, &tlswarden.ProtocolError{Msg: "the server's CBC record has a bad MAC under the session's keys"}
	}
	c.iv = bytes.Clone(body[len(body)-cbcBlock:])
	c.seq++
	return content, nil
}

func allBytes(b []byte, v byte) bool {
	for _, x := range b {
		if x != v {
			return false
		}
	}
	return true
}
