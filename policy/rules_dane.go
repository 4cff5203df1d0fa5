package policy

import (
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
	return fail("no chain served matches the %d usable TLSA records of %s (supported: matching type 1, SHA-256)", len(recs), in.Endpoint.Endpoint.Host)
}

// matchChain finds a record matching the chain: DANE-EE the leaf,
// DANE-TA any certificate above it. Only SHA-256 digests (matching type
// 1) are compared, the form in practically every deployment.
func matchChain(recs []tlswarden.TLSARecord, chain []tlswarden.Certificate) (tlswarden.TLSARecord, bool) {
	for _, r := range recs {
		for i, cert := range chain {
			if (r.Usage == 3) != (i == 0) || r.MatchingType != 1 {
				continue
			}
			if r.Selector == 0 && r.Data == cert.SHA256 || r.Selector == 1 && r.Data == cert.SPKISHA256 && cert.SPKISHA256 != "" {
				return r, true
			}
		}
	}
	return tlswarden.TLSARecord{}, false
}
