package probes

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestCertProbeLeafUsage: a certificate that verifies to a trusted root
// but may not authenticate a TLS server is not trusted for the hostname,
// and verification_error says why.
func TestCertProbeLeafUsage(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ca := tlstest.NewCA(t, "Test CA")
	inter := ca.Intermediate(t, "Test Intermediate")
	leaf := inter.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	clientOnly := ca.IssueTemplate(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, tlstest.ECDSA256)
	signOnly := ca.IssueTemplate(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "localhost"},
		DNSNames:  []string{"localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCRLSign,
	}, tlstest.ECDSA256)
	roots := []*x509.Certificate{ca.Cert.Cert}

	t.Run("reversed chain, openssl", func(t *testing.T) {
		// The intermediate first, with its own key: it verifies to the
		// root, but it is a CA certificate with keyCertSign and cRLSign.
		addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: &inter.Cert, Chain: []*tlstest.Cert{leaf}})
		got, err := runCert(t, CertConfig{Roots: roots}, "localhost", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got.Trusted || !strings.Contains(got.VerificationError, "CA certificate") {
			t.Errorf("trusted = %v, verification_error = %q; want untrusted, the leaf is a CA", got.Trusted, got.VerificationError)
		}
	})
	for _, tc := range []struct {
		name string
		cert *tlstest.Cert
		want string
	}{
		{"client auth only", clientOnly, "serverAuth"},
		{"key usage cRLSign only", signOnly, "key usage"},
		{"server leaf", leaf, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{tc.cert.TLSCertificate(&inter.Cert)}})
			got, err := runCert(t, CertConfig{Roots: roots}, "localhost", addr)
			if err != nil {
				t.Fatal(err)
			}
			if got.Trusted != (tc.want == "") || !strings.Contains(got.VerificationError, tc.want) {
				t.Errorf("trusted = %v, verification_error = %q; want it to say %q", got.Trusted, got.VerificationError, tc.want)
			}
		})
	}
}
