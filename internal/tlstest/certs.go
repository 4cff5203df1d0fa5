// Package tlstest provides TLS servers and certificates for tests: in-process
// Go servers, OpenSSL, nginx and GnuTLS servers started from Debian's
// binaries, and hostile servers that stall, trickle or send garbage. Every
// server listens on loopback only.
package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// KeyType names the key algorithm of a minted certificate.
type KeyType string

const (
	RSA2048  KeyType = "rsa2048"
	RSA1024  KeyType = "rsa1024"
	ECDSA256 KeyType = "p256"
	ECDSA384 KeyType = "p384"
	Ed25519  KeyType = "ed25519"
)

// CertSpec describes a certificate to mint. The zero value is an RSA-2048
// leaf for "localhost" and 127.0.0.1, valid from an hour ago for 90 days.
type CertSpec struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	Key        KeyType
	NotBefore  time.Time
	NotAfter   time.Time
	IsCA       bool
	// SignatureAlgorithm overrides the default (e.g. x509.SHA1WithRSA).
	SignatureAlgorithm x509.SignatureAlgorithm
}

// Cert is a minted certificate with its key.
type Cert struct {
	Cert *x509.Certificate
	DER  []byte
	Key  crypto.Signer
}

// CA is a test certificate authority.
type CA struct{ Cert }

var keyCache sync.Map // KeyType -> crypto.Signer; key generation is the slow part

func newKey(t testing.TB, kt KeyType) crypto.Signer {
	if k, ok := keyCache.Load(kt); ok {
		return k.(crypto.Signer)
	}
	var (
		k   crypto.Signer
		err error
	)
	switch kt {
	case RSA2048, "":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case RSA1024:
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case ECDSA256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSA384:
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case Ed25519:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("tlstest: unknown key type %q", kt)
	}
	if err != nil {
		t.Fatalf("tlstest: generate %s key: %v", kt, err)
	}
	actual, _ := keyCache.LoadOrStore(kt, k)
	return actual.(crypto.Signer)
}

// NewCA mints a self-signed CA certificate.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	c := mint(t, CertSpec{CommonName: name, IsCA: true, Key: ECDSA256}, nil)
	return &CA{*c}
}

// Issue mints a certificate signed by the CA.
func (ca *CA) Issue(t testing.TB, spec CertSpec) *Cert {
	t.Helper()
	return mint(t, spec, &ca.Cert)
}

// SelfSigned mints a self-signed leaf certificate.
func SelfSigned(t testing.TB, spec CertSpec) *Cert {
	t.Helper()
	return mint(t, spec, nil)
}

var serial struct {
	sync.Mutex
	n int64
}

func mint(t testing.TB, spec CertSpec, parent *Cert) *Cert {
	if spec.CommonName == "" {
		spec.CommonName = "localhost"
	}
	if spec.DNSNames == nil && spec.IPs == nil && !spec.IsCA {
		spec.DNSNames = []string{"localhost"}
		spec.IPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	if spec.NotBefore.IsZero() {
		spec.NotBefore = time.Now().Add(-time.Hour).Truncate(time.Second)
	}
	if spec.NotAfter.IsZero() {
		spec.NotAfter = spec.NotBefore.Add(90 * 24 * time.Hour)
	}
	key := newKey(t, spec.Key)
	serial.Lock()
	serial.n++
	sn := big.NewInt(time.Now().UnixNano() + serial.n)
	serial.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: spec.CommonName, Organization: []string{"tlswarden test"}},
		DNSNames:              spec.DNSNames,
		IPAddresses:           spec.IPs,
		NotBefore:             spec.NotBefore,
		NotAfter:              spec.NotAfter,
		BasicConstraintsValid: true,
		IsCA:                  spec.IsCA,
		SignatureAlgorithm:    spec.SignatureAlgorithm,
	}
	if spec.IsCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.Key, parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatalf("tlstest: create certificate %q: %v", spec.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tlstest: parse minted certificate: %v", err)
	}
	return &Cert{Cert: cert, DER: der, Key: key}
}

// TLSCertificate returns the certificate, followed by the given chain, as a
// tls.Certificate for a Go server.
func (c *Cert) TLSCertificate(chain ...*Cert) tls.Certificate {
	tc := tls.Certificate{Certificate: [][]byte{c.DER}, PrivateKey: c.Key, Leaf: c.Cert}
	for _, ch := range chain {
		tc.Certificate = append(tc.Certificate, ch.DER)
	}
	return tc
}

// WritePEM writes the certificate (followed by chain) and its key as PEM
// files in dir and returns their paths, for servers started from binaries.
func (c *Cert) WritePEM(t testing.TB, dir string, chain ...*Cert) (certFile, keyFile string) {
	t.Helper()
	var certPEM []byte
	for _, der := range append([]*Cert{c}, chain...) {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der.DER})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatalf("tlstest: marshal key: %v", err)
	}
	certFile = filepath.Join(dir, c.Cert.Subject.CommonName+"-"+c.Cert.SerialNumber.String()+".crt")
	keyFile = certFile[:len(certFile)-4] + ".key"
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
