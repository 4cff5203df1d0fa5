package vuln

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"strconv"

	"golang.org/x/crypto/cryptobyte"

	"github.com/tlswarden/tlswarden"
)

// maxCANames bounds the CA names kept from a CertificateRequest.
const maxCANames = 100

// certificateTypes are the ClientCertificateType names (RFC 5246
// section 7.4.4, RFC 8422).
var certificateTypes = map[uint8]string{
	1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh",
	64: "ecdsa_sign", 65: "rsa_fixed_ecdh", 66: "ecdsa_fixed_ecdh",
}

// parseCertificateRequest reads a TLS 1.0 to 1.2 CertificateRequest body
// (RFC 5246 section 7.4.4; the signature schemes only from TLS 1.2).
func parseCertificateRequest(body []byte, version uint16) (*tlswarden.ClientCertRequest, error) {
	s := cryptobyte.String(body)
	bad := func(what string) error {
		return &tlswarden.ProtocolError{Msg: "CertificateRequest " + what + " is malformed"}
	}
	cr := &tlswarden.ClientCertRequest{}
	var types, schemes, cas cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&types) {
		return nil, bad("certificate_types")
	}
	for _, t := range types {
		cr.CertificateTypes = append(cr.CertificateTypes, certificateTypeName(t))
	}
	if version >= 0x0303 {
		if !s.ReadUint16LengthPrefixed(&schemes) || len(schemes)%2 != 0 {
			return nil, bad("supported_signature_algorithms")
		}
		for !schemes.Empty() {
			var sc uint16
			schemes.ReadUint16(&sc)
			cr.SignatureSchemes = append(cr.SignatureSchemes, sc)
		}
	}
	if !s.ReadUint16LengthPrefixed(&cas) || !s.Empty() {
		return nil, bad("certificate_authorities")
	}
	return cr, readCANames(cr, cas)
}

// readCANames reads the DistinguishedName list, keeping the first
// maxCANames names and counting all.
func readCANames(cr *tlswarden.ClientCertRequest, cas cryptobyte.String) error {
	for !cas.Empty() {
		var dn cryptobyte.String
		if !cas.ReadUint16LengthPrefixed(&dn) || len(dn) == 0 {
			return &tlswarden.ProtocolError{Msg: "CertificateRequest distinguished name is malformed"}
		}
		cr.CANamesCount++
		if len(cr.CANames) < maxCANames {
			cr.CANames = append(cr.CANames, dnString(dn))
		}
	}
	return nil
}

// dnString renders a DER distinguished name as RFC 2253 text, or says it
// could not be parsed.
func dnString(der []byte) string {
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(der, &rdn); err != nil || len(rest) > 0 {
		return "(unparsable name of " + strconv.Itoa(len(der)) + " bytes)"
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return n.String()
}

func certificateTypeName(t uint8) string {
	if n, ok := certificateTypes[t]; ok {
		return n
	}
	return strconv.Itoa(int(t))
}
