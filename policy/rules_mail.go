package policy

import (
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// The rules on a mail domain's publications (kind mail), judged on each
// of its MX endpoints. STARTTLS offered and TLS 1.2 or better are the
// starttls.offered and tls.* rules, which mail endpoints meet as smtp.
var (
	ruleMTASTSEnforce = Rule{
		ID:       "mail.mta_sts_enforce",
		Title:    "The mail domain publishes an MTA-STS policy in enforce mode",
		Severity: tlswarden.SeverityMedium,
		Rationale: `Without MTA-STS (RFC 8461) in enforce mode, or DANE, a sending server falls back to plain ` +
			`text or an unchecked certificate when an attacker strips STARTTLS: the domain's mail is encrypted ` +
			`only against passive eavesdroppers.`,
		Check: checkMTASTSEnforce,
	}
	ruleMTASTSMX = Rule{
		ID:       "mail.mta_sts_mx",
		Title:    "The MTA-STS policy names the MX host",
		Severity: tlswarden.SeverityHigh,
		Rationale: `Senders that apply an MTA-STS policy deliver only to MX hosts matching one of its mx ` +
			`patterns: an MX host left out receives no mail from them in enforce mode.`,
		Check: checkMTASTSMX,
	}
	ruleMailCert = Rule{
		ID:       "mail.cert_valid_for_mx",
		Title:    "The MX host's certificate is trusted and valid for its name when MTA-STS asks",
		Severity: tlswarden.SeverityHigh,
		Rationale: `An MTA-STS policy in enforce or testing mode asks senders to check the MX host's ` +
			`certificate as a web client does (RFC 8461 §4.2): a certificate that fails the check stops ` +
			`delivery (enforce) or is reported (testing).`,
		Check: checkMailCert,
	}
)

// mailRules are evaluated by every built-in profile.
var mailRules = []sev{{"mail.mta_sts_enforce", 0}, {"mail.mta_sts_mx", 0}, {"mail.cert_valid_for_mx", 0}, {"mail.dane_tlsa_match", 0}}

// mtaSTS returns the MTA-STS facts of a mail domain's endpoint, or the
// result to give when there are none.
func mtaSTS(in *Input) (*tlswarden.MTASTSResult, *Result) {
	if in.Target.Kind != tlswarden.KindMail {
		r := notApplicable("a %s target is not a mail domain", orDefault(string(in.Target.Kind), "https"))
		return nil, &r
	}
	if in.Mail == nil || in.Mail.MTASTS == nil {
		r := notEvaluated("MTA-STS was not looked up")
		return nil, &r
	}
	return in.Mail.MTASTS, nil
}

func checkMTASTSEnforce(in *Input) Result {
	m, r := mtaSTS(in)
	switch {
	case r != nil:
		return *r
	case m.Enforced():
		return pass("MTA-STS policy in enforce mode (max_age %d)", m.Policy.MaxAge)
	case m.Policy != nil:
		return fail("MTA-STS policy in %s mode: senders do not require TLS", m.Policy.Mode)
	case m.PolicyError != "":
		return fail("the MTA-STS policy is unusable: %s", m.PolicyError)
	case !answered(m.RecordOutcome):
		return notEvaluated("the _mta-sts TXT query ended with %s", m.RecordOutcome)
	case m.RecordError != "":
		return fail("the _mta-sts record is unusable: %s", m.RecordError)
	}
	return fail("no MTA-STS record: senders fall back to plain text when STARTTLS is stripped")
}

func checkMTASTSMX(in *Input) Result {
	m, r := mtaSTS(in)
	switch {
	case r != nil:
		return *r
	case m.Policy == nil || m.Policy.Mode == "none":
		return notApplicable("no MTA-STS policy in force")
	case slices.Contains(m.MXUnmatched, in.Endpoint.Endpoint.Host):
		return fail("%s matches no mx pattern of the policy (%s)", in.Endpoint.Endpoint.Host, strings.Join(m.Policy.MX, ", "))
	}
	return pass("%s matches the policy's mx patterns", in.Endpoint.Endpoint.Host)
}

func checkMailCert(in *Input) Result {
	m, r := mtaSTS(in)
	asker := "MTA-STS"
	switch {
	case daneTA(in):
		asker = "DANE-TA" // RFC 7672 §3.2.2: the name is checked under a TA record
	case r != nil:
		return *r
	case !m.Asks():
		return notApplicable("neither MTA-STS (enforce or testing) nor a DANE-TA record asks senders to check the certificate")
	default:
		asker = "MTA-STS " + m.Policy.Mode + " mode"
	}
	c := in.Endpoint.Cert
	switch {
	case c == nil:
		return notEvaluated("no certificate facts: %s", orDefault(in.Endpoint.Error, "the certificate probe did not run"))
	case !c.Trusted:
	case !c.HostnameMatches:
		return fail("%s asks for a certificate valid for %s", asker, orDefault(c.HostnameChecked, in.Endpoint.Endpoint.Host))
	case !c.Trusted && asker != "DANE-TA":
		return fail("%s asks for a trusted certificate: %s", asker, orDefault(c.VerificationError, "not trusted"))
	}
	return pass("valid for %s, as %s asks", c.HostnameChecked, asker)
}

// answered reports whether a DNS query got a final answer.
func answered(o tlswarden.Outcome) bool {
	return o == tlswarden.OutcomeOK || o == tlswarden.OutcomeNXDomain || o == tlswarden.OutcomeNoData
}

// daneTA reports whether the endpoint's MX host has an authenticated
// DANE-TA record, under which senders check the certificate's name.
func daneTA(in *Input) bool {
	if in.Target.Kind != tlswarden.KindMail {
		return false
	}
	for _, r := range usableTLSA(tlsaOf(in)) {
		if r.Usage == 2 {
			return true
		}
	}
	return false
}
