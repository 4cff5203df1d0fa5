package policy

import (
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Rule is one named check over one endpoint's facts.
type Rule struct {
	// ID is stable across releases ("tls.version.min"): stored findings,
	// custom profiles, waivers and metrics refer to it.
	ID    string
	Title string
	// Severity is the default; a profile may raise or lower it.
	Severity tlswarden.Severity
	// Rationale says why the rule exists and cites its source.
	Rationale string
	// Check judges one endpoint. It must return RuleNotEvaluated, never
	// RulePass, when the facts it needs are missing.
	Check func(in *Input) Result
}

// Input is what a rule's Check sees: the target, one endpoint's facts, the
// profile's parameters and the time the judgement is made at.
type Input struct {
	Target   tlswarden.Target
	Endpoint *tlswarden.EndpointReport
	Params   *Params
	// Now is the time certificate dates are judged at.
	Now time.Time
	// SSLv2Leaves maps the leaf certificate SHA-256 of endpoints known to
	// accept SSLv2 to their names (DROWN across endpoints).
	SSLv2Leaves map[string]string
	// Peers are every endpoint of the report, this one included: the
	// other addresses of the same name, for the drift rule.
	Peers []tlswarden.EndpointReport
	// Mail is the report's mail-domain facts (kind mail), nil otherwise.
	Mail *tlswarden.MailResult
}

// Result is a Check's outcome with a message for people.
type Result struct {
	Outcome tlswarden.RuleOutcome
	Message string
}

func pass(format string, args ...any) Result {
	return Result{tlswarden.RulePass, fmt.Sprintf(format, args...)}
}

func fail(format string, args ...any) Result {
	return Result{tlswarden.RuleFail, fmt.Sprintf(format, args...)}
}

func notApplicable(format string, args ...any) Result {
	return Result{tlswarden.RuleNotApplicable, fmt.Sprintf(format, args...)}
}

func notEvaluated(format string, args ...any) Result {
	return Result{tlswarden.RuleNotEvaluated, fmt.Sprintf(format, args...)}
}

// Params are the thresholds and lists a profile sets for its rules. A
// custom profile may change any of them; docs/policies.md lists the YAML
// names.
type Params struct {
	// MinVersion is the lowest protocol version an endpoint may accept.
	MinVersion tlswarden.Version
	// TLS12Suites and TLS13Suites are the suites a profile allows (IANA
	// code points); the allow-list rules are not applicable without them.
	TLS12Suites []uint16
	TLS13Suites []uint16
	// MinDHBits and MinECDHBits bound the ephemeral key exchange.
	MinDHBits   int
	MinECDHBits int
	// MinRSABits is the smallest RSA certificate key allowed.
	MinRSABits int
	// CertKeyTypes lists the leaf key types allowed ("RSA", "ECDSA").
	CertKeyTypes []string
	// CertCurves lists the named curves allowed for ECDSA leaf keys.
	CertCurves []string
	// CertSignatures lists the leaf signature algorithms allowed, by the
	// names the certificate probe records ("SHA256-RSA", "ECDSA-SHA256").
	CertSignatures []string
	// MaxCertLifespanDays bounds notAfter-notBefore for the Mozilla
	// lifespan rule.
	MaxCertLifespanDays int
	// ExpiryWarningDays is how long before expiry a certificate is flagged.
	ExpiryWarningDays int
	// MinLifetimeLeft is the smallest fraction of its lifetime a
	// certificate may have left before renewal is overdue.
	MinLifetimeLeft float64
	// HSTSMinMaxAge is the smallest Strict-Transport-Security max-age, in
	// seconds.
	HSTSMinMaxAge int64
	// MinHeaderScore is the lowest acceptable Observatory score.
	MinHeaderScore int
	// BRForPrivateRoots applies the rules and lints derived from the
	// CA/Browser Forum's Baseline Requirements to chains anchored only at
	// an organisation's own roots (--ca-file); by default they are not
	// applicable there, as the BRs govern publicly-trusted certificates.
	BRForPrivateRoots bool
	// NoIntrusive asks scans under this profile to skip the weakness
	// checks fragile appliances or an IDS may take badly (Heartbleed, CCS
	// injection, ROBOT, CBC padding oracle, client-initiated
	// renegotiation), as --no-intrusive
	// does; YAML intrusive_checks:
	// false. Evaluation ignores it: it configures the probes.
	NoIntrusive bool
	// RequiredClients names the clients of the client simulation that must
	// connect (IDs of the client list, "ie_11_win7"), for the
	// clients.required_connect rule; empty in every built-in profile. A
	// scan under the profile simulates them even when they are not among
	// the default clients. YAML required_clients.
	RequiredClients []string
}
