package testbed

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// certs are the testbed's certificates, minted at start.
type certs struct {
	valid, rsa, expired, selfSigned tls.Certificate
	ca                              *x509.Certificate
}

func mintCerts(now time.Time) (*certs, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	caTmpl := template("tlswarden testbed CA", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	caTmpl.IsCA, caTmpl.KeyUsage = true, x509.KeyUsageCertSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	c := &certs{ca: ca}
	issue := func(cn string, from, to time.Time, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) (tls.Certificate, error) {
		tmpl := template(cn, from, to)
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("mint %s certificate: %w", cn, err)
		}
		chain := [][]byte{der}
		if parent != tmpl {
			chain = append(chain, caDER)
		}
		return tls.Certificate{Certificate: chain, PrivateKey: key}, nil
	}
	year := now.AddDate(0, 3, 0)
	for _, m := range []struct {
		dst      *tls.Certificate
		cn       string
		from, to time.Time
		key      crypto.Signer
		self     bool
	}{
		{&c.valid, "localhost", now.Add(-time.Hour), year, ecKey, false},
		{&c.rsa, "localhost", now.Add(-time.Hour), year, rsaKey, false},
		{&c.expired, "localhost", now.AddDate(0, -4, 0), now.AddDate(0, 0, -10), ecKey, false},
		{&c.selfSigned, "localhost", now.Add(-time.Hour), year, ecKey, true},
	} {
		parent, parentKey := ca, crypto.Signer(caKey)
		if m.self {
			parent, parentKey = nil, nil
		}
		if *m.dst, err = issue(m.cn, m.from, m.to, m.key, parent, parentKey); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func template(cn string, from, to time.Time) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"tlswarden testbed"}},
		NotBefore:             from,
		NotAfter:              to,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
}
