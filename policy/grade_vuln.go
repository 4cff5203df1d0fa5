package policy

import (
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// capWeaknesses applies the caps of known weaknesses (docs/grading.md):
// POODLE C; Heartbleed, CCS injection, ROBOT, Ticketbleed, a CBC padding
// oracle and insecure client-initiated renegotiation F; CRIME C; no secure
// renegotiation A- (secure client-initiated renegotiation is a finding, not
// a cap, as at SSL Labs). The caps of checks that were not made (ROBOT,
// the CBC padding oracles, when they were not run or could not test) are
// named in the grade's incomplete list when the suites they need are
// accepted.
func (gr *grader) capWeaknesses() {
	list, _ := acceptedSuites(gr.tr, onlySSLv3)
	if slices.ContainsFunc(list, cbcSuite) {
		gr.limit("C", "POODLE: SSLv3 accepted with CBC ciphers")
	}
	gr.capActive()
	gr.untestedCaps()
}

// capActive applies the caps that need the weakness probe's answers.
func (gr *grader) capActive() {
	v := gr.vuln
	switch {
	case tls13Only(gr.tr):
		return // the checks are about TLS 1.2 and older
	case v == nil || v.Features == nil || v.Features.Status != tlswarden.StatusOK:
		gr.incomplete("weakness checks not made: the Heartbleed, CCS injection, CRIME and renegotiation caps not considered")
		return
	}
	gr.when(v.Heartbleed != nil && v.Heartbleed.OverlongAnswered, "F", "Heartbleed: an over-long heartbeat request was answered")
	gr.when(v.CCSInjection != nil && v.CCSInjection.EarlyCCSAccepted, "F", "CCS injection: an early ChangeCipherSpec was taken")
	gr.when(v.ROBOT != nil && v.ROBOT.Oracle, "F", "ROBOT: the RSA key exchange is a Bleichenbacher oracle")
	gr.when(v.Ticketbleed != nil && v.Ticketbleed.Leaked, "F", "Ticketbleed: a resumed session echoed more session ID than was sent")
	gr.when(v.PaddingOracle != nil && v.PaddingOracle.Oracle, "F",
		"CBC padding oracle: malformed records are answered by their flaw (POODLE-TLS, Zombie POODLE, GOLDENDOODLE, CVE-2016-2107)")
	gr.when(v.Features.Compression != "null", "C", "CRIME: TLS compression is chosen")
	gr.when(!v.Features.SecureRenegotiation, "A-", "no secure renegotiation (RFC 5746)")
	rn := v.ClientRenegotiation
	gr.when(rn != nil && rn.Accepted && !rn.Secure, "F", "insecure client-initiated renegotiation (CVE-2009-3555)")
	if !v.Features.SecureRenegotiation && (rn == nil || rn.Status != tlswarden.StatusOK || !rn.Tested) {
		gr.incomplete("no secure renegotiation: the insecure client-initiated renegotiation cap (F) not tested")
	}
	if len(v.Skipped) > 0 {
		gr.incomplete("weakness checks turned off (%s): their F caps not considered", strings.Join(v.Skipped, ", "))
	}
}

// untestedCaps names the SSL Labs caps of checks that were not made or
// did not settle, when the suites they concern are accepted.
func (gr *grader) untestedCaps() {
	list, _ := acceptedSuites(gr.tr, upToTLS12)
	robot := gr.vuln != nil && gr.vuln.ROBOT != nil && gr.vuln.ROBOT.Status == tlswarden.StatusOK
	if !robot && slices.ContainsFunc(list, func(o offered) bool { return o.ok && o.info.KeyExchange == "RSA" }) {
		gr.incomplete("RSA key exchange accepted: the ROBOT cap (F) not tested")
	}
	if slices.ContainsFunc(list, cbcSuite) {
		if why := paddingUnsettled(gr.vuln); why != "" {
			gr.incomplete("CBC suites accepted: the padding-oracle caps (CVE-2016-2107, Zombie POODLE, GOLDENDOODLE) not tested: %s", why)
		}
	}
}

// capSharedKey caps at F an endpoint whose RSA key another endpoint
// serves with SSLv2 (DROWN): a fact about other endpoints, so it is
// applied to the finished grade.
func capSharedKey(g *tlswarden.Grade, in *Input) {
	if g.Letter == "" || in.Endpoint.TLS.Supported(tlswarden.SSLv2) {
		return
	}
	where, ok := sslv2Peer(in)
	if !ok {
		return
	}
	g.Caps = append(g.Caps, tlswarden.GradeCap{Max: "F", Reason: "DROWN: the certificate's RSA key is served with SSLv2 by " + where})
	if g.Letter == "T" {
		g.IgnoringTrust = "F"
	} else {
		g.Letter = "F"
	}
}

// paddingUnsettled says why the padding oracle check did not settle the
// padding-oracle caps, or "" when it did: it ran, negotiated a CBC suite,
// and its answers were all alike or differed the same way twice.
func paddingUnsettled(v *tlswarden.VulnResult) string {
	var po *tlswarden.PaddingOracleResult
	if v != nil {
		po = v.PaddingOracle
	}
	switch {
	case v != nil && skipped(v, "padding_oracle"):
		return "the check was turned off"
	case po == nil:
		return "the check was not run"
	case po.Status != tlswarden.StatusOK:
		return "the check did not finish (" + po.Error + ")"
	case !po.Tested:
		return "no AES-CBC suite Go's client offers could be negotiated (" + po.Reason + ")"
	case !po.Oracle && !allAlike(paddingAnswers(po)):
		return "the answers differed, but not the same way twice"
	}
	return ""
}

// paddingAnswers are the answers of a padding oracle check, in order.
func paddingAnswers(po *tlswarden.PaddingOracleResult) []string {
	var out []string
	for _, a := range po.Answers {
		out = append(out, a.Answer)
	}
	return out
}
