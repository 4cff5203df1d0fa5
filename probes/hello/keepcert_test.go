package hello

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestKeepCertificate reads a TLS 1.2 Go server's flight to its
// ServerKeyExchange, keeping the certificates, the staple (asked for with
// status_request) and the SCTs; without KeepCertificate, or for a suite
// without a ServerKeyExchange (RSA key transport, whose flight is not read
// past the ServerHello), nothing is kept; a malformed Certificate message
// is dropped and the key exchange still read.
func TestKeepCertificate(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	leaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	staple, sct := []byte("not really an OCSP response"), []byte("an SCT")
	cert := leaf.TLSCertificate(&ca.Cert)
	cert.OCSPStaple, cert.SignedCertificateTimestamps = staple, [][]byte{sct}
	rsaCert := ca.Issue(t, tlstest.CertSpec{}).TLSCertificate()
	addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert, rsaCert}, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256}})
	certExts := []Extension{{Type: extStatusRequest, Data: []byte{1, 0, 0, 0, 0}}, {Type: extSCT}}
	for _, tc := range []struct {
		name  string
		suite uint16
		opts  ReadOptions
		kept  bool
	}{
		{"ECDHE kept", 0xC02B, ReadOptions{KeyExchange: true, KeepCertificate: true}, true},
		{"ECDHE not asked", 0xC02B, ReadOptions{KeyExchange: true}, false},
		{"RSA key transport", 0x009C, ReadOptions{KeyExchange: true, KeepCertificate: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := ClientHello{Version: 0x0303, CipherSuites: []uint16{tc.suite}, ServerName: "localhost",
				Groups: []uint16{29, 23}, Extra: certExts}
			msg, err := h.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := net.DialTimeout("tcp", addr.String(), 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := conn.Write(msg); err != nil {
				t.Fatal(err)
			}
			f, err := ReadServerFlight(conn, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.kept {
				if f.Certificate != nil {
					t.Errorf("kept %d certificates, want none", len(f.Certificate.Certificates))
				}
				return
			}
			c := f.Certificate
			if c == nil || len(c.Certificates) != 2 || !bytes.Equal(c.Certificates[0], leaf.DER) || !bytes.Equal(c.Certificates[1], ca.Cert.DER) {
				t.Fatalf("kept %+v, want the leaf and the CA", c)
			}
			if !bytes.Equal(c.OCSPResponse, staple) || len(c.SCTs) != 1 || !bytes.Equal(c.SCTs[0], sct) {
				t.Errorf("staple %q, SCTs %q; want the server's", c.OCSPResponse, c.SCTs)
			}
			if c.MessageBytes < len(leaf.DER)+len(ca.Cert.DER) || f.KeyExchange == nil || f.KeyExchange.Curve != 29 {
				t.Errorf("message bytes %d, key exchange %+v", c.MessageBytes, f.KeyExchange)
			}
		})
	}
	t.Run("malformed Certificate", func(t *testing.T) {
		sh := hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom))
		flight := rec(recordHandshake, bytes.Join([][]byte{sh, hs(typeCertificate, []byte{0, 0, 9, 1}),
			hs(typeServerKeyExchange, ecdheSKE(23))}, nil))
		f, err := ReadServerFlight(bytes.NewReader(flight), ReadOptions{KeyExchange: true, KeepCertificate: true})
		if err != nil || f.Certificate != nil || f.KeyExchange == nil || f.KeyExchange.Curve != 23 {
			t.Errorf("err %v, kept %+v, key exchange %+v; want the key exchange alone", err, f.Certificate, f.KeyExchange)
		}
	})
}

// FuzzKeepCertificate checks that keeping the certificate changes nothing
// else of a flight read to its key exchange: the same bytes read, the same
// ServerHello, key exchange and error; and that what is kept comes after a
// ServerHello.
func FuzzKeepCertificate(f *testing.F) {
	sh := hs(typeServerHello, serverHello(0x0303, 0xC02F, plainRandom, ext(extSCT, 0, 4, 0, 2, 7, 7)))
	f.Add(rec(recordHandshake, bytes.Join([][]byte{sh, hs(typeCertificate, []byte{0, 0, 4, 0, 0, 1, 9}),
		hs(typeCertificateStatus, []byte{1, 0, 0, 1, 5}), hs(typeServerKeyExchange, ecdheSKE(23))}, nil)))
	f.Add(rec(recordHandshake, bytes.Join([][]byte{sh, hs(typeCertificate, []byte{0, 0, 9, 1})}, nil)))
	f.Fuzz(func(t *testing.T, data []byte) {
		plain, err := ReadServerFlight(bytes.NewReader(data), ReadOptions{MaxBytes: fuzzMax, KeyExchange: true})
		kept, keptErr := ReadServerFlight(bytes.NewReader(data), ReadOptions{MaxBytes: fuzzMax, KeyExchange: true, KeepCertificate: true})
		if kept.Bytes != plain.Bytes || fmt.Sprint(keptErr) != fmt.Sprint(err) ||
			!reflect.DeepEqual(kept.ServerHello, plain.ServerHello) || !reflect.DeepEqual(kept.KeyExchange, plain.KeyExchange) {
			t.Fatalf("keeping the certificate changed the read: %d bytes, %v; without: %d bytes, %v", kept.Bytes, keptErr, plain.Bytes, err)
		}
		if c := kept.Certificate; c != nil && (kept.ServerHello == nil || c.MessageBytes > kept.Bytes) {
			t.Fatalf("kept %d certificates of a %d-byte message after %d bytes read", len(c.Certificates), c.MessageBytes, kept.Bytes)
		}
	})
}
