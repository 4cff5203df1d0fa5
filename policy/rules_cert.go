package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Certificate rules.
var (
	ruleCertTrusted = Rule{
		ID:       "cert.trusted",
		Title:    "The certificate chain verifies to a trusted root",
		Severity: tlswarden.SeverityCritical,
		Rationale: `An untrusted certificate gives no authentication: clients either fail or learn to click ` +
			`through warnings. Required by every profile; SSL Labs grades it T.`,
		Check: checkTrusted,
	}
	ruleCertHostname = Rule{
		ID:        "cert.hostname",
		Title:     "The certificate names the host",
		Severity:  tlswarden.SeverityCritical,
		Rationale: `RFC 6125 / RFC 9525 server identity: a certificate for another name authenticates nothing. SSL Labs grades a mismatch M (tlswarden: T).`,
		Check:     checkHostname,
	}
	ruleCertValidNow = Rule{
		ID:        "cert.valid_now",
		Title:     "The certificate is within its validity period",
		Severity:  tlswarden.SeverityCritical,
		Rationale: `RFC 5280 §4.1.2.5: a certificate is valid from notBefore to notAfter inclusive; clients reject it outside.`,
		Check:     checkValidNow,
	}
	ruleCertExpiry = Rule{
		ID:       "cert.expiry_soon",
		Title:    "The certificate does not expire within the warning window",
		Severity: tlswarden.SeverityMedium,
		Rationale: `Operational convention (14 days by default; configurable as expiry_warning_days): ` +
			`enough time to renew before clients start failing.`,
		Check: checkExpirySoon,
	}
	ruleCertLifetimeLeft = Rule{
		ID:       "cert.lifetime_left",
		Title:    "The certificate has a fifth or more of its lifetime left",
		Severity: tlswarden.SeverityLow,
		Rationale: `Automated renewal (ACME clients) renews at a third of the lifetime left; a certificate ` +
			`below a fifth has missed its renewal, whatever its absolute lifetime (blackbox_exporter#1127).`,
		Check: checkLifetimeLeft,
	}
	ruleCertKey = Rule{
		ID:       "cert.key",
		Title:    "The certificate key is of an allowed type and size",
		Severity: tlswarden.SeverityHigh,
		Rationale: `CA/Browser Forum Baseline Requirements §6.1.5: RSA of at least 2048 bits and divisible ` +
			`by 8, or ECDSA on P-256, P-384 or P-521; Mozilla 6.0 modern allows only ECDSA (P-256, P-384); ` +
			`NIST SP 800-52r2 §3.2.`,
		Check: checkCertKey,
	}
	ruleCertSigAlg = Rule{
		ID:       "cert.sig_alg",
		Title:    "No certificate in the chain is signed with MD5 or SHA-1",
		Severity: tlswarden.SeverityHigh,
		Rationale: `MD5 and SHA-1 signatures can be forged (chosen-prefix collisions); browsers and Go ` +
			`(since 1.18) reject SHA-1 certificates. NIST SP 800-52r2 §3.2 asks for SHA-256 or stronger.`,
		Check: checkSigAlg,
	}
	ruleCertSigAllowlist = Rule{
		ID:        "cert.sig_allowlist",
		Title:     "The leaf signature algorithm is within the profile's list",
		Severity:  tlswarden.SeverityMedium,
		Rationale: `Mozilla Server Side TLS certificate_signatures (6.0 intermediate: sha256WithRSAEncryption, ecdsa-with-SHA256/384/512).`,
		Check:     checkSigAllowlist,
	}
	ruleCertLifespanMozilla = Rule{
		ID:        "cert.lifespan_moz",
		Title:     "The certificate lifespan is within Mozilla's maximum",
		Severity:  tlswarden.SeverityInfo,
		Rationale: `Mozilla Server Side TLS maximum_certificate_lifespan: 366 days (intermediate), 90 days (modern); 90 days recommended "to encourage certificate issuance automation".`,
		Check:     checkLifespanMozilla,
	}
	ruleCertLifespanBR = Rule{
		ID:       "cert.lifespan_br",
		Title:    "A publicly-trusted certificate's validity is within the CA/B Forum maximum",
		Severity: tlswarden.SeverityHigh,
		Rationale: `CA/Browser Forum Baseline Requirements §6.3.2 (ballot SC081): 398 days for certificates ` +
			`issued before 2026-03-15, 200 until 2027-03-15, 100 until 2029-03-15, then 47; validity counts ` +
			`notBefore to notAfter inclusive. Applies only to publicly-trusted certificates.`,
		Check: checkLifespanBR,
	}
	ruleCertChainComplete = Rule{
		ID:        "cert.chain_complete",
		Title:     "The server sends the intermediates needed to verify its certificate",
		Severity:  tlswarden.SeverityMedium,
		Rationale: `Clients that do not fetch missing intermediates (most non-browser clients) fail on an incomplete chain; SSL Labs caps it at B.`,
		Check:     checkChainComplete,
	}
	ruleCertChainNoExpired = Rule{
		ID:        "cert.chain_no_expired",
		Title:     "The server sends no expired intermediate",
		Severity:  tlswarden.SeverityMedium,
		Rationale: `An expired certificate in the served chain breaks clients that build paths from it (the 2020 AddTrust and 2021 DST Root CA X3 expiries).`,
		Check:     checkChainNoExpired,
	}
	ruleCertOCSPStapled = Rule{
		ID:       "cert.ocsp_stapled",
		Title:    "The server staples an OCSP response",
		Severity: tlswarden.SeverityInfo,
		Rationale: `Informational: Mozilla lists ocsp_staple, but CA/B Forum ballot SC063 made OCSP optional ` +
			`for CAs (2024) and Let's Encrypt ended OCSP in 2025, so a missing staple is no fault.`,
		Check: checkOCSPStapled,
	}
)

// certFacts returns the certificate result and its leaf, or the
// not_evaluated result saying why there is none.
func certFacts(in *Input) (*tlswarden.CertResult, *tlswarden.Certificate, *Result) {
	cr := in.Endpoint.Cert
	if cr == nil {
		r := notEvaluated("no certificate facts: %s", probeFailure(in.Endpoint, "certificate"))
		return nil, nil, &r
	}
	leaf := cr.Leaf()
	if leaf == nil || leaf.ParseError != "" {
		r := notEvaluated("the server's certificate could not be read")
		return nil, nil, &r
	}
	return cr, leaf, nil
}

func checkTrusted(in *Input) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if !cr.Trusted {
		return fail("not trusted: %s", orDefault(cr.VerificationError, "no path to a trusted root"))
	}
	return pass("verifies to a trusted root")
}

func checkHostname(in *Input) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if cr.HostnameChecked == "" {
		return notEvaluated("no hostname was checked")
	}
	if !cr.HostnameMatches {
		return fail("does not name %s", cr.HostnameChecked)
	}
	return pass("names %s (by %s)", cr.HostnameChecked, cr.HostnameMatchedBy)
}

func checkValidNow(in *Input) Result {
	_, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	switch {
	case leaf.NotAfter.IsZero() || leaf.NotBefore.IsZero():
		return notEvaluated("the validity dates were not recorded")
	case in.Now.Before(leaf.NotBefore):
		return fail("not valid until %s", day(leaf.NotBefore))
	case in.Now.After(leaf.NotAfter):
		return fail("expired on %s", day(leaf.NotAfter))
	}
	return pass("valid until %s", day(leaf.NotAfter))
}

func checkExpirySoon(in *Input) Result {
	_, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if leaf.NotAfter.IsZero() {
		return notEvaluated("the expiry date was not recorded")
	}
	left := leaf.NotAfter.Sub(in.Now)
	days := int(left / (24 * time.Hour))
	switch {
	case left < 0:
		return fail("expired on %s", day(leaf.NotAfter))
	case days < in.Params.ExpiryWarningDays:
		return fail("expires in %d days, on %s (warning at %d)", days, day(leaf.NotAfter), in.Params.ExpiryWarningDays)
	}
	return pass("expires in %d days, on %s", days, day(leaf.NotAfter))
}

func checkLifetimeLeft(in *Input) Result {
	_, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	if leaf.NotAfter.IsZero() || life <= 0 {
		return notEvaluated("the validity dates were not recorded")
	}
	frac := float64(leaf.NotAfter.Sub(in.Now)) / float64(life)
	if frac < in.Params.MinLifetimeLeft {
		return fail("%.0f%% of its lifetime left (renew before %.0f%%)", 100*max(frac, 0), 100*in.Params.MinLifetimeLeft)
	}
	return pass("%.0f%% of its lifetime left", 100*frac)
}

func checkCertKey(in *Input) Result {
	_, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	p := in.Params
	desc := keyDesc(leaf)
	switch {
	case leaf.KeyType == "":
		return notEvaluated("the key type was not recorded")
	case len(p.CertKeyTypes) > 0 && !containsFold(p.CertKeyTypes, leaf.KeyType):
		return fail("%s key; the profile allows %s", desc, strings.Join(p.CertKeyTypes, ", "))
	case leaf.KeyType == "RSA" && (leaf.KeyBits < p.MinRSABits || leaf.KeyBits%8 != 0):
		return fail("%s key; RSA needs at least %d bits, a multiple of 8", desc, p.MinRSABits)
	case leaf.KeyType == "ECDSA" && len(p.CertCurves) > 0 && !containsFold(p.CertCurves, leaf.Curve):
		return fail("%s key; the profile allows curves %s", desc, strings.Join(p.CertCurves, ", "))
	case leaf.KeyType != "RSA" && leaf.KeyType != "ECDSA" && len(p.CertKeyTypes) == 0:
		return fail("%s key; only RSA and ECDSA are allowed", desc)
	}
	return pass("%s key", desc)
}

func keyDesc(c *tlswarden.Certificate) string {
	if c.Curve != "" {
		return c.KeyType + " " + c.Curve
	}
	return fmt.Sprintf("%s %d-bit", c.KeyType, c.KeyBits)
}

// weakSignature reports an MD2, MD5 or SHA-1 signature algorithm.
func weakSignature(alg string) bool {
	a := strings.ToUpper(alg)
	return strings.Contains(a, "MD5") || strings.Contains(a, "MD2") || strings.Contains(a, "SHA1")
}

func checkSigAlg(in *Input) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	var weak []string
	for i, c := range cr.Chain {
		// A self-signed root's own signature is never checked by clients.
		if i > 0 && c.SelfSigned || c.ParseError != "" {
			continue
		}
		if weakSignature(c.SignatureAlgorithm) {
			weak = append(weak, fmt.Sprintf("certificate %d (%s) signed with %s", i+1, c.Subject, c.SignatureAlgorithm))
		}
	}
	if len(weak) > 0 {
		return fail("%s", strings.Join(weak, "; "))
	}
	return pass("leaf signed with %s", cr.Chain[0].SignatureAlgorithm)
}

func checkSigAllowlist(in *Input) Result {
	_, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	allowed := in.Params.CertSignatures
	switch {
	case allowed == nil:
		return notApplicable("the profile lists no signature algorithms")
	case !containsFold(allowed, leaf.SignatureAlgorithm):
		return fail("signed with %s; the profile allows %s", leaf.SignatureAlgorithm, strings.Join(allowed, ", "))
	}
	return pass("signed with %s", leaf.SignatureAlgorithm)
}

// validity is the RFC 5280 validity period: notBefore to notAfter, both
// ends inclusive, so one second longer than their difference.
func validity(c *tlswarden.Certificate) time.Duration {
	return c.NotAfter.Sub(c.NotBefore) + time.Second
}

// days writes a period in days of 86,400 seconds, with any remainder.
func days(d time.Duration) string {
	whole, rest := d/(24*time.Hour), d%(24*time.Hour)
	if rest == 0 {
		return fmt.Sprintf("%d days", whole)
	}
	return fmt.Sprintf("%d days and %s", whole, rest)
}

func checkLifespanMozilla(in *Input) Result {
	_, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	max := in.Params.MaxCertLifespanDays
	if leaf.NotAfter.IsZero() {
		return notEvaluated("the validity dates were not recorded")
	}
	period := validity(leaf)
	if period > time.Duration(max)*24*time.Hour {
		return fail("valid for %s; the profile's maximum is %d days", days(period), max)
	}
	return pass("valid for %s", days(period))
}

// brMaxDays returns the CA/B Forum maximum validity, in days, for a
// certificate issued at notBefore (Baseline Requirements §6.3.2).
func brMaxDays(notBefore time.Time) int {
	switch {
	case notBefore.Before(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)):
		return 398
	case notBefore.Before(time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC)):
		return 200
	case notBefore.Before(time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC)):
		return 100
	}
	return 47
}

func checkLifespanBR(in *Input) Result {
	cr, leaf, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if r := brScope(in, cr); r != nil {
		return *r
	}
	if leaf.NotAfter.IsZero() {
		return notEvaluated("the validity dates were not recorded")
	}
	max := brMaxDays(leaf.NotBefore)
	period := validity(leaf)
	if period > time.Duration(max)*24*time.Hour {
		return fail("valid for %s; issued %s, the maximum is %d days", days(period), day(leaf.NotBefore), max)
	}
	return pass("valid for %s (maximum %d days)", days(period), max)
}

// brScope returns the not_applicable result of a rule derived from the
// CA/Browser Forum's Baseline Requirements for a chain they do not govern:
// one not trusted, or anchored only at an organisation's own root (unless
// the profile sets br_rules_for_private_roots). It returns nil when the
// rule applies.
func brScope(in *Input, cr *tlswarden.CertResult) *Result {
	var r Result
	switch {
	case !cr.Trusted:
		r = notApplicable("not a publicly-trusted certificate")
	case cr.Anchor == tlswarden.AnchorOrganisation && !in.Params.BRForPrivateRoots:
		r = notApplicable("anchored only at the organisation's own root (--ca-file): the CA/Browser Forum " +
			"Baseline Requirements govern publicly-trusted certificates (profile parameter br_rules_for_private_roots applies them)")
	default:
		return nil
	}
	return &r
}

func checkChainComplete(in *Input) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if !cr.ChainComplete {
		return fail("no path to a trusted root can be built from the %d certificates served", cr.ChainLength)
	}
	return pass("complete chain of %d certificates", cr.ChainLength)
}

func checkChainNoExpired(in *Input) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	var expired []string
	for i, c := range cr.Chain {
		if i > 0 && !c.NotAfter.IsZero() && in.Now.After(c.NotAfter) {
			expired = append(expired, fmt.Sprintf("certificate %d (%s) expired %s", i+1, c.Subject, day(c.NotAfter)))
		}
	}
	switch {
	case len(expired) > 0:
		return fail("%s", strings.Join(expired, "; "))
	case len(cr.Chain) < 2:
		return notApplicable("the server sends no intermediate")
	}
	return pass("no expired intermediate")
}

func checkOCSPStapled(in *Input) Result {
	cr, _, ne := certFacts(in)
	if ne != nil {
		return *ne
	}
	if !cr.OCSPStapled {
		return fail("no OCSP response stapled (informational)")
	}
	if cr.OCSP != nil && cr.OCSP.Status != "" {
		return pass("OCSP response stapled, status %s", cr.OCSP.Status)
	}
	return pass("OCSP response stapled")
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
