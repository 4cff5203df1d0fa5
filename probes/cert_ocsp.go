package probes

import (
	stdx509 "crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"

	"github.com/zmap/zcrypto/x509"
	"golang.org/x/crypto/ocsp"

	"github.com/tlswarden/tlswarden"
)

// oidOCSPSCTList is the OCSP single-response extension carrying SCTs
// (RFC 6962 3.3).
var oidOCSPSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 5}

// maxSCTs bounds how many entries of an SCT list are counted.
const maxSCTs = 1024

// ocspFacts parses a stapled OCSP response for leaf, checking its signature
// against issuer when one is known, and counts the SCTs inside it. A
// response that fails the signature check is parsed again unchecked, so
// its status is still reported.
func ocspFacts(der []byte, leaf, issuer *x509.Certificate) (*tlswarden.OCSPStaple, int) {
	st := &tlswarden.OCSPStaple{Size: len(der)}
	stdLeaf, stdIssuer := toStd(leaf), toStd(issuer)
	resp, err := parseOCSP(der, stdLeaf, stdIssuer)
	st.SignatureVerified = err == nil && stdIssuer != nil && stdLeaf != nil
	if err != nil && stdIssuer != nil {
		st.Error = err.Error()
		resp, err = parseOCSP(der, stdLeaf, nil)
	}
	if err != nil {
		st.Error = err.Error()
		return st, 0
	}
	st.Status = ocspStatus(resp.Status)
	st.ProducedAt, st.ThisUpdate = resp.ProducedAt.UTC(), resp.ThisUpdate.UTC()
	st.NextUpdate, st.RevokedAt = resp.NextUpdate.UTC(), resp.RevokedAt.UTC()
	n, err := ocspSCTs(resp)
	if err != nil && st.Error == "" {
		st.Error = err.Error()
	}
	return st, n
}

// parseOCSP wraps x/crypto/ocsp, whose ASN.1 parsing of hostile bytes is
// not guaranteed panic-free.
func parseOCSP(der []byte, leaf, issuer *stdx509.Certificate) (resp *ocsp.Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, fmt.Errorf("ocsp parser panicked: %v", v)
		}
	}()
	resp, err = ocsp.ParseResponseForCert(der, leaf, issuer)
	if err != nil {
		return nil, fmt.Errorf("parse stapled OCSP response: %w", err)
	}
	return resp, nil
}

// toStd reparses a zcrypto certificate with crypto/x509, which
// x/crypto/ocsp needs; nil when it cannot.
func toStd(c *x509.Certificate) *stdx509.Certificate {
	if c == nil {
		return nil
	}
	sc, err := stdx509.ParseCertificate(c.Raw)
	if err != nil {
		return nil
	}
	return sc
}

func ocspStatus(s int) string {
	switch s {
	case ocsp.Good:
		return tlswarden.OCSPGood
	case ocsp.Revoked:
		return tlswarden.OCSPRevoked
	}
	return tlswarden.OCSPUnknown
}

// ocspSCTs counts the SCTs in the response's SCT list extension.
func ocspSCTs(resp *ocsp.Response) (int, error) {
	for _, ext := range resp.Extensions {
		if !ext.Id.Equal(oidOCSPSCTList) {
			continue
		}
		var list []byte
		if rest, err := asn1.Unmarshal(ext.Value, &list); err != nil || len(rest) > 0 {
			return 0, errors.New("OCSP SCT list extension is not an OCTET STRING")
		}
		return countSCTs(list)
	}
	return 0, nil
}

// countSCTs counts the entries of a TLS-encoded SignedCertificateTimestampList
// (RFC 6962 3.3): a two-byte length, then entries each with a two-byte
// length.
func countSCTs(list []byte) (int, error) {
	if len(list) < 2 {
		return 0, errors.New("SCT list: too short")
	}
	n := int(list[0])<<8 | int(list[1])
	body := list[2:]
	if n != len(body) {
		return 0, fmt.Errorf("SCT list: length %d, but %d bytes follow", n, len(body))
	}
	count := 0
	for len(body) > 0 && count < maxSCTs {
		if len(body) < 2 {
			return count, errors.New("SCT list: truncated entry length")
		}
		m := int(body[0])<<8 | int(body[1])
		if m == 0 || m > len(body)-2 {
			return count, fmt.Errorf("SCT list: entry %d has bad length %d", count+1, m)
		}
		body = body[2+m:]
		count++
	}
	return count, nil
}
