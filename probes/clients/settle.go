package clients

import (
	"fmt"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// Settle fills res with a negotiated version, suite and group, found by
// computation or read from the server's answer to the client's hello,
// then checks what the client checks after: that it accepts the DH
// prime's size, the certificate's key and signatures, and, when it sends
// no SNI, that the server answers it with the same certificate.
func Settle(c *Client, er *tlswarden.EndpointReport, res *tlswarden.ClientResult, v tlswarden.Version, suite uint16, group string, dhBits int) {
	res.Connects, res.Reason, res.Detail = true, "", ""
	res.Version, res.Group, res.DHBits = v, group, dhBits
	res.Suite = &tlswarden.Suite{Code: suite, Name: iana.SuiteName(suite), DHBits: dhBits}
	if dhBits > 0 && c.MinDHBits > 0 && dhBits < c.MinDHBits {
		fail(res, tlswarden.ClientDHTooSmall, "the server's %d-bit DH prime is below the client's %d bits", dhBits, c.MinDHBits)
		return
	}
	if dhBits > 0 && c.MaxDHBits > 0 && dhBits > c.MaxDHBits {
		fail(res, tlswarden.ClientDHTooLarge, "the server's %d-bit DH prime is above the client's %d bits", dhBits, c.MaxDHBits)
		return
	}
	if !c.SNI && er.Endpoint.Host != "" && noSNIFails(er.Cert, res) {
		return
	}
	chain := chainFor(er.Cert, v, suite, c, res)
	if chain == nil {
		return
	}
	res.Chain = chain.ChainID()
	checkChain(c, chain, res)
}

func fail(res *tlswarden.ClientResult, reason, format string, args ...any) {
	res.Connects, res.Reason, res.Detail = false, reason, fmt.Sprintf(format, args...)
}

// noSNIFails records the failure of a client that sends no SNI to a
// server that refuses such handshakes or answers them with another
// certificate (a client of the name would not accept it).
func noSNIFails(cert *tlswarden.CertResult, res *tlswarden.ClientResult) bool {
	switch {
	case cert == nil:
		return false
	case cert.WithoutSNIError != "":
		fail(res, tlswarden.ClientNeedsSNI, "the client sends no SNI, and the server refuses handshakes without it: %s", cert.WithoutSNIError)
	case cert.DiffersWithoutSNI:
		fail(res, tlswarden.ClientNeedsSNI, "the client sends no SNI, and without it the server sends another certificate (SHA-256 %s)", cert.LeafSHA256WithoutSNI)
	default:
		return false
	}
	return true
}

// suiteKeyType is the key type of the certificate a TLS 1.2-or-older
// suite authenticates with ("" for anonymous ones).
func suiteKeyType(code uint16) string {
	info, _ := iana.Suite(code)
	kx := info.KeyExchange
	switch {
	case info.Anonymous():
		return ""
	case strings.HasSuffix(kx, "ECDSA"), strings.HasPrefix(kx, "ECDH_"):
		return "ECDSA" // static ECDH certifies an EC key whichever its issuer signs with
	case strings.Contains(kx, "DSS"):
		return "DSA"
	}
	return "RSA"
}

// chainFor returns the chain the client gets: the one whose key the suite
// names; over TLS 1.3, the only one, or the one whose key fits the
// client's first signature algorithm the server can sign with (a guess
// noted in res.Uncertain, since servers differ and the certificate is
// encrypted). It returns nil when the chains are unknown.
func chainFor(cert *tlswarden.CertResult, v tlswarden.Version, suite uint16, c *Client, res *tlswarden.ClientResult) *tlswarden.CertResult {
	chains := cert.Chains()
	if len(chains) == 0 {
		return nil
	}
	if v == tlswarden.TLS13 {
		if len(chains) == 1 {
			return chains[0]
		}
		res.Uncertain = append(res.Uncertain, "the certificate: the server holds several and picks by its own rules over TLS 1.3")
		for _, alg := range c.SignatureAlgorithms {
			for _, ch := range chains {
				if l := ch.Leaf(); l != nil && l.KeyType == schemeKeyType(uint16(alg)) {
					return ch
				}
			}
		}
		return chains[0]
	}
	want := suiteKeyType(suite)
	for _, ch := range chains {
		if l := ch.Leaf(); l != nil && l.KeyType == want {
			return ch
		}
	}
	return nil
}

// schemeKeyType is the key type a TLS signature scheme signs with.
func schemeKeyType(scheme uint16) string {
	switch {
	case scheme == 0x0807:
		return "Ed25519"
	case scheme>>8 == 0x08 && scheme&0xff >= 4 && scheme&0xff <= 6, scheme>>8 == 0x08 && scheme&0xff >= 9 && scheme&0xff <= 11:
		return "RSA"
	case scheme&0xff == 1:
		return "RSA"
	case scheme&0xff == 3:
		return "ECDSA"
	case scheme&0xff == 2:
		return "DSA"
	}
	return ""
}

// checkChain records the failure of a client that refuses the chain's
// leaf key size, or a SHA-1 signature below the root.
func checkChain(c *Client, chain *tlswarden.CertResult, res *tlswarden.ClientResult) {
	leaf := chain.Leaf()
	switch {
	case leaf.KeyType == "RSA" && c.MinRSABits > 0 && leaf.KeyBits < c.MinRSABits:
		fail(res, tlswarden.ClientKeyTooSmall, "the %d-bit RSA key is below the client's %d bits", leaf.KeyBits, c.MinRSABits)
	case leaf.KeyType == "RSA" && c.MaxRSABits > 0 && leaf.KeyBits > c.MaxRSABits:
		fail(res, tlswarden.ClientKeyTooLarge, "the %d-bit RSA key is above the client's %d bits", leaf.KeyBits, c.MaxRSABits)
	case leaf.KeyType == "ECDSA" && c.MinECDSABits > 0 && leaf.KeyBits < c.MinECDSABits:
		fail(res, tlswarden.ClientKeyTooSmall, "the %d-bit ECDSA key is below the client's %d bits", leaf.KeyBits, c.MinECDSABits)
	}
	if !res.Connects || !c.RequiresSHA2 {
		return
	}
	for _, cert := range chain.Chain {
		if !cert.SelfSigned && strings.Contains(strings.ToUpper(cert.SignatureAlgorithm), "SHA1") {
			fail(res, tlswarden.ClientSHA1Signature, "%s is signed with %s, which the client refuses", cert.Subject, cert.SignatureAlgorithm)
			return
		}
	}
}
