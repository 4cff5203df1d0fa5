package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// NewCAValid mints a self-signed CA certificate valid from notBefore to
// notAfter, with a fresh P-256 key: a long-lived root lets a test tell an
// expired leaf from a chain whose validity periods never overlapped.
func NewCAValid(t testing.TB, name string, notBefore, notAfter time.Time) *CA {
	t.Helper()
	key := freshKey(t)
	tmpl := caTemplate(name, notBefore, notAfter)
	self := &Cert{Cert: tmpl, Key: key}
	return &CA{*signTemplate(t, tmpl, key, self)}
}

// Intermediate mints a CA certificate for name signed by ca, so that a test
// can build root → intermediate → leaf chains. Unlike other minted
// certificates it gets a fresh P-256 key: sharing the root's cached key
// would let the root verify the intermediate's leaves directly and hide a
// missing intermediate.
func (ca *CA) Intermediate(t testing.TB, name string) *CA {
	t.Helper()
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	tmpl := caTemplate(name, now, now.Add(5*365*24*time.Hour))
	key := freshKey(t)
	return &CA{*signTemplate(t, tmpl, key, &ca.Cert)}
}

// IssueTemplate signs a caller-built template with the CA, for certificates
// CertSpec cannot describe (AIA and CRL URLs, TLS Feature, embedded SCTs).
// The subject key is the cached key of type kt; a zero serial number is
// filled in.
func (ca *CA) IssueTemplate(t testing.TB, tmpl *x509.Certificate, kt KeyType) *Cert {
	t.Helper()
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = nextSerial()
	}
	return signTemplate(t, tmpl, newKey(t, kt), &ca.Cert)
}

// freshKey generates a P-256 key that no other certificate shares.
func freshKey(t testing.TB) crypto.Signer {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("tlstest: generate CA key: %v", err)
	}
	return key
}

// caTemplate is the template of a CA certificate.
func caTemplate(name string, notBefore, notAfter time.Time) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"tlswarden test"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

func nextSerial() *big.Int {
	serial.Lock()
	defer serial.Unlock()
	serial.n++
	return big.NewInt(time.Now().UnixNano() + serial.n)
}

// signTemplate creates and parses a certificate for key, signed by parent.
func signTemplate(t testing.TB, tmpl *x509.Certificate, key crypto.Signer, parent *Cert) *Cert {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent.Cert, key.Public(), parent.Key)
	if err != nil {
		t.Fatalf("tlstest: create certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tlstest: parse minted certificate: %v", err)
	}
	return &Cert{Cert: cert, DER: der, Key: key}
}
