package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// writeVuln prints the weakness probe's facts: the TLS features of the
// first flight, then each check's answer. The judgement is in the
// findings below them.
func writeVuln(w io.Writer, v *tlswarden.VulnResult) {
	f := v.Features
	if f == nil {
		return
	}
	if f.Status != tlswarden.StatusOK {
		fmt.Fprintf(w, "  features\t%s: %s\n", f.Status, f.Error)
		writeSchemes(w, v.SignatureSchemesTLS13)
		return
	}
	fmt.Fprintf(w, "  features\t%s, ALPN %s, compression %s\n", f.Version, orNone(f.ALPN), f.Compression)
	fmt.Fprintf(w, "    extensions\t%s\n", list(f.Extensions))
	fmt.Fprintf(w, "    \t%s, %s, %s, %s, %s\n", yesNo(f.SecureRenegotiation, "secure renegotiation", "NO secure renegotiation"),
		yesNo(f.ExtendedMasterSecret, "extended master secret", "no extended master secret"),
		yesNo(f.EncryptThenMAC, "encrypt-then-MAC", "no encrypt-then-MAC"),
		yesNo(f.OCSPStapling, "OCSP stapling", "no OCSP stapling"), yesNo(f.Heartbeat, "heartbeat", "no heartbeat"))
	if c := f.ClientCertificate; c != nil {
		fmt.Fprintf(w, "    client certificate\trequested, %d CA names: %s\n", c.CANamesCount, list(c.CANames))
	}
	if rs := v.Resumption; rs != nil {
		fmt.Fprintf(w, "    resumption\t%s\n", resumptionText(rs))
	}
	if rs := v.TLS13Resumption; rs != nil && (rs.Tested || rs.Status != tlswarden.StatusOK) {
		fmt.Fprintf(w, "    TLS 1.3 resumption\t%s\n", resumption13Text(rs))
	}
	writeSchemes(w, v.SignatureSchemes)
	writeSchemes(w, v.SignatureSchemesTLS13)
	writeChecks(w, v)
}

// writeSchemes prints the signature schemes found for one version.
func writeSchemes(w io.Writer, ss *tlswarden.SignatureSchemesResult) {
	if ss != nil && ss.Tested {
		fmt.Fprintf(w, "    signature schemes\t%s: %s\n", ss.Version, list(ss.Schemes))
	}
}

// writeChecks prints each weakness check's answer.
func writeChecks(w io.Writer, v *tlswarden.VulnResult) {
	if h := v.Heartbleed; h != nil {
		fmt.Fprintf(w, "    heartbleed\t%s\n", answerText(h.Status, h.Error, h.Answer))
	}
	if c := v.CCSInjection; c != nil {
		fmt.Fprintf(w, "    ccs injection\t%s\n", answerText(c.Status, c.Error, c.Answer))
	}
	if fb := v.FallbackSCSV; fb != nil && fb.Offered != 0 {
		fmt.Fprintf(w, "    fallback scsv\t%s: %s\n", fb.Offered, answerText(fb.Status, fb.Error, orNone(fb.Answer)))
	}
	if rb := v.ROBOT; rb != nil && rb.Tested {
		fmt.Fprintf(w, "    robot\t%s\n", strings.Join(rb.Answers, "; "))
	}
	if tb := v.Ticketbleed; tb != nil && (tb.Tested || tb.Status != tlswarden.StatusOK) {
		fmt.Fprintf(w, "    ticketbleed\t%s\n", ticketbleedText(tb))
	}
	if po := v.PaddingOracle; po != nil {
		fmt.Fprintf(w, "    padding oracle\t%s\n", paddingText(po))
	}
	if rn := v.ClientRenegotiation; rn != nil && (rn.Tested || rn.Status != tlswarden.StatusOK) {
		fmt.Fprintf(w, "    client renegotiation\t%s\n", renegotiationText(rn))
	}
	if len(v.Skipped) > 0 {
		fmt.Fprintf(w, "    skipped\t%s\n", strings.Join(v.Skipped, ", "))
	}
}

func ticketbleedText(tb *tlswarden.TicketbleedResult) string {
	switch {
	case tb.Status != tlswarden.StatusOK:
		return answerText(tb.Status, tb.Error, "")
	case tb.Leaked:
		return fmt.Sprintf("VULNERABLE: %d-byte session ID echoed as %d bytes", tb.SessionIDSent, tb.SessionIDEchoed)
	case !tb.Resumed:
		return "ticket not resumed"
	}
	return fmt.Sprintf("%d-byte session ID echoed as sent", tb.SessionIDSent)
}

// paddingText says what the CBC padding oracle check found: each
// malformed record's answer, or why it could not test.
func paddingText(po *tlswarden.PaddingOracleResult) string {
	switch {
	case po.Status != tlswarden.StatusOK:
		return answerText(po.Status, po.Error, "")
	case !po.Tested:
		return "not tested: " + po.Reason
	}
	var parts []string
	for _, a := range po.Answers {
		parts = append(parts, a.Record+": "+a.Answer)
	}
	verdict := "answered alike"
	switch {
	case po.Oracle:
		verdict = "ORACLE (answers differ, twice)"
	case !sameAnswers(po.Answers):
		verdict = "answers differed once, not repeated"
	}
	suite := fmt.Sprintf("%#04x", po.CipherSuite)
	if s, ok := iana.Suite(po.CipherSuite); ok {
		suite = s.Name
	}
	return fmt.Sprintf("%s, %s %s: %s", verdict, po.Version, suite, strings.Join(parts, "; "))
}

func sameAnswers(as []tlswarden.PaddingAnswer) bool {
	for _, a := range as {
		if a.Answer != as[0].Answer {
			return false
		}
	}
	return true
}

func renegotiationText(rn *tlswarden.RenegotiationResult) string {
	if rn.Status != tlswarden.StatusOK {
		return answerText(rn.Status, rn.Error, "")
	}
	switch {
	case rn.Accepted && rn.Secure:
		return "ALLOWED (secure): " + rn.Answer
	case rn.Accepted:
		return "ALLOWED, INSECURE (no RFC 5746): " + rn.Answer
	}
	return "refused: " + rn.Answer
}

func resumption13Text(rs *tlswarden.TLS13ResumptionResult) string {
	if rs.Status != tlswarden.StatusOK {
		return answerText(rs.Status, rs.Error, "")
	}
	early := "no 0-RTT"
	switch {
	case rs.EarlyDataAccepted:
		early = fmt.Sprintf("0-RTT ACCEPTED (up to %d bytes)", rs.MaxEarlyData)
	case rs.MaxEarlyData > 0:
		early = fmt.Sprintf("ticket allows 0-RTT (%d bytes), not accepted", rs.MaxEarlyData)
	}
	return "ticket, PSK " + yesNo(rs.Resumed, "resumed", "NOT resumed") + "; " + early
}

func resumptionText(rs *tlswarden.ResumptionResult) string {
	if rs.Status != tlswarden.StatusOK {
		return string(rs.Status) + ": " + rs.Error
	}
	ticket := "no session ticket"
	if rs.TicketIssued {
		ticket = fmt.Sprintf("ticket (lifetime hint %ds), %s", rs.TicketLifetimeHint, yesNo(rs.ResumedWithTicket, "resumed", "NOT resumed"))
	}
	var id string
	switch {
	case rs.SessionIDError != "":
		id = "session ID: " + rs.SessionIDError
	case !rs.SessionIDIssued:
		id = "no session ID"
	default:
		id = "session ID " + yesNo(rs.ResumedWithSessionID, "resumed", "NOT resumed")
	}
	return ticket + "; " + id
}

func answerText(st tlswarden.Status, err, answer string) string {
	if st != tlswarden.StatusOK {
		return string(st) + ": " + err
	}
	return answer
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
