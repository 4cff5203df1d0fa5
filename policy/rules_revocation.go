package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Revocation, Must-Staple, Certificate Transparency and lint rules: facts
// the certificate probe records that clients act on.
var (
	ruleCertNotRevoked = Rule{
		ID:       "cert.not_revoked",
		Title:    "The certificate is not revoked",
		Severity: tlswarden.SeverityCritical,
		Rationale: `A revoked certificate was withdrawn by its CA (key compromise, mis-issuance): clients that ` +
			`see the revocation refuse it, and it authenticates nothing. Judged from the stapled OCSP response ` +
			`(RFC 6066, RFC 6960) and, when revocation checks are on, from the leaf's OCSP responder. SSL Labs grades it T.`,
		Check: checkNotRevoked,
	}
	ruleCertMustStaple = Rule{
		ID:       "cert.must_staple",
		Title:    "A Must-Staple certificate comes with a stapled OCSP response",
		Severity: tlswarden.SeverityHigh,
		Rationale: `RFC 7633: a certificate whose TLS Feature extension lists status_request promises a staple; ` +
			`Firefox refuses the connection without one (MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING).`,
		Check: checkMustStaple,
	}
	ruleCertSCTCount = Rule{
		ID:       "cert.sct_count",
		Title:    "A publicly-trusted leaf carries the SCTs Chrome and Apple require",
		Severity: tlswarden.SeverityHigh,
		Rationale: `Chrome's and Apple's Certificate Transparency policies: two SCTs delivered in the TLS ` +
			`extension or the stapled OCSP response, or embedded SCTs by validity period: two for 180 days or ` +
			`less, three beyond. Without them Chrome and Safari refuse the certificate. tlswarden counts SCTs; ` +
			`it does not check their signatures, logs or log operators.`,
		Check: checkSCTCount,
	}
	ruleCertLintErrors = Rule{
		ID:       "cert.lint_errors",
		Title:    "No zlint error on a publicly-trusted chain",
		Severity: tlswarden.SeverityHigh,
		Rationale: `zlint errors from the CA/Browser Forum Baseline Requirements and EV Guidelines, the RFCs ` +
			`(5280 and others) and the root programs (Mozilla, Apple, Chrome) mark a certificate its CA was not ` +
			`allowed to issue: it may be revoked or distrusted. Publicly-trusted chains only.`,
		Check: checkLintErrors,
	}
	ruleCertLintWarnings = Rule{
		ID:       "cert.lint_warnings",
		Title:    "No zlint warning on a publicly-trusted chain",
		Severity: tlswarden.SeverityLow,
		Rationale: `zlint warnings (SHOULD-level requirements of the same sources) and the errors of the ` +
			`Community and ETSI lints, which are advice rather than requirements for a publicly-trusted TLS ` +
			`certificate. Publicly-trusted chains only.`,
		Check: checkLintWarnings,
	}
)

func checkNotRevoked(in *Input) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if st := cr.OCSP; st != nil && st.Status == tlswarden.OCSPRevoked {
		return fail("revoked on %s, says the stapled OCSP response%s", day(st.RevokedAt), unverified(st.SignatureVerified))
	}
	rc := cr.Revocation
	if rc != nil && rc.Status == tlswarden.OCSPRevoked {
		return fail("revoked on %s, says the OCSP responder %s%s", day(rc.RevokedAt), rc.URL, unverified(rc.SignatureVerified))
	}
	switch {
	case rc != nil && rc.Status == tlswarden.OCSPGood:
		return pass("good, says the OCSP responder %s", rc.URL)
	case cr.OCSP != nil && cr.OCSP.Status == tlswarden.OCSPGood:
		return pass("good, says the stapled OCSP response")
	case rc != nil && rc.Error != "":
		return notEvaluated("the OCSP responder %s gave no status: %s", orDefault(rc.URL, "of the certificate"), rc.Error)
	case rc != nil:
		return notApplicable("no revocation status known: no OCSP response stapled, and the certificate names no OCSP responder (CRLs are not fetched)")
	}
	return notApplicable("no revocation status known: no OCSP response stapled, and online checks are off (--check-revocation)")
}

func unverified(ok bool) string {
	if ok {
		return ""
	}
	return " (its signature could not be verified)"
}

func checkMustStaple(in *Input) Result {
	cr, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	switch {
	case !leaf.MustStaple:
		return notApplicable("the certificate does not require stapling")
	case !cr.OCSPStapled:
		return fail("the certificate requires an OCSP staple (RFC 7633 Must-Staple), but none was stapled")
	}
	return pass("Must-Staple, and a response was stapled")
}

// requiredEmbeddedSCTs is the number of embedded SCTs Chrome and Apple
// require for a certificate valid for the given period.
func requiredEmbeddedSCTs(period time.Duration) int {
	if period <= 180*24*time.Hour {
		return 2
	}
	return 3
}

func checkSCTCount(in *Input) Result {
	cr, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if r := publicOnly(cr); r != nil {
		return *r
	}
	n := cr.SCTs
	if delivered := n.TLSExtension + n.OCSP; delivered >= 2 {
		return pass("%d SCTs in the TLS extension or stapled OCSP response (2 required)", delivered)
	}
	want := requiredEmbeddedSCTs(validity(leaf))
	if n.Embedded >= want {
		return pass("%d embedded SCTs (%d required for %s)", n.Embedded, want, days(validity(leaf)))
	}
	return fail("%d embedded SCTs and %d delivered: Chrome and Apple require %d embedded for %s, or 2 in the TLS extension or OCSP response",
		n.Embedded, n.TLSExtension+n.OCSP, want, days(validity(leaf)))
}

// publicOnly returns the not_applicable result of a rule that judges
// publicly-trusted chains only, or nil when the chain is one.
func publicOnly(cr *tlswarden.CertResult) *Result {
	var r Result
	switch {
	case !cr.Trusted:
		r = notApplicable("not a publicly-trusted certificate")
	case cr.Anchor == tlswarden.AnchorOrganisation:
		r = notApplicable("anchored only at the organisation's own root (--ca-file): the CA/Browser Forum's and " +
			"the root programs' requirements govern publicly-trusted certificates")
	case cr.Anchor == "":
		r = notApplicable("the report does not say which trust store anchors the chain (recorded before tlswarden reported it)")
	default:
		return nil
	}
	return &r
}

// requirementSources are the lint sources whose errors are requirements
// for a publicly-trusted TLS certificate (cert.lint_errors); the errors
// of other sources (Community, ETSI) count as warnings.
var requirementSources = []string{"CABF_BR", "CABF_EV", "Mozilla", "Apple", "Chrome"}

// isRequirement reports whether a lint of source src states a requirement.
func isRequirement(src string) bool {
	return slices.Contains(requirementSources, src) || strings.HasPrefix(src, "RFC")
}

// chainLints lists "certificate N: lint" for every lint of the chain that
// keep selects.
func chainLints(cr *tlswarden.CertResult, keep func(error bool, source string) bool) []string {
	var out []string
	for i, c := range cr.Chain {
		if c.Lints == nil {
			continue
		}
		for _, name := range c.Lints.Errors {
			if keep(true, c.Lints.Sources[name]) {
				out = append(out, fmt.Sprintf("certificate %d: %s (%s)", i+1, name, c.Lints.Sources[name]))
			}
		}
		for _, name := range c.Lints.Warnings {
			if keep(false, c.Lints.Sources[name]) {
				out = append(out, fmt.Sprintf("certificate %d: %s (%s)", i+1, name, c.Lints.Sources[name]))
			}
		}
	}
	return out
}

func checkLintErrors(in *Input) Result {
	return checkLints(in, func(isErr bool, src string) bool { return isErr && isRequirement(src) })
}

func checkLintWarnings(in *Input) Result {
	return checkLints(in, func(isErr bool, src string) bool { return !isErr || !isRequirement(src) })
}

func checkLints(in *Input, keep func(bool, string) bool) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if r := publicOnly(cr); r != nil {
		return *r
	}
	if found := chainLints(cr, keep); len(found) > 0 {
		return fail("%d: %s", len(found), strings.Join(found, "; "))
	}
	return pass("none among the %d certificates served", len(cr.Chain))
}
