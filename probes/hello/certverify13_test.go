package hello

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestReadSignatureScheme reads the scheme of a Go server's encrypted
// CertificateVerify: the one scheme offered for its key, and 0 without an
// error when it negotiated TLS 1.2.
func TestReadSignatureScheme(t *testing.T) {
	rsaLeaf := tlstest.SelfSigned(t, tlstest.CertSpec{})
	ecLeaf := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	edLeaf := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.Ed25519})
	certs := []tls.Certificate{rsaLeaf.TLSCertificate(), ecLeaf.TLSCertificate(), edLeaf.TLSCertificate()}
	tests := []struct {
		name    string
		max     uint16
		schemes []uint16
		want    uint16
	}{
		{"rsa_pss_rsae_sha384", tls.VersionTLS13, []uint16{0x0805}, 0x0805},
		{"rsa_pss_rsae_sha512", tls.VersionTLS13, []uint16{0x0806}, 0x0806},
		{"ecdsa_secp256r1_sha256", tls.VersionTLS13, []uint16{0x0403}, 0x0403},
		{"ed25519", tls.VersionTLS13, []uint16{0x0807}, 0x0807},
		{"TLS 1.2", tls.VersionTLS12, []uint16{0x0804}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlstest.GoServer(t, &tls.Config{Certificates: certs, MaxVersion: tc.max})
			ch, err := NewCertificateHello(ClientHello{Version: 0x0303, CipherSuites: []uint16{0x1301, 0xc02f}, ServerName: "localhost",
				SignatureSchemes: tc.schemes, SupportedVersions: []uint16{0x0304, 0x0303}})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := ch.Marshal()
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
			f, scheme, err := ch.ReadSignatureScheme(conn, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if scheme != tc.want || len(f.Certificates) != 1 || f.Bytes == 0 {
				t.Errorf("scheme 0x%04x, %d certificates, %d bytes; want scheme 0x%04x and the leaf", scheme, len(f.Certificates), f.Bytes, tc.want)
			}
		})
	}
}

// FuzzCertificateVerify parses arbitrary CertificateVerify bodies: no
// panic, and a scheme only from a well-formed body.
func FuzzCertificateVerify(f *testing.F) {
	f.Add([]byte{0x08, 0x04, 0, 2, 1, 2})
	f.Add([]byte{0x04, 0x03, 0, 0})
	f.Fuzz(func(t *testing.T, body []byte) {
		scheme, err := parseCertificateVerify(body)
		if err == nil && (len(body) < 5 || int(body[2])<<8|int(body[3]) != len(body)-4) {
			t.Fatalf("scheme 0x%04x from a malformed body %x", scheme, body)
		}
	})
}
