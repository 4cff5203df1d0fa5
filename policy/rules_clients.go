package policy

import (
	"fmt"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// ruleClientsRequired judges the client simulation against the clients a
// profile names as required (Params.RequiredClients): each must connect.
// A team lists the clients it cares about, so that a change that would
// break one fails before it is made, with the client and the reason named.
var ruleClientsRequired = Rule{
	ID:       "clients.required_connect",
	Title:    "Every client the profile requires connects",
	Severity: tlswarden.SeverityHigh,
	Rationale: `A configuration change that locks out a client people still use (IE 11 on Windows 7, ` +
		`Android 4.4, Java 8 in a health estate) is an outage for them. The profile's required_clients ` +
		`names the clients that must keep working; the client simulation (docs/client-simulation.md, ` +
		`client hellos from Debian's testssl.sh package) says whether each connects. Only the clients ` +
		`that speak the target's protocol count (a browser on https, a mail client on SMTP and IMAP, ` +
		`a TLS library on any kind): a required browser is not applicable to an LDAP server. Not ` +
		`applicable when the profile names none, which is the built-in profiles' default.`,
	Check: checkClientsRequired,
}

// clientRules are evaluated by every built-in profile: not applicable
// until a custom profile names required clients.
var clientRules = []sev{{"clients.required_connect", 0}}

func checkClientsRequired(in *Input) Result {
	want := in.Params.RequiredClients
	e := in.Endpoint
	cr := e.Clients
	switch {
	case len(want) == 0:
		return notApplicable("the profile names no required clients")
	case cr == nil && probeSkipped(e, "clients"):
		return Result{tlswarden.RuleSkipped, "skipped at the user's request: the client simulation did not run (--no-clients)"}
	case cr == nil:
		return notEvaluated("no client simulation: %s", probeFailure(e, "clients"))
	}
	kind := in.Target.Kind
	want, other := applicableClients(cr, want, kind)
	if len(want) == 0 {
		return notApplicable("none of the required clients connects to a %s service: %s", orDefault(string(kind), "https"), strings.Join(other, ", "))
	}
	var failing, missing, estimated []string
	for _, id := range want {
		c := cr.Client(id)
		switch {
		case c == nil:
			missing = append(missing, id)
		case !c.Connects:
			failing = append(failing, clientFailure(c))
		case c.Method == tlswarden.ClientEstimated:
			estimated = append(estimated, clientLabel(c))
		}
	}
	switch {
	case len(failing) > 0:
		msg := fmt.Sprintf("%d of the %d required clients do not connect: %s", len(failing), len(want), strings.Join(failing, "; "))
		if len(missing) > 0 {
			msg += fmt.Sprintf("; not simulated: %s", strings.Join(missing, ", "))
		}
		return fail("%s%s", msg, notApplicableSuffix(kind, other))
	case len(missing) > 0:
		return notEvaluated("required clients not simulated in this scan: %s", strings.Join(missing, ", "))
	}
	msg := fmt.Sprintf("the %d required clients connect: %s", len(want), connectedList(cr, want))
	if len(estimated) > 0 {
		msg += fmt.Sprintf(" (estimated, the server's answer was not read: %s)", strings.Join(estimated, ", "))
	}
	return pass("%s%s", msg, notApplicableSuffix(kind, other))
}

// notApplicableSuffix names the required clients left out for the kind.
func notApplicableSuffix(k tlswarden.Kind, other []string) string {
	if len(other) == 0 {
		return ""
	}
	return fmt.Sprintf("; not applicable to a %s service: %s", orDefault(string(k), "https"), strings.Join(other, ", "))
}

// applicableClients splits the required clients into those that connect
// to a service of the kind (ClientResult.AppliesTo: a browser to https, a
// mail client to the mail kinds, a library to any) and the others, named
// with their label. A required client the simulation does not know stays
// among the applicable ones, where it is reported as not simulated.
func applicableClients(cr *tlswarden.ClientsResult, ids []string, k tlswarden.Kind) (apply, other []string) {
	for _, id := range ids {
		if c := cr.Client(id); c != nil && !c.AppliesTo(k) {
			other = append(other, clientLabel(c))
			continue
		}
		apply = append(apply, id)
	}
	return apply, other
}

func clientLabel(c *tlswarden.ClientResult) string {
	return fmt.Sprintf("%s (%s)", c.Name, c.ID)
}

// clientFailure says which client fails and why ("IE 11 Win 7
// (ie_11_win7): no cipher suite in common at TLSv1.2").
func clientFailure(c *tlswarden.ClientResult) string {
	why := c.Detail
	if why == "" {
		why = orDefault(c.Reason, "does not connect")
	}
	s := clientLabel(c) + ": " + why
	if c.Method == tlswarden.ClientEstimated {
		s += " (estimated: " + strings.Join(c.Uncertain, "; ") + ")"
	}
	return s
}

// connectedList names each required client with what it negotiates.
func connectedList(cr *tlswarden.ClientsResult, ids []string) string {
	parts := make([]string, 0, len(ids))
	for _, id := range ids {
		c := cr.Client(id)
		s := c.Name + " " + c.Version.String()
		if c.Suite != nil {
			s += " " + c.Suite.Name
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}
