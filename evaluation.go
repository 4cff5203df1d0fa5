package tlswarden

import (
	"strings"
	"time"
)

// Severity ranks how much a failed rule matters. The zero value means
// "unset"; the named levels compare in order, so a profile can say "fail
// compliance at high or above".
type Severity int

// The severities, least to most serious.
const (
	SeverityInfo Severity = iota + 1
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = []string{"", "info", "low", "medium", "high", "critical"}

// String returns the lower-case name: "info" ... "critical".
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "unknown"
	}
	return severityNames[s]
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name, in any case.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads "info", "low", "medium", "high" or "critical".
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if i > 0 && strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, &ParseError{Input: name, Msg: "unknown severity (want info, low, medium, high or critical)"}
}

// RuleOutcome is how one rule came out on one endpoint, in the vocabulary
// of zlint's lint results.
type RuleOutcome string

const (
	// RulePass: the facts were gathered and satisfy the rule.
	RulePass RuleOutcome = "pass"
	// RuleFail: the facts were gathered and break the rule.
	RuleFail RuleOutcome = "fail"
	// RuleNotApplicable: the rule does not concern this endpoint (an HTTP
	// header rule on a mail server, a DH size rule with no DHE suite).
	RuleNotApplicable RuleOutcome = "not_applicable"
	// RuleNotEvaluated: the facts the rule needs could not be gathered (the
	// probe failed or did not run). Never read it as a pass.
	RuleNotEvaluated RuleOutcome = "not_evaluated"
	// RuleSkipped: the user asked not to gather the facts the rule needs
	// (--no-http). It counts neither way: the verdict then covers the
	// other rules only, and Skipped lists the rules left out so that a
	// reader sees what was not checked.
	RuleSkipped RuleOutcome = "skipped"
)

// Finding is one rule's outcome on one endpoint, as the policy judged it.
type Finding struct {
	RuleID   string      `json:"rule"`
	Title    string      `json:"title"`
	Severity Severity    `json:"severity"`
	Outcome  RuleOutcome `json:"outcome"`
	Message  string      `json:"message"`
	// Waived is true when an unexpired waiver covers this failed finding:
	// it is still reported but does not count against compliance.
	Waived bool `json:"waived,omitempty"`
	// Waiver is the waiver naming this target and rule, also when it has
	// expired (Waived is then false), so lapsed exceptions stay visible.
	Waiver *Waiver `json:"waiver,omitempty"`
}

// Counts reports whether the finding counts against compliance at the
// given threshold: a failure, not waived, at or above it.
func (f *Finding) Counts(failAt Severity) bool {
	return f.Outcome == RuleFail && !f.Waived && f.Severity >= failAt
}

// Waiver is an accepted exception: one rule does not count against the
// compliance of one target until a date. It has a reason because the
// exceptions a policy allows must be visible, not silent.
type Waiver struct {
	// Target is "host" (every port) or "host:port", as in Target.String.
	Target string `json:"target"`
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// Expires is the last day (UTC) the waiver holds; it lapses at the
	// following midnight UTC.
	Expires time.Time `json:"expires"`
}

// Active reports whether the waiver still holds at now.
func (w *Waiver) Active(now time.Time) bool {
	return now.Before(w.Expires.AddDate(0, 0, 1))
}

// Covers reports whether the waiver names target t.
func (w *Waiver) Covers(t Target) bool {
	return strings.EqualFold(w.Target, t.Host) || strings.EqualFold(w.Target, t.String())
}

// Compliance is the policy's verdict on an endpoint or a whole report.
type Compliance string

const (
	// Compliant: no finding at or above the profile's threshold failed,
	// and every rule at or above it could be evaluated.
	Compliant Compliance = "compliant"
	// NonCompliant: some unwaived finding at or above the threshold failed.
	NonCompliant Compliance = "non_compliant"
	// ComplianceUnknown: nothing failed, but some rule at or above the
	// threshold could not be evaluated, or the endpoint was not scanned.
	ComplianceUnknown Compliance = "unknown"
)

// Worse returns the worse of two verdicts: non-compliant, then unknown,
// then compliant.
func (c Compliance) Worse(d Compliance) Compliance {
	rank := func(x Compliance) int {
		switch x {
		case NonCompliant:
			return 2
		case ComplianceUnknown:
			return 1
		}
		return 0
	}
	if rank(d) > rank(c) {
		return d
	}
	return c
}

// ProfileInfo names the policy profile an evaluation used, with the
// version of the source it encodes, so a stored evaluation says exactly
// what it was judged against.
type ProfileInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Source  string `json:"source"`
	// Extends names the built-in profile a custom profile starts from.
	Extends string `json:"extends,omitempty"`
	// FailAt is the lowest severity whose failure makes an endpoint
	// non-compliant.
	FailAt Severity `json:"fail_at"`
	// RequiredClients are the clients the profile requires to connect
	// (client simulation IDs), recorded so that history can say when one
	// stops connecting.
	RequiredClients []string `json:"required_clients,omitempty"`
}

// Evaluation is the policy's judgement of one Report.
type Evaluation struct {
	Profile     ProfileInfo `json:"profile"`
	EvaluatedAt time.Time   `json:"evaluated_at"`
	Compliance  Compliance  `json:"compliance"`
	// Note explains a verdict that no endpoint gave: a mail domain that
	// accepts no mail (null MX) is compliant with nothing to scan.
	Note string `json:"note,omitempty"`
	// Skipped lists the rules skipped at the user's request on some
	// endpoint: Compliance does not cover them.
	Skipped   []string             `json:"skipped_rules,omitempty"`
	Endpoints []EndpointEvaluation `json:"endpoints"`
}

// EndpointEvaluation is the judgement of one endpoint: every rule's
// finding, the compliance verdict and the grades.
type EndpointEvaluation struct {
	Endpoint   Endpoint     `json:"endpoint"`
	Compliance Compliance   `json:"compliance"`
	Grade      *Grade       `json:"grade,omitempty"`
	Headers    *HeaderScore `json:"headers,omitempty"`
	// Skipped lists the rules skipped at the user's request (outcome
	// skipped): Compliance does not cover them.
	Skipped  []string  `json:"skipped_rules,omitempty"`
	Findings []Finding `json:"findings"`
}

// Grade is a letter grade for an endpoint's TLS configuration in the
// spirit of the SSL Labs rating guide; docs/grading.md explains it.
type Grade struct {
	// Letter is A+, A, A-, B, C, D, E, F, or T (a trust problem), or empty
	// when the TLS facts are too incomplete to grade.
	Letter string `json:"letter"`
	// IgnoringTrust is the letter the endpoint would get if its
	// certificate were trusted; set only when Letter is T.
	IgnoringTrust string `json:"ignoring_trust,omitempty"`
	// Score is the weighted score 0..100 before caps; Protocol,
	// KeyExchange and Cipher are its parts.
	Score       int `json:"score"`
	Protocol    int `json:"protocol"`
	KeyExchange int `json:"key_exchange"`
	Cipher      int `json:"cipher"`
	// Caps lists each rule that limited the letter, and why.
	Caps []GradeCap `json:"caps,omitempty"`
	// Incomplete lists facts that were missing, so parts of the grade are
	// guesses or left out (e.g. the certificate was not examined).
	Incomplete []string `json:"incomplete,omitempty"`
}

// GradeCap is one limit applied to a grade: the best letter allowed and
// the reason.
type GradeCap struct {
	Max    string `json:"max"`
	Reason string `json:"reason"`
}

// HeaderScore is an HTTP security-header score computed with the MDN HTTP
// Observatory's published algorithm, from the facts the HTTP probe
// gathered.
type HeaderScore struct {
	Algorithm string `json:"algorithm"`
	Score     int    `json:"score"`
	Grade     string `json:"grade"`
	// Error says why the response could not be scored; Score and Grade are
	// then empty.
	Error string `json:"error,omitempty"`
	// Tests lists each of the algorithm's tests; tests whose facts the
	// probe does not gather have Evaluated false and a zero modifier.
	Tests []HeaderTest `json:"tests"`
}

// HeaderTest is one Observatory test's result.
type HeaderTest struct {
	Name      string `json:"name"`
	Result    string `json:"result"`
	Modifier  int    `json:"modifier"`
	Pass      bool   `json:"pass"`
	Evaluated bool   `json:"evaluated"`
}
