package policy

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// certDigests are a certificate's facts as the certificate probe records
// them, with the bytes a TLSA record names under each selector.
func certDigests(c *x509.Certificate) (tlswarden.Certificate, map[uint8][]byte) {
	h256 := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	h512 := func(b []byte) string { s := sha512.Sum512(b); return hex.EncodeToString(s[:]) }
	return tlswarden.Certificate{
		SHA256: h256(c.Raw), SPKISHA256: h256(c.RawSubjectPublicKeyInfo),
		SHA512: h512(c.Raw), SPKISHA512: h512(c.RawSubjectPublicKeyInfo),
	}, map[uint8][]byte{0: c.Raw, 1: c.RawSubjectPublicKeyInfo}
}

// tlsaData is what a zone holds for the bytes under a matching type.
func tlsaData(b []byte, matching uint8) string {
	switch matching {
	case 1:
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	case 2:
		s := sha512.Sum512(b)
		return hex.EncodeToString(s[:])
	}
	return hex.EncodeToString(b)
}

// TestDANEMatchingTypes: every matching type (0 the bytes, 1 SHA-256, 2
// SHA-512) under both selectors matches the certificate its usage names,
// in a real chain: DANE-EE the leaf, DANE-TA the CA. A record with one
// byte changed, or naming the other certificate, matches nothing; a
// SHA-512 record against a report that predates SHA-512 facts is not
// evaluated rather than failed.
func TestDANEMatchingTypes(t *testing.T) {
	ca := tlstest.NewCA(t, "dane CA")
	// P-384: tlstest caches one key per type, and the CA's is P-256.
	leaf := ca.Issue(t, tlstest.CertSpec{DNSNames: []string{"mx.example.org"}, Key: tlstest.ECDSA384})
	leafFacts, leafBytes := certDigests(leaf.Cert)
	caFacts, caBytes := certDigests(ca.Cert.Cert)
	chain := []tlswarden.Certificate{leafFacts, caFacts}
	judge := func(chain []tlswarden.Certificate, recs ...tlswarden.TLSARecord) tlswarden.Finding {
		e := good(func(e *tlswarden.EndpointReport) {
			e.HTTP = nil
			e.Endpoint.Host = "mx.example.org"
			e.Cert.Chain = chain
		})()
		r := report(e)
		r.Target = tlswarden.Target{Host: "example.org", Port: 25, Kind: tlswarden.KindMail}
		r.Mail = &tlswarden.MailResult{Domain: "example.org", MX: []tlswarden.MXHost{{Preference: 10, Host: "mx.example.org",
			TLSA: &tlswarden.TLSAResult{Outcome: tlswarden.OutcomeOK, AD: true, Authenticated: true, Records: recs}}}}
		ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
		return findingOf(t, &ev.Endpoints[0], "mail.dane_tlsa_match")
	}
	for _, usage := range []uint8{3, 2} {
		own, other := leafBytes, caBytes
		if usage == 2 {
			own, other = caBytes, leafBytes
		}
		for _, selector := range []uint8{0, 1} {
			for _, matching := range []uint8{0, 1, 2} {
				name := fmt.Sprintf("%d %d %d", usage, selector, matching)
				rec := tlswarden.TLSARecord{Usage: usage, Selector: selector, MatchingType: matching, Data: tlsaData(own[selector], matching)}
				if f := judge(chain, rec); f.Outcome != tlswarden.RulePass {
					t.Errorf("%s: %s (%s), want pass", name, f.Outcome, f.Message)
				}
				changed := append([]byte(nil), own[selector]...)
				changed[len(changed)-1] ^= 1
				for what, data := range map[string]string{"one byte changed": tlsaData(changed, matching), "the other certificate": tlsaData(other[selector], matching)} {
					rec.Data = data
					if f := judge(chain, rec); f.Outcome != tlswarden.RuleFail {
						t.Errorf("%s, %s: %s (%s), want fail", name, what, f.Outcome, f.Message)
					}
				}
			}
		}
	}

	old := []tlswarden.Certificate{{SHA256: leafFacts.SHA256, SPKISHA256: leafFacts.SPKISHA256}, {SHA256: caFacts.SHA256, SPKISHA256: caFacts.SPKISHA256}}
	if f := judge(old, tlswarden.TLSARecord{Usage: 3, Selector: 1, MatchingType: 2, Data: tlsaData(leafBytes[1], 2)}); f.Outcome != tlswarden.RuleNotEvaluated {
		t.Errorf("SHA-512 record, report without SHA-512 facts: %s (%s), want not_evaluated", f.Outcome, f.Message)
	}
	if f := judge(old, tlswarden.TLSARecord{Usage: 3, Selector: 1, MatchingType: 0, Data: tlsaData(leafBytes[1], 0)}); f.Outcome != tlswarden.RulePass {
		t.Errorf("full record, report without SHA-512 facts: %s (%s), want pass", f.Outcome, f.Message)
	}
	if f := judge(chain, tlswarden.TLSARecord{Usage: 3, Selector: 1, MatchingType: 0, Data: "not hex"}); f.Outcome != tlswarden.RuleFail {
		t.Errorf("a full record that is not hex: %s (%s), want fail", f.Outcome, f.Message)
	}
}
