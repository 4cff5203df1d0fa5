package tlstest

import (
	"bytes"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// OIDs as DER, tag and length included: the same length, so one can take
// the other's place in a TBSCertificate.
var (
	sha256WithRSA = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}
	md5WithRSA    = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04}
)

// SelfSignedMD5 mints a self-signed RSA certificate for spec signed with
// MD5, which crypto/x509 refuses to create: the certificate is minted with
// SHA-256, then its signature algorithm is rewritten and it is signed
// again. Servers still serve such certificates; browsers do not offer MD5.
func SelfSignedMD5(t testing.TB, spec CertSpec) *Cert {
	t.Helper()
	spec.Key = RSA2048
	c := SelfSigned(t, spec)
	var outer struct {
		TBS asn1.RawValue
		Alg pkix.AlgorithmIdentifier
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.DER, &outer); err != nil {
		t.Fatalf("tlstest: parse minted certificate: %v", err)
	}
	if bytes.Count(outer.TBS.FullBytes, sha256WithRSA) != 1 {
		t.Fatalf("tlstest: minted certificate's signature algorithm not found once")
	}
	tbs := bytes.Replace(outer.TBS.FullBytes, sha256WithRSA, md5WithRSA, 1)
	sum := md5.Sum(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.Key.(*rsa.PrivateKey), crypto.MD5, sum[:])
	if err != nil {
		t.Fatalf("tlstest: sign with MD5: %v", err)
	}
	outer.TBS = asn1.RawValue{FullBytes: tbs}
	outer.Alg = pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 4}, Parameters: asn1.NullRawValue}
	outer.Sig = asn1.BitString{Bytes: sig, BitLength: len(sig) * 8}
	der, err := asn1.Marshal(outer)
	if err != nil {
		t.Fatalf("tlstest: encode MD5 certificate: %v", err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("tlstest: parse MD5 certificate: %v", err)
	}
	return &Cert{Cert: parsed, DER: der, Key: c.Key}
}
