package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// Known-weakness rules over the weakness probe's answers.
var (
	ruleHeartbleed = Rule{
		ID:       "vuln.heartbleed",
		Title:    "Heartbleed: an over-long heartbeat is not answered (CVE-2014-0160)",
		Severity: tlswarden.SeverityCritical,
		Rationale: `A server that answers a heartbeat request claiming more payload than it carries sends ` +
			`its memory: keys, passwords, sessions. testssl.sh run_heartbleed: VULNERABLE; SSL Labs grades it F.`,
		Check: checkHeartbleed,
	}
	ruleCCSInjection = Rule{
		ID:       "vuln.ccs_injection",
		Title:    "CCS injection: an early ChangeCipherSpec is refused (CVE-2014-0224)",
		Severity: tlswarden.SeverityCritical,
		Rationale: `OpenSSL before 1.0.1h took a ChangeCipherSpec before the key exchange and derived ` +
			`keys an attacker in the middle knows. testssl.sh run_ccs_injection: VULNERABLE; SSL Labs F.`,
		Check: checkCCSInjection,
	}
	ruleSecureRenegotiation = Rule{
		ID:       "vuln.secure_renegotiation",
		Title:    "Secure renegotiation is supported (RFC 5746)",
		Severity: tlswarden.SeverityMedium,
		Rationale: `Without the renegotiation_info extension a renegotiation can splice an attacker's ` +
			`request onto a victim's session (CVE-2009-3555). testssl.sh run_renego; SSL Labs warns (A-).`,
		Check: checkSecureRenegotiation,
	}
	ruleClientRenegotiation = Rule{
		ID:       "vuln.client_initiated_renegotiation",
		Title:    "Client-initiated renegotiation is refused",
		Severity: tlswarden.SeverityMedium,
		Rationale: `A server that renegotiates when the client asks lets one connection demand full ` +
			`handshakes over and over (a denial-of-service lever, testssl.sh run_renego: "potential DoS ` +
			`threat"); without secure renegotiation it is CVE-2009-3555, which SSL Labs grades F ` +
			`(insecure client-initiated renegotiation).`,
		Check: checkClientRenegotiation,
	}
	ruleTicketbleed = Rule{
		ID:       "vuln.ticketbleed",
		Title:    "Ticketbleed: a resumed session echoes the session ID sent, no more (CVE-2016-9244)",
		Severity: tlswarden.SeverityCritical,
		Rationale: `F5's TLS stack answered a session ticket offered with a session ID shorter than 32 bytes ` +
			`by echoing 32, the rest of them its memory (up to 31 bytes a connection, session secrets among ` +
			`them). testssl.sh run_ticketbleed: VULNERABLE; SSL Labs grades it F.`,
		Check: checkTicketbleed,
	}
	ruleEarlyData = Rule{
		ID:       "vuln.early_data",
		Title:    "TLS 1.3 0-RTT early data is not accepted",
		Severity: tlswarden.SeverityLow,
		Rationale: `Data sent in 0-RTT has no protection against replay (RFC 8446, section 8): an ` +
			`attacker who records it can send it again, and the application must make every such ` +
			`request idempotent. NCSC-NL's TLS guidelines 2.1 say to disable 0-RTT; testssl.sh ` +
			`reports it; SSL Labs does not grade it.`,
		Check: checkEarlyData,
	}
	ruleCRIME = Rule{
		ID:       "vuln.crime",
		Title:    "CRIME: TLS compression is off (CVE-2012-4929)",
		Severity: tlswarden.SeverityHigh,
		Rationale: `Compressing secrets beside attacker-chosen data leaks them through the record lengths. ` +
			`testssl.sh run_crime: compression chosen is VULNERABLE; SSL Labs caps it at C.`,
		Check: checkCRIME,
	}
	ruleROBOT = Rule{
		ID:       "vuln.robot",
		Title:    "ROBOT: RSA key exchange is no Bleichenbacher oracle (CVE-2017-13099 and others)",
		Severity: tlswarden.SeverityCritical,
		Rationale: `A server that answers flawed PKCS #1 v1.5 premaster secrets otherwise than well-formed ` +
			`ones lets an attacker decrypt recorded RSA sessions and sign with its key (robotattack.org). ` +
			`testssl.sh run_robot; SSL Labs grades it F since March 2018.`,
		Check: checkROBOT,
	}
	rulePaddingOracle = Rule{
		ID:       "vuln.padding_oracle",
		Title:    "CBC padding oracle: malformed CBC records are answered alike (POODLE-TLS, Zombie POODLE, GOLDENDOODLE, CVE-2016-2107)",
		Severity: tlswarden.SeverityCritical,
		Rationale: `A server whose answer to a CBC record depends on whether its padding or its MAC was wrong ` +
			`(an alert against a silent close, one alert against another, a timeout) lets an attacker in the ` +
			`middle decrypt a secret the browser repeats, such as a cookie, a byte at a time (Craig Young's 2019 ` +
			`research: Zombie POODLE, GOLDENDOODLE; OpenSSL's CVE-2016-2107). SSL Labs grades these oracles F; ` +
			`testssl.sh does not test them.`,
		Check: checkPaddingOracle,
	}
	ruleFallbackSCSV = Rule{
		ID:       "vuln.fallback_scsv",
		Title:    "TLS_FALLBACK_SCSV is honoured (RFC 7507)",
		Severity: tlswarden.SeverityLow,
		Rationale: `A server that honours the SCSV stops attackers forcing clients that retry with a lower ` +
			`version down to it. testssl.sh run_tls_fallback_scsv; SSL Labs dropped its cap in 2009r.`,
		Check: checkFallbackSCSV,
	}
)

// vulnActiveRules are the weakness rules over the weakness probe's facts.
var vulnActiveRules = []*Rule{&ruleHeartbleed, &ruleCCSInjection, &ruleROBOT, &rulePaddingOracle, &ruleSecureRenegotiation, &ruleClientRenegotiation, &ruleTicketbleed, &ruleEarlyData, &ruleCRIME, &ruleFallbackSCSV}

// featureFacts returns the weakness probe's result when its feature hello
// was answered with a ServerHello, or the result that says why not: not
// applicable when the probe was not run (a report from before it
// existed) and for a server that speaks only TLS 1.3 (every
// check here is about TLS 1.2 and older); not evaluated when it failed.
func featureFacts(in *Input) (*tlswarden.VulnResult, *Result) {
	v := in.Endpoint.Vuln
	var r Result
	switch {
	case v == nil && probeSkipped(in.Endpoint, "vuln"):
		r = Result{tlswarden.RuleSkipped, "skipped at the user's request: the weakness probe did not run (--no-vulns)"}
	case v == nil && !probeRan(in.Endpoint, "vuln"):
		r = notApplicable("the weakness probe was not run (a report from before it)")
	case v == nil || v.Features == nil:
		r = notEvaluated("no weakness facts: %s", probeFailure(in.Endpoint, "vuln"))
	case v.Features.Status == tlswarden.StatusOK:
		return v, nil
	case tls13Only(in.Endpoint.TLS):
		r = notApplicable("only TLS 1.3 is accepted")
	default:
		r = notEvaluated("the feature hello ended with %s%s", v.Features.Status, errSuffix(v.Features.Error))
	}
	return nil, &r
}

// tls13Only reports TLS facts in which TLS 1.3 is the only version
// accepted and every other one was tested.
func tls13Only(tr *tlswarden.TLSResult) bool {
	if tr == nil || !tr.Supported(tlswarden.TLS13) {
		return false
	}
	for _, v := range tlswarden.AllVersions {
		if supported, known := versionState(tr, v); v != tlswarden.TLS13 && (supported || !known) {
			return false
		}
	}
	return true
}

// probeRan reports whether the endpoint's report records the probe.
func probeRan(e *tlswarden.EndpointReport, name string) bool {
	return slices.ContainsFunc(e.Probes, func(p tlswarden.ProbeStatus) bool { return p.Name == name })
}

// skipped says whether configuration turned a check off.
func skipped(v *tlswarden.VulnResult, check string) bool { return slices.Contains(v.Skipped, check) }

func checkHeartbleed(in *Input) Result {
	v, r := featureFacts(in)
	switch {
	case r != nil:
		return *r
	case !v.Features.Heartbeat:
		return pass("the heartbeat extension is not offered")
	case skipped(v, "heartbleed"):
		return Result{tlswarden.RuleSkipped, "skipped at the user's request (--no-intrusive, the profile's intrusive_checks or the target's intrusive setting); the heartbeat extension is offered"}
	case v.Heartbleed == nil || v.Heartbleed.Status != tlswarden.StatusOK:
		return notEvaluated("the Heartbleed check did not finish%s", heartbleedErr(v.Heartbleed))
	case v.Heartbleed.OverlongAnswered:
		return fail("an over-long heartbeat request was answered: %s", v.Heartbleed.Answer)
	}
	return pass("the heartbeat extension is offered, but an over-long request was not answered (%s)", v.Heartbleed.Answer)
}

func heartbleedErr(h *tlswarden.HeartbleedResult) string {
	if h == nil {
		return ""
	}
	return errSuffix(h.Error)
}

func checkCCSInjection(in *Input) Result {
	v, r := featureFacts(in)
	switch {
	case r != nil:
		return *r
	case skipped(v, "ccs_injection"):
		return Result{tlswarden.RuleSkipped, "skipped at the user's request (--no-intrusive, the profile's intrusive_checks or the target's intrusive setting)"}
	case v.CCSInjection == nil || v.CCSInjection.Status != tlswarden.StatusOK:
		return notEvaluated("the CCS injection check did not finish%s", ccsErr(v.CCSInjection))
	case v.CCSInjection.EarlyCCSAccepted:
		return fail("an early ChangeCipherSpec was taken: the server then answered %s", v.CCSInjection.Answer)
	}
	return pass("an early ChangeCipherSpec was refused (%s)", v.CCSInjection.Answer)
}

func ccsErr(c *tlswarden.CCSResult) string {
	if c == nil {
		return ""
	}
	return errSuffix(c.Error)
}

func checkSecureRenegotiation(in *Input) Result {
	v, r := featureFacts(in)
	switch {
	case r != nil:
		return *r
	case !v.Features.SecureRenegotiation:
		return fail("the renegotiation_info extension is not answered")
	}
	return pass("the renegotiation_info extension is answered")
}

func checkClientRenegotiation(in *Input) Result {
	v, r := featureFacts(in)
	if r != nil {
		return *r
	}
	rn := v.ClientRenegotiation
	switch {
	case skipped(v, "client_initiated_renegotiation"):
		return Result{tlswarden.RuleSkipped, "skipped at the user's request (--no-intrusive)"}
	case rn == nil || rn.Status != tlswarden.StatusOK:
		return notEvaluated("the client-initiated renegotiation check did not finish%s", renegErr(rn))
	case !rn.Tested:
		return notApplicable("no TLS 1.2, which the check needs")
	case rn.Accepted && !rn.Secure:
		return fail("insecure client-initiated renegotiation: a renegotiation hello was answered with a ServerHello without RFC 5746")
	case rn.Accepted:
		return fail("client-initiated renegotiation is allowed (secure, RFC 5746): a renegotiation hello was answered with a ServerHello")
	}
	return pass("a renegotiation hello was refused (%s)", rn.Answer)
}

func renegErr(rn *tlswarden.RenegotiationResult) string {
	if rn == nil {
		return ""
	}
	return errSuffix(rn.Error)
}

func checkTicketbleed(in *Input) Result {
	v, r := featureFacts(in)
	if r != nil {
		return *r
	}
	tb := v.Ticketbleed
	switch {
	case tb == nil && v.Resumption != nil && !v.Resumption.TicketIssued && v.Resumption.Status == tlswarden.StatusOK:
		return pass("no session ticket is issued")
	case tb == nil:
		return notApplicable("the Ticketbleed check was not run (a report from before it)")
	case tb.Status != tlswarden.StatusOK:
		return notEvaluated("the Ticketbleed check did not finish%s", errSuffix(tb.Error))
	case !tb.Tested && (v.Resumption == nil || v.Resumption.Status != tlswarden.StatusOK):
		return notEvaluated("no ticket could be had: the full handshake failed")
	case !tb.Tested:
		return pass("no session ticket is issued")
	case tb.Leaked:
		return fail("a ticket offered with a %d-byte session ID resumed with a %d-byte one: server memory", tb.SessionIDSent, tb.SessionIDEchoed)
	case !tb.Resumed:
		return pass("the ticket offered with a %d-byte session ID was not resumed", tb.SessionIDSent)
	}
	return pass("a ticket offered with a %d-byte session ID resumed with the same ID", tb.SessionIDSent)
}

// checkEarlyData reads the TLS 1.3 resumption facts directly: unlike the
// other weakness rules it concerns TLS 1.3, so a server that speaks only
// TLS 1.3 is judged too.
func checkEarlyData(in *Input) Result {
	v := in.Endpoint.Vuln
	if v == nil || v.TLS13Resumption == nil {
		if _, r := featureFacts(in); r != nil && r.Outcome != tlswarden.RuleNotApplicable {
			return *r
		}
		return notApplicable("the TLS 1.3 resumption check was not run")
	}
	rs := v.TLS13Resumption
	switch {
	case rs.Status != tlswarden.StatusOK:
		return notEvaluated("the TLS 1.3 resumption check did not finish%s", errSuffix(rs.Error))
	case !rs.Tested:
		return notApplicable("no TLS 1.3, or no TLS 1.3 session ticket")
	case rs.EarlyDataAccepted:
		return fail("0-RTT early data is accepted (the ticket allows %d bytes, and the resumption hello's early_data was answered)", rs.MaxEarlyData)
	case rs.MaxEarlyData > 0:
		return fail("the ticket allows %d bytes of 0-RTT early data, though a resumption hello's early_data was not answered", rs.MaxEarlyData)
	}
	return pass("the ticket allows no 0-RTT early data")
}

func checkCRIME(in *Input) Result {
	v, r := featureFacts(in)
	switch {
	case r != nil:
		return *r
	case v.Features.Compression != "null":
		return fail("TLS compression (%s) is chosen when offered", v.Features.Compression)
	}
	return pass("no TLS compression")
}

func checkFallbackSCSV(in *Input) Result {
	v, r := featureFacts(in)
	if r != nil {
		return *r
	}
	fb := v.FallbackSCSV
	switch {
	case fb == nil || fb.Status != tlswarden.StatusOK:
		return notEvaluated("the TLS_FALLBACK_SCSV check did not finish")
	case fb.Offered == 0:
		return notApplicable("no version below %s to fall back to", v.Features.Version)
	case fb.Rejected:
		return pass("%s with TLS_FALLBACK_SCSV is refused with inappropriate_fallback", fb.Offered)
	case in.Endpoint.TLS != nil && !in.Endpoint.TLS.Supported(fb.Offered) && !strings.HasPrefix(fb.Answer, "ServerHello"):
		return notApplicable("%s is not accepted, so there is no version to fall back to (answered %s)", fb.Offered, fb.Answer)
	}
	return fail("%s with TLS_FALLBACK_SCSV is not refused: %s", fb.Offered, fb.Answer)
}

func checkROBOT(in *Input) Result {
	v, r := featureFacts(in)
	rb := (*tlswarden.ROBOTResult)(nil)
	if v != nil {
		rb = v.ROBOT
	}
	switch {
	case r != nil:
		return *r
	case skipped(v, "robot"):
		return Result{tlswarden.RuleSkipped, "skipped at the user's request (--no-intrusive, the profile's intrusive_checks or the target's intrusive setting)"}
	case rb == nil || rb.Status != tlswarden.StatusOK:
		return notEvaluated("the ROBOT check did not finish")
	case !rb.Tested:
		return pass("no RSA key exchange")
	case rb.Oracle:
		return fail("flawed premaster secrets are answered otherwise than a well-formed one: %s", strings.Join(rb.Answers, "; "))
	case !allAlike(rb.Answers):
		return notEvaluated("the answers differed, but not the same way twice: %s", strings.Join(rb.Answers, "; "))
	}
	return pass("every premaster secret is answered alike (%s)", rb.Answers[0])
}

func allAlike(answers []string) bool {
	for _, a := range answers {
		if a != answers[0] {
			return false
		}
	}
	return true
}

func checkPaddingOracle(in *Input) Result {
	v, r := featureFacts(in)
	if r != nil {
		return *r
	}
	po := v.PaddingOracle
	switch {
	case skipped(v, "padding_oracle"):
		return Result{tlswarden.RuleSkipped, "skipped at the user's request (--no-intrusive, the profile's intrusive_checks or the target's intrusive setting)"}
	case po == nil:
		return notApplicable("the padding oracle check was not run (a report from before it)")
	case po.Status != tlswarden.StatusOK:
		return notEvaluated("the padding oracle check did not finish%s", errSuffix(po.Error))
	case !po.Tested:
		return paddingUntested(in, po)
	}
	answers := paddingAnswers(po)
	on := fmt.Sprintf("%s %s", po.Version, suiteName(po.CipherSuite))
	switch {
	case po.Oracle:
		return fail("malformed CBC records (%s) are answered by their flaw, the same way twice: %s", on, paddingEvidence(po))
	case !allAlike(answers):
		return notEvaluated("the answers to malformed CBC records (%s) differed, but not the same way twice: %s", on, paddingEvidence(po))
	}
	return pass("every malformed CBC record (%s) is answered alike: %s", on, answers[0])
}

// paddingUntested judges a padding oracle check that negotiated no CBC
// suite: a pass when the enumeration found none accepted either.
func paddingUntested(in *Input, po *tlswarden.PaddingOracleResult) Result {
	var cbc []string
	if tr := in.Endpoint.TLS; tr != nil {
		list, _ := acceptedSuites(tr, upToTLS12)
		for _, o := range list {
			if cbcSuite(o) {
				cbc = append(cbc, o.version.String()+" "+o.suite.Name)
			}
		}
	}
	if len(cbc) > 0 {
		return notEvaluated("CBC suites are accepted (%s), but none that Go's client offers could be negotiated: %s", joinShort(cbc, 4), po.Reason)
	}
	return pass("no CBC suite is accepted (%s)", po.Reason)
}

// paddingEvidence lists each malformed record with its answer.
func paddingEvidence(po *tlswarden.PaddingOracleResult) string {
	var parts []string
	for _, a := range po.Answers {
		parts = append(parts, a.Record+": "+a.Answer)
	}
	return strings.Join(parts, "; ")
}

// suiteName is a cipher suite's IANA name, or its code point.
func suiteName(code uint16) string {
	if s, ok := iana.Suite(code); ok {
		return s.Name
	}
	return fmt.Sprintf("%#04x", code)
}
