package policy

import (
	"strings"

	"github.com/tlswarden/tlswarden"
)

// ruleStartTLS judges what a STARTTLS service said before TLS.
var ruleStartTLS = Rule{
	ID:       "starttls.offered",
	Title:    "A STARTTLS service offers to start TLS",
	Severity: tlswarden.SeverityHigh,
	Rationale: `A mail, directory, chat or database service that does not offer STARTTLS leaves every ` +
		`connection in plain text: the Internet First policy asks that all traffic crossing the internet ` +
		`be encrypted with TLS 1.2 or better (RFC 3207, RFC 8314 for mail; RFC 7672 and RFC 8461 make ` +
		`sending servers require it).`,
	Check: checkStartTLS,
}

// serviceRules are the rules on what a service says before TLS, which
// every built-in profile evaluates at their own severities.
var serviceRules = []sev{{"starttls.offered", 0}}

func checkStartTLS(in *Input) Result {
	if !in.Target.Kind.StartTLS() {
		return notApplicable("a %s target starts TLS on connect", orDefault(string(in.Target.Kind), "https"))
	}
	svc := in.Endpoint.Service
	switch {
	case svc == nil:
		return notEvaluated("no facts from before TLS: %s", orDefault(in.Endpoint.Error, "the exchange did not run"))
	case svc.StartTLS:
		return pass("%s STARTTLS accepted%s", svc.Kind, replySuffix(svc.Reply))
	case svc.Status != tlswarden.StatusOK:
		return notEvaluated("the %s exchange ended with %s%s", svc.Kind, svc.Status, errSuffix(svc.Error))
	}
	return fail("the %s server does not offer STARTTLS: connections stay in plain text%s", svc.Kind, replySuffix(svc.Reply))
}

func replySuffix(r string) string {
	if r = strings.TrimSpace(r); r == "" {
		return ""
	}
	return " (server said: " + r + ")"
}
