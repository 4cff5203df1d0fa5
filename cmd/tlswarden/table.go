package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tlswarden/tlswarden"
)

// writeTable prints one report, and the policy's judgement of it, for a
// person at a terminal.
func writeTable(w io.Writer, r *tlswarden.Report, ev *tlswarden.Evaluation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", targetName(r.Target), r.Finished.Sub(r.Started).Round(time.Millisecond))
	fmt.Fprintf(tw, "  policy\t%s %s: %s\n", ev.Profile.Name, ev.Profile.Version, verdict(ev.Compliance, ev.Skipped))
	if r.Resolution != nil {
		writeResolution(tw, r.Resolution)
	}
	if r.Mail != nil {
		writeMail(tw, r.Mail)
	}
	if r.Status != tlswarden.StatusOK {
		fmt.Fprintf(tw, "  NOT SCANNED\t%s: %s\n", r.Status, r.Error)
	}
	if d := driftLine(ev); d != "" {
		fmt.Fprintf(tw, "  addresses\t%s\n", d)
	}
	for i := range r.Endpoints {
		writeEndpoint(tw, &r.Endpoints[i])
		if i < len(ev.Endpoints) {
			writeEvaluation(tw, &ev.Endpoints[i], ev.Profile.FailAt)
		}
	}
	return tw.Flush()
}

// writeMail lists a mail domain's MX hosts, or why it has none.
func writeMail(w io.Writer, m *tlswarden.MailResult) {
	switch {
	case m.NullMX:
		fmt.Fprintf(w, "  MX\tnull MX (RFC 7505): %s accepts no mail\n", m.Domain)
	case m.ImplicitMX:
		fmt.Fprintf(w, "  MX\tnone: the domain's own addresses receive its mail\n")
	}
	for _, h := range m.MX {
		if !m.ImplicitMX {
			fmt.Fprintf(w, "  MX %d\t%s%s\n", h.Preference, h.Host, mxError(h.Error))
		}
	}
	if m.MXOmitted > 0 {
		fmt.Fprintf(w, "  MX\t%d more not scanned (at most %d)\n", m.MXOmitted, tlswarden.MaxMXHosts)
	}
}

func writeResolution(w io.Writer, res *tlswarden.Resolution) {
	for _, c := range res.Chain {
		fmt.Fprintf(w, "  CNAME\t%s -> %s (ttl %ds)\n", c.Name, c.Target, c.TTL)
	}
	for _, q := range res.Queries {
		if q.Outcome != tlswarden.OutcomeOK {
			fmt.Fprintf(w, "  DNS %s\t%s %s\n", q.Type, q.Outcome, q.Error)
		}
	}
}

func writeEndpoint(w io.Writer, e *tlswarden.EndpointReport) {
	fmt.Fprintf(w, "\n  endpoint %s\t%d connections, %dms\n", e.Endpoint.Addr, e.Connections, e.DurationMS)
	if e.Status != tlswarden.StatusOK {
		fmt.Fprintf(w, "  ERROR\t%s: %s\n", e.Status, e.Error)
	}
	if e.OneConnectionAtATime {
		fmt.Fprintf(w, "  \tanswers one connection at a time: scanned so\n")
	}
	if e.Service != nil {
		writeService(w, e.Service)
	}
	if e.TLS != nil {
		writeTLS(w, e.TLS)
	}
	if e.Cert != nil {
		writeCert(w, e.Cert)
	}
	if e.Vuln != nil {
		writeVuln(w, e.Vuln)
	}
	if e.HTTP != nil {
		writeHTTP(w, e.HTTP)
	}
	if e.Clients != nil {
		writeClients(w, e.Clients)
	}
}

// writeService prints what the server said before TLS.
func writeService(w io.Writer, s *tlswarden.ServiceResult) {
	state := "STARTTLS offered and accepted"
	switch {
	case s.Status != tlswarden.StatusOK:
		state = fmt.Sprintf("exchange ended with %s: %s", s.Status, s.Error)
	case !s.StartTLS:
		state = "STARTTLS NOT OFFERED: connections stay in plain text"
	}
	fmt.Fprintf(w, "  %s\t%s\n", s.Kind, state)
	if s.Banner != "" {
		fmt.Fprintf(w, "    banner\t%s\n", s.Banner)
	}
	if len(s.Capabilities) > 0 {
		fmt.Fprintf(w, "    capabilities\t%s\n", strings.Join(s.Capabilities, ", "))
	}
}

func writeTLS(w io.Writer, t *tlswarden.TLSResult) {
	for _, v := range t.Versions {
		writeVersion(w, &v)
	}
	if len(t.GroupsByVersion) > 0 {
		for _, gs := range t.GroupsByVersion {
			writeGroups(w, gs.Groups, gs.Version, gs.Preferred, gs.Error)
		}
		return
	}
	if len(t.Groups) > 0 {
		writeGroups(w, t.Groups, t.GroupsTestedWith, t.PreferredGroup, t.GroupsError)
	}
}

// writeGroups prints the groups enumerated over one version.
func writeGroups(w io.Writer, groups []tlswarden.Group, over tlswarden.Version, preferred, errText string) {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	fmt.Fprintf(w, "  groups\t%s (over %s; preferred %s)\n", strings.Join(names, ", "), over, preferred)
	if errText != "" {
		fmt.Fprintf(w, "  \tgroups over %s incomplete: %s\n", over, errText)
	}
}

func writeVersion(w io.Writer, v *tlswarden.VersionResult) {
	switch {
	case v.Error != "":
		fmt.Fprintf(w, "  %s\tnot tested: %s\n", v.Version, v.Error)
		return
	case !v.Supported:
		fmt.Fprintf(w, "  %s\tno\n", v.Version)
		return
	}
	order := ""
	if v.Preference != "" {
		order = ", " + string(v.Preference) + " preference"
	}
	fmt.Fprintf(w, "  %s\tyes, %d suites%s\n", v.Version, len(v.Suites), order)
	for _, s := range v.Suites {
		extra := ""
		switch {
		case s.DHBits > 0 && s.Group != "":
			extra = fmt.Sprintf("DH %d bits, %s", s.DHBits, s.Group)
		case s.DHBits > 0:
			extra = fmt.Sprintf("DH %d bits", s.DHBits)
		case s.Group != "":
			extra = s.Group
		}
		fmt.Fprintf(w, "    0x%04X\t%s\t%s\n", s.Code, s.Name, extra)
	}
}

func complianceWord(c tlswarden.Compliance) string {
	switch c {
	case tlswarden.Compliant:
		return "compliant"
	case tlswarden.NonCompliant:
		return "NON-COMPLIANT"
	}
	return "compliance unknown (some required facts could not be gathered)"
}

// verdict is the compliance word, saying next to it which rules the user
// skipped: a verdict that leaves rules out must never read as a full pass.
func verdict(c tlswarden.Compliance, skipped []string) string {
	if len(skipped) == 0 {
		return complianceWord(c)
	}
	return fmt.Sprintf("%s, covering TLS and the certificate only: %d rules skipped at your request (%s)",
		complianceWord(c), len(skipped), strings.Join(skipped, ", "))
}

// targetName is host:port, with the kind in front unless it is https.
func targetName(t tlswarden.Target) string {
	if t.Kind.SpeaksHTTP() {
		return t.String()
	}
	return t.URL()
}

// writeEvaluation prints an endpoint's grades and the findings that need
// attention: failures and rules that could not be evaluated. Passes and
// rules that do not apply are counted, not listed.
func writeEvaluation(w io.Writer, ee *tlswarden.EndpointEvaluation, failAt tlswarden.Severity) {
	if g := ee.Grade; g != nil {
		fmt.Fprintf(w, "  grade\t%s\n", gradeLine(g))
	}
	if h := ee.Headers; h != nil {
		if h.Error != "" {
			fmt.Fprintf(w, "  headers\tnot scored: %s\n", h.Error)
		} else {
			fmt.Fprintf(w, "  headers\t%s (score %d, %s)\n", h.Grade, h.Score, h.Algorithm)
		}
	}
	fmt.Fprintf(w, "  compliance\t%s\n", verdict(ee.Compliance, ee.Skipped))
	quiet := 0
	var unknown []string                  // messages of not-evaluated findings, in order
	unknownRules := map[string][]string{} // message -> rule IDs
	for _, f := range ee.Findings {
		switch label := findingLabel(&f, failAt); label {
		case "":
			quiet++
		case "NOT EVALUATED":
			if unknownRules[f.Message] == nil {
				unknown = append(unknown, f.Message)
			}
			unknownRules[f.Message] = append(unknownRules[f.Message], f.RuleID)
		default:
			fmt.Fprintf(w, "    %s\t%s %s: %s\n", label, f.Severity, f.RuleID, f.Message)
			if f.Waiver != nil {
				fmt.Fprintf(w, "    \t  waiver until %s: %s\n", f.Waiver.Expires.Format("2006-01-02"), f.Waiver.Reason)
			}
		}
	}
	for _, msg := range unknown {
		fmt.Fprintf(w, "    NOT EVALUATED\t%s: %s\n", strings.Join(unknownRules[msg], ", "), msg)
	}
	fmt.Fprintf(w, "    \t%d other rules passed or do not apply\n", quiet)
}

// findingLabel names a finding worth showing: FAIL (counts against
// compliance), WARN (a failure below the threshold), INFO (a failed
// informational rule), WAIVED, or NOT EVALUATED; empty for passes and
// rules that do not apply.
func findingLabel(f *tlswarden.Finding, failAt tlswarden.Severity) string {
	switch {
	case f.Outcome == tlswarden.RuleNotEvaluated:
		return "NOT EVALUATED"
	case f.Outcome != tlswarden.RuleFail:
		return ""
	case f.Waived:
		return "WAIVED"
	case f.Severity >= failAt:
		return "FAIL"
	case f.Severity == tlswarden.SeverityInfo:
		return "INFO"
	}
	return "WARN"
}

func gradeLine(g *tlswarden.Grade) string {
	if g.Letter == "" {
		return "not graded: " + strings.Join(g.Incomplete, "; ")
	}
	s := fmt.Sprintf("%s (score %d: protocol %d, key exchange %d, cipher %d)", g.Letter, g.Score, g.Protocol, g.KeyExchange, g.Cipher)
	if g.IgnoringTrust != "" {
		s += ", " + g.IgnoringTrust + " if the certificate were trusted"
	}
	var caps []string
	for _, c := range g.Caps {
		caps = append(caps, c.Max+": "+c.Reason)
	}
	if len(caps) > 0 {
		s += "; capped " + strings.Join(caps, "; ")
	}
	if len(g.Incomplete) > 0 {
		s += "; " + strings.Join(g.Incomplete, "; ")
	}
	return s
}

// driftLine says whether the addresses of the name agree (the
// target.addresses_consistent rule): "consistent", "DRIFT: ..." with the
// first address's finding, or "" when the rule did not compare any.
func driftLine(ev *tlswarden.Evaluation) string {
	consistent := false
	for _, ee := range ev.Endpoints {
		for _, f := range ee.Findings {
			switch {
			case f.RuleID != "target.addresses_consistent":
			case f.Outcome == tlswarden.RuleFail:
				return "DRIFT: " + ee.Endpoint.Addr.String() + ": " + f.Message
			case f.Outcome == tlswarden.RulePass:
				consistent = true
			}
		}
	}
	if consistent {
		return "consistent: every address serves the same configuration"
	}
	return ""
}

func mxError(e string) string {
	if e == "" {
		return ""
	}
	return " (" + e + ")"
}
