package hello

import (
	"bytes"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// readCertificateFrom sends the certificate hello to addr and reads the
// server's certificates.
func readCertificateFrom(t *testing.T, addr string, h ClientHello) (*CertificateFlight, error) {
	t.Helper()
	ch, err := NewCertificateHello(h)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	return ch.ReadCertificate(conn, 1<<20)
}

// TestReadCertificate reads the chain a Go server picks by the signature
// schemes offered, over TLS 1.3 (decrypting the server's flight) and
// TLS 1.2 (in clear), with a staple and SCTs where the server has them.
func TestReadCertificate(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	rsaLeaf := ca.Issue(t, tlstest.CertSpec{})
	ecLeaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	edLeaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.Ed25519})
	staple, sct := []byte("not really an OCSP response"), []byte("an SCT")
	certs := []tls.Certificate{rsaLeaf.TLSCertificate(&ca.Cert), ecLeaf.TLSCertificate(&ca.Cert), edLeaf.TLSCertificate()}
	for i := range certs {
		certs[i].OCSPStaple = staple
		certs[i].SignedCertificateTimestamps = [][]byte{sct}
	}
	ecdsaSchemes, rsaSchemes, edSchemes := []uint16{0x0403, 0x0503}, []uint16{0x0804, 0x0401}, []uint16{0x0807}
	tls13 := func(schemes []uint16, suites ...uint16) ClientHello {
		return ClientHello{Version: 0x0303, CipherSuites: suites, ServerName: "localhost",
			SignatureSchemes: schemes, SupportedVersions: []uint16{0x0304}}
	}
	tls12 := func(schemes []uint16, suites ...uint16) ClientHello {
		return ClientHello{Version: 0x0303, CipherSuites: suites, ServerName: "localhost",
			SignatureSchemes: schemes, Groups: []uint16{29, 23}}
	}
	tests := []struct {
		name    string
		max     uint16
		hello   ClientHello
		want    *tlstest.Cert
		version uint16
	}{
		{"TLS 1.3 ECDSA AES-128", tls.VersionTLS13, tls13(ecdsaSchemes, 0x1301), ecLeaf, 0x0304},
		{"TLS 1.3 RSA AES-256", tls.VersionTLS13, tls13(rsaSchemes, 0x1302), rsaLeaf, 0x0304},
		{"TLS 1.3 Ed25519 ChaCha20", tls.VersionTLS13, tls13(edSchemes, 0x1303), edLeaf, 0x0304},
		{"TLS 1.2 ECDSA", tls.VersionTLS12, tls12(ecdsaSchemes, 0xC02B), ecLeaf, 0x0303},
		{"TLS 1.2 RSA key transport", tls.VersionTLS12, tls12(rsaSchemes, 0x009C), rsaLeaf, 0x0303},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlstest.GoServer(t, &tls.Config{Certificates: certs, MaxVersion: tc.max,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256}})
			f, err := readCertificateFrom(t, addr.String(), tc.hello)
			if err != nil {
				t.Fatal(err)
			}
			if f.ServerHello.Version != tc.version {
				t.Errorf("version = %#04x, want %#04x", f.ServerHello.Version, tc.version)
			}
			if len(f.Certificates) == 0 || !bytes.Equal(f.Certificates[0], tc.want.DER) {
				t.Fatalf("got %d certificates, not the expected leaf first", len(f.Certificates))
			}
			if !bytes.Equal(f.OCSPResponse, staple) || len(f.SCTs) != 1 || !bytes.Equal(f.SCTs[0], sct) {
				t.Errorf("staple %q, SCTs %q; want the server's", f.OCSPResponse, f.SCTs)
			}
			if f.MessageBytes < len(tc.want.DER) || f.Bytes < f.MessageBytes {
				t.Errorf("message bytes %d, read %d: too small", f.MessageBytes, f.Bytes)
			}
		})
	}
}

// FuzzReadCertificate feeds arbitrary bytes to the certificate reader
// after a TLS 1.2 hello (the Certificate message in clear) or a TLS 1.3
// one (whose flight never decrypts here, so the record layer's checks run).
func FuzzReadCertificate(f *testing.F) {
	certMsg := hs(typeCertificate, []byte{0, 0, 6, 0, 0, 3, 1, 2, 3})
	sh := hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom, ext(extStatusRequest)))
	f.Add(append(rec(recordHandshake, sh), rec(recordHandshake, append(certMsg, hs(typeCertificateStatus, []byte{1, 0, 0, 1, 9})...))...), false)
	f.Add(rec(recordAlert, []byte{2, 40}), true)
	f.Fuzz(func(t *testing.T, data []byte, tls13 bool) {
		h := ClientHello{Version: 0x0303, CipherSuites: []uint16{0xC02F}}
		if tls13 {
			h.CipherSuites, h.SupportedVersions = TLS13CertificateSuites(), []uint16{0x0304}
		}
		ch, err := NewCertificateHello(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.Marshal(); err != nil {
			t.Fatal(err)
		}
		fl, err := ch.ReadCertificate(bytes.NewReader(data), fuzzMax)
		if fl == nil || fl.Bytes > len(data) || fl.Bytes > fuzzMax {
			t.Fatalf("flight %+v from %d bytes (limit %d)", fl, len(data), fuzzMax)
		}
		if err == nil && (fl.ServerHello == nil || len(fl.Certificates) == 0) {
			t.Fatal("no error and no certificates")
		}
		checkErrorKind(t, err)
	})
}

// FuzzParseTLS13Certificate feeds arbitrary bytes to the TLS 1.3
// Certificate message parser, which only a decrypted flight reaches.
func FuzzParseTLS13Certificate(f *testing.F) {
	f.Add([]byte{0, 0, 0, 10, 0, 0, 3, 1, 2, 3, 0, 3, 0, 5, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		fl := &CertificateFlight{}
		if err := parseTLS13Certificate(data, fl); err != nil {
			checkErrorKind(t, err)
		}
		for _, c := range fl.Certificates {
			if len(c) == 0 {
				t.Fatal("empty certificate accepted")
			}
		}
	})
}

// TestKeySharesReused checks that TLS 1.3 certificate hellos send one set
// of key shares while it is younger than keyShareLifetime and a new set
// after, and that a TLS 1.2 hello carries none.
func TestKeySharesReused(t *testing.T) {
	tls13 := ClientHello{Version: 0x0303, CipherSuites: TLS13CertificateSuites(), ServerName: "localhost", SupportedVersions: []uint16{0x0304}}
	shareOf := func() []byte {
		ch, err := NewCertificateHello(tls13)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := ch.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		p := parseClientHello(t, msg)
		if len(p.Ext[extKeyShare]) < 4*32 {
			t.Fatalf("key_share of %d bytes, want four shares", len(p.Ext[extKeyShare]))
		}
		return p.Ext[extKeyShare]
	}
	first := shareOf()
	if again := shareOf(); !bytes.Equal(first, again) {
		t.Errorf("a second hello within the lifetime sent other key shares")
	}
	currentShares.Lock()
	currentShares.set.made = time.Now().Add(-keyShareLifetime)
	currentShares.Unlock()
	if renewed := shareOf(); bytes.Equal(first, renewed) {
		t.Errorf("a hello after the lifetime sent the old key shares")
	}
	ch, err := NewCertificateHello(ClientHello{Version: 0x0303, CipherSuites: []uint16{0xC02F}, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ch.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parseClientHello(t, msg).Ext[extKeyShare]; ok || ch.shares != nil {
		t.Errorf("a TLS 1.2 certificate hello carries key shares")
	}
}
