package vuln

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/tls"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// FuzzCertificateRequest feeds arbitrary bytes to the CertificateRequest
// parser: it must never panic, and never keep more names than it counts.
func FuzzCertificateRequest(f *testing.F) {
	f.Add([]byte{2, 1, 64, 0, 4, 4, 1, 4, 3, 0, 0}, uint16(0x0303))
	f.Add([]byte{1, 1, 0, 5, 0, 3, 0x30, 1, 0}, uint16(0x0301))
	f.Fuzz(func(t *testing.T, body []byte, version uint16) {
		cr, err := parseCertificateRequest(body, version)
		if err == nil && (len(cr.CANames) > cr.CANamesCount || len(cr.CANames) > maxCANames) {
			t.Fatalf("%d names kept of %d counted", len(cr.CANames), cr.CANamesCount)
		}
	})
}

// FuzzFeatures reads arbitrary bytes as a server's first flight and
// derives the features from whatever parsed: never a panic, and the
// extension names match the ServerHello's extensions one for one.
func FuzzFeatures(f *testing.F) {
	fs := fakeServer{heartbleed: true, certRequest: []byte{1, 1, 0, 0, 0, 0}}
	f.Add(record(22, 0x0303, fs.flight(0x0303, 0xc02f, 0)))
	f.Add(record(22, 0x0303, fakeServer{}.flight(0x0301, 0x002f, 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, _ := hello.ReadHandshake(bytes.NewReader(data), 1<<16)
		if hs.ServerHello == nil {
			return
		}
		var feat tlswarden.TLSFeatures
		if err := readFeatures(&feat, hs); err == nil && len(feat.Extensions) != len(hs.ServerHello.Extensions) {
			t.Fatalf("%d extension names for %d extensions", len(feat.Extensions), len(hs.ServerHello.Extensions))
		}
	})
}

// FuzzCertificateMessage reads arbitrary bytes as a Certificate message
// body for the ROBOT check's key: never a panic.
func FuzzCertificateMessage(f *testing.F) {
	f.Add([]byte{0, 0, 6, 0, 0, 3, 0x30, 1, 0})
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		der, err := firstCertificate(body)
		if err == nil && len(der) == 0 {
			t.Fatal("an empty certificate was returned")
		}
	})
}

// FuzzTicket reads arbitrary bytes as a server's side of a handshake
// looking for a NewSessionTicket: never a panic.
func FuzzTicket(f *testing.F) {
	f.Add(record(22, 0x0303, message(4, []byte{0, 0, 0x1c, 0x20, 0, 1, 9})))
	f.Add([]byte{22, 3, 3, 0, 2, 4, 0})
	f.Fuzz(func(t *testing.T, server []byte) {
		if issued, hint, tk := ticketOf(server); !issued && (hint != 0 || tk != nil) {
			t.Fatalf("a lifetime hint %d without a ticket", hint)
		}
	})
}

// FuzzServerKeyExchange reads arbitrary bytes as a TLS 1.2
// ServerKeyExchange of an ECDHE and of a DHE suite: never a panic.
func FuzzServerKeyExchange(f *testing.F) {
	f.Add([]byte{3, 0, 0x1d, 1, 9, 8, 4, 0, 1, 0})
	f.Add([]byte{0, 1, 7, 0, 1, 2, 0, 1, 5, 4, 1, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, suite := range []uint16{0xc02f, 0x009e} {
			_, _ = skeScheme(body, suite)
		}
	})
}

// FuzzResumedFlight reads arbitrary bytes as a server's answer to a hello
// offering a session ID: never a panic, and a flight judged resumed
// echoes the ID and holds no Certificate.
func FuzzResumedFlight(f *testing.F) {
	id := []byte{1, 2, 3, 4}
	sh := fakeServer{}.flight(0x0303, 0xc02f, 0)
	f.Add(record(22, 0x0303, sh), id)
	f.Add(append(record(22, 0x0303, sh[:4+int(sh[3])]), 20, 3, 3, 0, 1, 1), id)
	f.Fuzz(func(t *testing.T, data, id []byte) {
		if sh, err := serverHelloOf(data); err == nil && sh == nil {
			t.Fatal("no ServerHello and no error")
		}
		hs, _ := hello.ReadHandshake(bytes.NewReader(data), 1<<16)
		if abbreviated(hs, id) && (hs.Message(hello.MsgCertificate) != nil || !bytes.Equal(hs.ServerHello.SessionID, id)) {
			t.Fatalf("judged resumed: %+v", hs)
		}
	})
}

// FuzzRenegotiationAnswer feeds arbitrary records to the decryption and
// reading of the answer to a renegotiation hello: never a panic, and only
// a decrypted ServerHello counts as a renegotiation.
func FuzzRenegotiationAnswer(f *testing.F) {
	keys := func() *sessionKeys {
		sk, _ := suiteKeysOf(0xc02f)
		c, _ := newRecordCipher(sk, make([]byte, 16), make([]byte, 4))
		s, _ := newRecordCipher(sk, make([]byte, 16), make([]byte, 4))
		return &sessionKeys{client: c, server: s}
	}
	f.Add(uint8(22), keys().client.seal(22, []byte{2, 0, 0, 0})[5:])
	f.Add(uint8(21), keys().client.seal(21, []byte{1, 100})[5:])
	f.Add(uint8(22), []byte{0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		plain, err := keys().server.open(typ, body)
		if err != nil {
			return
		}
		accepted, _, err := renegotiationAnswer(typ, plain)
		if accepted && (err != nil || typ != 22 || plain[0] != 2) {
			t.Fatalf("accepted on type %d, % x", typ, plain)
		}
	})
}

// FuzzTLS13Resumption feeds arbitrary bytes to the parsers of the TLS 1.3
// resumption check: the EncryptedExtensions, NewSessionTicket messages,
// a ServerHello key_share and crypto/tls's session encoding. Never a
// panic, and a ticket found only when its bytes match.
func FuzzTLS13Resumption(f *testing.F) {
	nst := message(4, []byte{0, 0, 1, 0, 0, 0, 0, 7, 1, 9, 0, 2, 0xaa, 0xbb, 0, 8, 0, 42, 0, 4, 0, 0, 0x40, 0})
	f.Add(message(8, []byte{0, 4, 0, 42, 0, 0}), nst, []byte{0, 0x1d, 0, 32})
	f.Add(message(8, []byte{0, 0}), []byte{4, 0, 0, 1}, []byte{})
	f.Fuzz(func(t *testing.T, ee, msgs, keyShare []byte) {
		_, _ = earlyDataIn(ee)
		if tf := newSessionTickets(msgs, []byte{0xaa, 0xbb}); tf.found && !bytes.Contains(msgs, []byte{0, 2, 0xaa, 0xbb}) {
			t.Fatalf("a ticket found in % x", msgs)
		}
		_, _ = sessionPSK(msgs)
		key, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = sharedSecret(key, keyShare)
	})
}

// fuzzCBC is a CBC cipher with fixed keys for version v.
func fuzzCBC(v uint16) *cbcCipher {
	p, _ := cbcParamsOf(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA)
	c, err := newCBCCipher(p, v, bytes.Repeat([]byte{1}, p.macLen), bytes.Repeat([]byte{2}, p.keyLen))
	if err != nil {
		panic(err)
	}
	c.iv = bytes.Repeat([]byte{3}, cbcBlock)
	return c
}

// FuzzCBCRecord reads arbitrary bytes as the body of a server's CBC
// record in answer to a malformed one: never a panic, always an answer,
// and a record this package sealed opens to what it held.
func FuzzCBCRecord(f *testing.F) {
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12} {
		f.Add(v, uint8(21), fuzzCBC(v).seal(21, []byte{2, 20})[5:])
		f.Add(v, uint8(23), fuzzCBC(v).seal(23, []byte("data"))[5:])
		f.Add(v, uint8(21), []byte{2, 20})
	}
	f.Fuzz(func(t *testing.T, v uint16, typ uint8, body []byte) {
		v = tls.VersionTLS10 + v%3
		if describeRecord(fuzzCBC(v), typ, body) == "" {
			t.Fatal("no answer")
		}
		if len(body) > 1024 {
			return
		}
		rec := fuzzCBC(v).seal(typ, body)
		got, err := fuzzCBC(v).open(typ, rec[5:])
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("sealed %x, opened %x, %v", body, got, err)
		}
	})
}
