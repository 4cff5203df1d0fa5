package vuln

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// maxSigConns bounds the connections of the signature scheme enumeration.
const maxSigConns = 12

// signatureSchemes enumerates the TLS 1.2 signature schemes the server
// signs its ServerKeyExchange with: offer every scheme, read the one it
// used, take it out and offer the rest again, until it refuses. One
// connection per scheme found and one more (at most maxSigConns). A server
// without ECDHE or DHE suites signs nothing, so nothing is tested. TLS 1.3
// signs in an encrypted message: see signatureSchemes13.
//
// The first answer is read from the feature hello's flight when the
// server chose a suite with a signed key exchange there: that hello offers
// the same schemes, groups and version, and suites of which the first
// hello's (the feature suites with a signed key exchange) are a part in
// the same order, so a server that chose such a suite from all of them
// chooses it, and its certificate and scheme, from that part too, whether
// by its order or by ours. One connection and one signature fewer, and
// the chain one hello shorter.
func (r *run) signatureSchemes(ctx context.Context) *tlswarden.SignatureSchemesResult {
	res := &tlswarden.SignatureSchemesResult{Version: tlswarden.TLS12, Schemes: []string{}}
	offered := hello.DefaultSignatureSchemes()
	var err error
	for i := 0; i < maxSigConns && len(offered) > 0; i++ {
		var scheme uint16
		var signed bool
		if first, ok := r.firstScheme(); i == 0 && ok {
			scheme, signed = first, true
		} else {
			scheme, signed, err = r.signedWith(ctx, offered)
		}
		if err != nil || !signed || !slices.Contains(offered, scheme) {
			break // a scheme not offered: the server ignores the list
		}
		res.Tested = true
		res.Schemes = append(res.Schemes, schemeName(scheme))
		offered = slices.DeleteFunc(offered, func(s uint16) bool { return s == scheme })
		res.Complete = len(offered) == 0
	}
	var alert *hello.AlertError
	if errors.As(err, &alert) && res.Tested {
		err, res.Complete = nil, true // no scheme left that it signs with
	}
	res.Status, res.Error = statusOf(err)
	return res
}

// firstScheme is the scheme of the feature hello's ServerKeyExchange when
// it can stand for the chain's first answer: a TLS 1.2 suite with a
// signed key exchange among those the chain offers, signed with a scheme
// offered. Otherwise the chain asks itself.
func (r *run) firstScheme() (uint16, bool) {
	hs := r.featureFlight
	if hs == nil || r.separate || !slices.Contains(ephemeralSuites(), hs.ServerHello.CipherSuite) {
		return 0, false
	}
	scheme, signed, err := flightScheme(hs)
	if err != nil || !signed || !slices.Contains(hello.DefaultSignatureSchemes(), scheme) {
		return 0, false
	}
	return scheme, true
}

// signedWith offers the schemes with the (EC)DHE suites and returns the
// scheme of the ServerKeyExchange's signature; signed is false when the
// server chose a suite without one.
func (r *run) signedWith(ctx context.Context, schemes []uint16) (scheme uint16, signed bool, err error) {
	err = r.session(ctx, func(conn net.Conn) error {
		ch := &hello.ClientHello{Version: 0x0303, CipherSuites: ephemeralSuites(), ServerName: r.ep.Host, Groups: featureGroups, SignatureSchemes: schemes}
		msg, err := ch.Marshal()
		if err != nil {
			return err
		}
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		hs, err := hello.ReadHandshake(conn, 0)
		if err != nil {
			return err
		}
		scheme, signed, err = flightScheme(hs)
		return err
	})
	return scheme, signed, err
}

// flightScheme reads the scheme of a TLS 1.2 flight's ServerKeyExchange
// signature; signed is false when there is none.
func flightScheme(hs *hello.Handshake) (scheme uint16, signed bool, err error) {
	ske := hs.Message(hello.MsgServerKeyExchange)
	if ske == nil || hs.ServerHello.Version != 0x0303 {
		return 0, false, nil
	}
	scheme, err = skeScheme(ske.Body, hs.ServerHello.CipherSuite)
	return scheme, err == nil, err
}

// ephemeralSuites are the feature suites with a signed key exchange.
func ephemeralSuites() []uint16 {
	return slices.DeleteFunc(slices.Clone(featureSuites), func(c uint16) bool { return !signedKeyExchange(c) })
}

func signedKeyExchange(code uint16) bool {
	s, ok := iana.Suite(code)
	return ok && (strings.HasPrefix(s.KeyExchange, "ECDHE_") || strings.HasPrefix(s.KeyExchange, "DHE_"))
}

// skeScheme reads the signature scheme of a TLS 1.2 ServerKeyExchange
// (RFC 5246 section 7.4.3, RFC 8422 section 5.4): after the DH or ECDH
// parameters.
func skeScheme(body []byte, suite uint16) (uint16, error) {
	s := cryptobyte.String(body)
	var a, b, c cryptobyte.String
	var ok bool
	if cs, _ := iana.Suite(suite); strings.HasPrefix(cs.KeyExchange, "ECDHE_") {
		var curveType uint8
		var curve uint16
		ok = s.ReadUint8(&curveType) && curveType == 3 && s.ReadUint16(&curve) && s.ReadUint8LengthPrefixed(&a)
	} else {
		ok = s.ReadUint16LengthPrefixed(&a) && s.ReadUint16LengthPrefixed(&b) && s.ReadUint16LengthPrefixed(&c)
	}
	var scheme uint16
	var sig cryptobyte.String
	if !ok || !s.ReadUint16(&scheme) || !s.ReadUint16LengthPrefixed(&sig) || !s.Empty() {
		return 0, &tlswarden.ProtocolError{Msg: "ServerKeyExchange signature is malformed"}
	}
	return scheme, nil
}

// schemeNames are the IANA names of TLS signature schemes.
var schemeNames = map[uint16]string{
	0x0403: "ecdsa_secp256r1_sha256", 0x0503: "ecdsa_secp384r1_sha384", 0x0603: "ecdsa_secp521r1_sha512",
	0x0807: "ed25519", 0x0808: "ed448", 0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384",
	0x0806: "rsa_pss_rsae_sha512", 0x0809: "rsa_pss_pss_sha256", 0x080a: "rsa_pss_pss_sha384",
	0x080b: "rsa_pss_pss_sha512", 0x081a: "ecdsa_brainpoolP256r1tls13_sha256",
	0x081b: "ecdsa_brainpoolP384r1tls13_sha384", 0x081c: "ecdsa_brainpoolP512r1tls13_sha512",
	0x0401: "rsa_pkcs1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512",
	0x0303: "ecdsa_sha224", 0x0301: "rsa_sha224", 0x0302: "dsa_sha224", 0x0402: "dsa_sha256",
	0x0502: "dsa_sha384", 0x0602: "dsa_sha512", 0x0203: "ecdsa_sha1", 0x0201: "rsa_pkcs1_sha1", 0x0202: "dsa_sha1",
}

func schemeName(s uint16) string {
	if n, ok := schemeNames[s]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", s)
}
