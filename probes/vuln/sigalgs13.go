package vuln

import (
	"context"
	"errors"
	"net"
	"slices"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/probes/hello"
)

// maxSigConns13 bounds the connections of the TLS 1.3 signature scheme
// enumeration: a server with an RSA and an ECDSA key signs with at most
// eight schemes (three RSA-PSS rsae, three RSA-PSS pss, one ECDSA curve's
// and an EdDSA), plus the hello it refuses.
const maxSigConns13 = 10

// signatureSchemes13 enumerates the signature schemes a TLS 1.3 server
// signs its CertificateVerify with. That message is encrypted, so each
// hello carries key shares and the flight is decrypted up to it
// (hello.ReadSignatureScheme). As for TLS 1.2: offer every scheme, read
// the one used, take it out and offer the rest again until the server
// refuses (handshake_failure): one connection per scheme found and one
// more, not one per scheme offered. A server that does not negotiate
// TLS 1.3 costs one connection and gives Tested false.
//
// first is called once, when the first hello has said whether the server
// negotiates TLS 1.3 (what Tested will be), so that TLS 1.3 resumption
// need not wait for the rest of the enumeration.
func (r *run) signatureSchemes13(ctx context.Context, first func(tested bool)) *tlswarden.SignatureSchemesResult {
	res := &tlswarden.SignatureSchemesResult{Version: tlswarden.TLS13, Schemes: []string{}}
	offered := hello.DefaultSignatureSchemes()
	var err error
	for i := 0; i < maxSigConns13 && len(offered) > 0; i++ {
		var scheme uint16
		scheme, err = r.verifiedWith(ctx, offered)
		if i == 0 {
			first(err == nil && scheme != 0)
		}
		if err != nil || scheme == 0 {
			break
		}
		res.Tested = true
		res.Schemes = append(res.Schemes, schemeName(scheme))
		if !slices.Contains(offered, scheme) {
			break // a scheme not offered: the server ignores the list
		}
		offered = slices.DeleteFunc(offered, func(s uint16) bool { return s == scheme })
		res.Complete = len(offered) == 0
	}
	var alert *hello.AlertError
	if errors.As(err, &alert) {
		// No scheme left that it signs with; on the first hello, no
		// TLS 1.3 (protocol_version) or nothing it can sign with.
		err, res.Complete = nil, res.Tested
	}
	res.Status, res.Error = statusOf(err)
	return res
}

// verifiedWith offers TLS 1.3 alone with the schemes and returns the
// scheme of the server's CertificateVerify; 0 when the server answered
// with an older version.
func (r *run) verifiedWith(ctx context.Context, schemes []uint16) (scheme uint16, err error) {
	err = r.session(ctx, func(conn net.Conn) error {
		ch, err := hello.NewCertificateHello(hello.ClientHello{
			Version: 0x0303, CipherSuites: hello.TLS13CertificateSuites(), ServerName: r.ep.Host,
			SignatureSchemes: schemes, SupportedVersions: []uint16{0x0304},
		})
		if err != nil {
			return err
		}
		msg, err := ch.Marshal()
		if err != nil {
			return err
		}
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		_, scheme, err = ch.ReadSignatureScheme(conn, 0)
		return err
	})
	return scheme, err
}
