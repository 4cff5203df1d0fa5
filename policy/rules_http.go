package policy

import (
	"strings"

	"github.com/tlswarden/tlswarden"
)

// HTTP rules.
var (
	ruleHSTS = Rule{
		ID:       "http.hsts",
		Title:    "Strict-Transport-Security is set with a long enough max-age",
		Severity: tlswarden.SeverityHigh,
		Rationale: `HSTS stops downgrade to plain HTTP after the first visit. GOV.UK service manual asks for ` +
			`it (max-age of a year, 31536000, by default); Mozilla Server Side TLS hsts_min_age is 63072000 ` +
			`(two years); the Observatory penalises less than six months.`,
		Check: checkHSTS,
	}
	ruleHTTPSRedirect = Rule{
		ID:       "http.https_redirect",
		Title:    "Plain HTTP redirects straight to HTTPS on the same host",
		Severity: tlswarden.SeverityHigh,
		Rationale: `Internet First asks that services be securely accessible by default; the first hop must ` +
			`go to https:// on the same name for HSTS to be set (hstspreload.org; Observatory ` +
			`"redirection"). Nothing listening on port 80 also passes.`,
		Check: checkHTTPSRedirect,
	}
	ruleHSTSPreload = Rule{
		ID:        "http.hsts_preload_ready",
		Title:     "HSTS meets the preload list's criteria",
		Severity:  tlswarden.SeverityInfo,
		Rationale: `hstspreload.org: max-age of at least a year, includeSubDomains and preload.`,
		Check:     checkHSTSPreload,
	}
	ruleHeaderScore = Rule{
		ID:       "http.header_score",
		Title:    "The HTTP security-header score reaches the minimum",
		Severity: tlswarden.SeverityMedium,
		Rationale: `MDN HTTP Observatory algorithm v6 (twelve tests), re-implemented from its published ` +
			`tables; 70 (grade B) by default, tunable as min_header_score.`,
		Check: checkHeaderScore,
	}
)

// httpFacts returns the HTTP result when the target speaks HTTPS and a
// response arrived, or the result saying why not.
func httpFacts(in *Input) (*tlswarden.HTTPResult, *Result) {
	if !in.Target.Kind.SpeaksHTTP() {
		r := notApplicable("a %s target does not speak HTTP", in.Target.Kind)
		return nil, &r
	}
	h := in.Endpoint.HTTP
	if h == nil && probeSkipped(in.Endpoint, "http") {
		r := Result{tlswarden.RuleSkipped, "skipped at the user's request: the HTTP probe did not run (--no-http)"}
		return nil, &r
	}
	if h == nil {
		r := notEvaluated("no HTTP facts: %s", probeFailure(in.Endpoint, "http"))
		return nil, &r
	}
	if h.StatusCode == 0 {
		r := notEvaluated("no HTTP response arrived")
		return nil, &r
	}
	return h, nil
}

func checkHSTS(in *Input) Result {
	h, res := httpFacts(in)
	if res != nil {
		return *res
	}
	s, min := h.HSTS, in.Params.HSTSMinMaxAge
	switch {
	case s == nil:
		return fail("no Strict-Transport-Security header")
	case !s.Valid:
		return fail("invalid Strict-Transport-Security: %s", orDefault(strings.Join(s.Problems, "; "), "browsers ignore it"))
	case s.MaxAge < min:
		return fail("max-age=%d, below %d", s.MaxAge, min)
	}
	return pass("max-age=%d", s.MaxAge)
}

func checkHTTPSRedirect(in *Input) Result {
	h, res := httpFacts(in)
	if res != nil {
		return *res
	}
	p := h.Plain
	switch {
	case p == nil:
		return notEvaluated("plain HTTP was not checked")
	case !p.Listening:
		return pass("nothing listens for plain HTTP")
	case p.Status != tlswarden.StatusOK:
		return notEvaluated("plain HTTP ended with %s%s", p.Status, errSuffix(p.Error))
	case p.FirstRedirectHTTPSSameHost:
		return pass("%s redirects to https:// on the same host", p.URL)
	case len(p.Redirects) == 0:
		return fail("%s answers %d without redirecting to HTTPS", p.URL, p.StatusCode)
	}
	return fail("%s first redirects to %s, not to https:// on the same host", p.URL, orDefault(p.Redirects[0].Target, p.Redirects[0].Location))
}

func checkHSTSPreload(in *Input) Result {
	h, res := httpFacts(in)
	if res != nil {
		return *res
	}
	s := h.HSTS
	var missing []string
	switch {
	case s == nil || !s.Valid:
		return fail("no valid Strict-Transport-Security header")
	case s.MaxAge < 31536000:
		missing = append(missing, "max-age of at least 31536000")
	}
	if !s.IncludeSubDomains {
		missing = append(missing, "includeSubDomains")
	}
	if !s.Preload {
		missing = append(missing, "preload")
	}
	if len(missing) > 0 {
		return fail("lacks %s", strings.Join(missing, ", "))
	}
	return pass("max-age=%d; includeSubDomains; preload", s.MaxAge)
}

func checkHeaderScore(in *Input) Result {
	if _, res := httpFacts(in); res != nil {
		return *res
	}
	hs := ScoreHeaders(in.Endpoint)
	switch {
	case hs.Error != "":
		return notEvaluated("%s", hs.Error)
	case hs.Score < in.Params.MinHeaderScore:
		return fail("score %d (%s), below %d%s", hs.Score, hs.Grade, in.Params.MinHeaderScore, failedTests(hs))
	}
	return pass("score %d (%s)", hs.Score, hs.Grade)
}

// failedTests lists the Observatory tests that lost points.
func failedTests(hs *tlswarden.HeaderScore) string {
	var names []string
	for _, t := range hs.Tests {
		if t.Modifier < 0 {
			names = append(names, t.Result)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return ": " + joinShort(names, 5)
}

// observatoryRules makes one rule per Observatory test ("http.obs.cookies",
// ...), passing when the test's pass flag is set. No built-in profile
// enables them (http.header_score sums them up); a custom profile can.
func observatoryRules() []*Rule {
	rules := make([]*Rule, len(observatoryTests))
	for i, t := range observatoryTests {
		name := t.name
		rules[i] = &Rule{
			ID:        "http.obs." + name,
			Title:     "The Observatory's " + name + " test passes",
			Severity:  tlswarden.SeverityLow,
			Rationale: `MDN HTTP Observatory algorithm v6, test "` + name + `" (pass flag as in its analyzer).`,
			Check:     func(in *Input) Result { return checkObservatoryTest(in, name) },
		}
	}
	return rules
}

func checkObservatoryTest(in *Input, name string) Result {
	if _, res := httpFacts(in); res != nil {
		return *res
	}
	hs := ScoreHeaders(in.Endpoint)
	if hs.Error != "" {
		return notEvaluated("%s", hs.Error)
	}
	for _, t := range hs.Tests {
		switch {
		case t.Name != name:
		case !t.Evaluated:
			return notEvaluated("%s", t.Result)
		case t.Pass:
			return pass("%s (%+d)", t.Result, t.Modifier)
		default:
			return fail("%s (%+d)", t.Result, t.Modifier)
		}
	}
	return notEvaluated("no such test")
}
