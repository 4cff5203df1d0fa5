package fleetbench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// certKind says which certificates a server has.
type certKind string

const (
	certRSA   certKind = "rsa"
	certECDSA certKind = "ecdsa"
	certBoth  certKind = "rsa+ecdsa"
)

// pemPair is a certificate chain file and its key file.
type pemPair struct{ cert, key string }

// pkiFiles are the certificates, keys and DH parameters every server of a
// fleet reads: one CA, an RSA-2048 and a P-256 leaf for localhost and
// 127.0.0.1.
type pkiFiles struct {
	rsa, ecdsa pemPair
	dh         map[string]string // name -> PEM file of PKCS #3 DH parameters
}

func writePKI(tb testing.TB, dir string) *pkiFiles {
	tb.Helper()
	ca := tlstest.NewCA(tb, "tlswarden fleetbench CA")
	p := &pkiFiles{dh: map[string]string{}}
	rsa := ca.Issue(tb, tlstest.CertSpec{Key: tlstest.RSA2048})
	ec := ca.Issue(tb, tlstest.CertSpec{Key: tlstest.ECDSA256})
	p.rsa.cert, p.rsa.key = rsa.WritePEM(tb, dir, &ca.Cert)
	p.ecdsa.cert, p.ecdsa.key = ec.WritePEM(tb, dir, &ca.Cert)
	for name, pem := range dhParams {
		f := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(f, []byte(pem), 0o600); err != nil {
			tb.Fatal(err)
		}
		p.dh[name] = f
	}
	return p
}

// files returns the certificate and key files of a kind, RSA first.
func (p *pkiFiles) files(k certKind) []pemPair {
	switch k {
	case certECDSA:
		return []pemPair{p.ecdsa}
	case certBoth:
		return []pemPair{p.rsa, p.ecdsa}
	}
	return []pemPair{p.rsa}
}

// dhParams are fixed DH groups (generating a safe prime takes too long to
// do per run): RFC 7919 ffdhe2048, and a 1024-bit group made once with
// `openssl dhparam 1024` for the weak-DHE configurations.
var dhParams = map[string]string{
	"ffdhe2048": `-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
`,
	"dh1024": `-----BEGIN DH PARAMETERS-----
MIGHAoGBAIdgOOxqV4PoTiWcmmUcTo3Kqp3qBIaZLCfGSOSHtJrYOz+gd/DPvFjL
iwAAFJT0HZorpLCwj0+eXi1hxAQK524aDui4h9C97wsv0zVUeX2LDEh3m5iX7LjN
YFeRgOeaSzXswRQNota8c2Rfzjd4JRm/2A8LEWQFNxkjuPjG1TsfAgEC
-----END DH PARAMETERS-----
`,
}
