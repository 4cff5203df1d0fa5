package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// ruleDANE judges an MX host's certificates against its authenticated
// TLSA records (RFC 7672).
var ruleDANE = Rule{
	ID:       "mail.dane_tlsa_match",
	Title:    "The MX host's chain matches its DNSSEC-authenticated TLSA records",
	Severity: tlswarden.SeverityHigh,
	Rationale: `A sending server that validates DNSSEC and finds usable TLSA records for an MX host delivers ` +
		`only over TLS with a chain matching one of them (RFC 7672 §2.2): a chain that matches none stops ` +
		`the domain's mail from those senders.`,
	Check: checkDANE,
}

// tlsaOf returns the TLSA facts of the endpoint's MX host, if any.
func tlsaOf(in *Input) *tlswarden.TLSAResult {
	if in.Mail == nil {
		return nil
	}
	for _, h := range in.Mail.MX {
		if h.Host == in.Endpoint.Endpoint.Host {
			return h.TLSA
		}
	}
	return nil
}

// usableTLSA returns the records a sender uses: DANE-TA(2) and DANE-EE(3)
// of an authenticated answer (RFC 7672 §3.1.3).
func usableTLSA(t *tlswarden.TLSAResult) []tlswarden.TLSARecord {
	if t == nil || !t.Authenticated {
		return nil
	}
	var out []tlswarden.TLSARecord
	for _, r := range t.Records {
		if r.Usage == 2 || r.Usage == 3 {
			out = append(out, r)
		}
	}
	return out
}

func checkDANE(in *Input) Result {
	if in.Target.Kind != tlswarden.KindMail {
		return notApplicable("a %s target is not a mail domain", orDefault(string(in.Target.Kind), "https"))
	}
	t := tlsaOf(in)
	recs := usableTLSA(t)
	switch {
	case t == nil:
		return notApplicable("TLSA records were not looked up")
	case len(recs) == 0 && t.Outcome == tlswarden.OutcomeOK && !t.Authenticated:
		return notApplicable("TLSA records found, but not DNSSEC-authenticated by a resolver declared validating: senders that validate may still use them")
	case len(recs) == 0:
		return notApplicable("no usable TLSA record (DANE-TA or DANE-EE) for %s", in.Endpoint.Endpoint.Host)
	}
	c := in.Endpoint.Cert
	if c == nil || len(c.Chain) == 0 {
		return notEvaluated("no certificate chain: %s", orDefault(in.Endpoint.Error, "the certificate probe did not run"))
	}
	for _, ch := range append([]tlswarden.CertResult{*c}, c.OtherChains...) {
		if r, ok := matchChain(recs, ch.Chain); ok {
			return pass("the chain matches TLSA %d %d %d", r.Usage, r.Selector, r.MatchingType)
		}
	}
	if lacksSHA512(recs, c) {
		return notEvaluated("the usable TLSA records of %s name SHA-512 digests, which this report predates", in.Endpoint.Endpoint.Host)
	}
	return fail("no chain served matches the %d usable TLSA records of %s", len(recs), in.Endpoint.Endpoint.Host)
}

// matchChain finds a record matching the chain: DANE-EE the leaf,
// DANE-TA any certificate above it.
func matchChain(recs []tlswarden.TLSARecord, chain []tlswarden.Certificate) (tlswarden.TLSARecord, bool) {
	for _, r := range recs {
		for i, cert := range chain {
			if (r.Usage == 3) == (i == 0) && tlsaMatches(r, cert) {
				return r, true
			}
		}
	}
	return tlswarden.TLSARecord{}, false
}

// tlsaMatches compares one record with one certificate's digests (RFC
// 6698 §2.1): selector 0 the whole certificate, 1 its public key;
// matching type 1 SHA-256, 2 SHA-512, 0 the bytes themselves. The report
// keeps digests, not certificates, so a type 0 record is compared through
// the SHA-256 of its bytes: equal digests, equal bytes.
func tlsaMatches(r tlswarden.TLSARecord, cert tlswarden.Certificate) bool {
	var want, data string
	switch r.MatchingType {
	case 0:
		raw, err := hex.DecodeString(r.Data)
		if err != nil || len(raw) == 0 {
			return false
		}
		sum := sha256.Sum256(raw)
		data, want = hex.EncodeToString(sum[:]), pick(r.Selector, cert.SHA256, cert.SPKISHA256)
	case 1:
		data, want = r.Data, pick(r.Selector, cert.SHA256, cert.SPKISHA256)
	case 2:
		data, want = r.Data, pick(r.Selector, cert.SHA512, cert.SPKISHA512)
	}
	return want != "" && strings.EqualFold(data, want)
}

// pick returns the digest of the certificate (selector 0) or of its
// public key (selector 1); "" for a selector RFC 6698 does not define.
func pick(selector uint8, cert, spki string) string {
	switch selector {
	case 0:
		return cert
	case 1:
		return spki
	}
	return ""
}

// lacksSHA512 reports whether some record names a SHA-512 digest that the
// report's chains do not carry (reports made before they were recorded).
func lacksSHA512(recs []tlswarden.TLSARecord, c *tlswarden.CertResult) bool {
	if !slices.ContainsFunc(recs, func(r tlswarden.TLSARecord) bool { return r.MatchingType == 2 }) {
		return false
	}
	for _, ch := range append([]tlswarden.CertResult{*c}, c.OtherChains...) {
		for _, cert := range ch.Chain {
			if cert.SHA512 == "" {
				return true
			}
		}
	}
	return false
}
