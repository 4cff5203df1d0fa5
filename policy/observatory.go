package policy

import (
	"github.com/tlswarden/tlswarden"
)

// ObservatoryAlgorithm names the header-scoring algorithm re-implemented
// here: the MDN HTTP Observatory's, version 6.
const ObservatoryAlgorithm = "mdn-http-observatory/v6"

// observatoryTest is one of the Observatory's twelve tests: it returns the
// result name, its modifier and its pass flag, or evaluated false when the
// probe does not gather the facts it needs.
type observatoryTest struct {
	name string
	run  func(e *tlswarden.EndpointReport) obsResult
}

type obsResult struct {
	result    string
	modifier  int
	pass      bool
	evaluated bool
}

func ok(result string, modifier int) obsResult { return obsResult{result, modifier, true, true} }

func bad(result string, modifier int) obsResult { return obsResult{result, modifier, false, true} }

func unknown(result string) obsResult { return obsResult{result: result} }

// observatoryTests lists the tests in the Observatory's order (ALL_TESTS).
var observatoryTests = []observatoryTest{
	{"content-security-policy", obsCSP},
	{"cookies", obsCookies},
	{"cross-origin-resource-sharing", obsCORS},
	{"redirection", obsRedirection},
	{"referrer-policy", obsReferrer},
	{"strict-transport-security", obsHSTS},
	{"subresource-integrity", obsSRI},
	{"x-content-type-options", obsXCTO},
	{"x-frame-options", obsXFO},
	{"cross-origin-resource-policy", obsCORP},
	{"cross-origin-opener-policy", obsCOOP},
	{"cross-origin-embedder-policy", obsCOEP},
}

// extraCreditFloor is MINIMUM_SCORE_FOR_EXTRA_CREDIT: bonuses count only
// when the score without them is at least this.
const extraCreditFloor = 90

// ScoreHeaders scores an endpoint's HTTP security headers with the MDN
// HTTP Observatory's v6 algorithm: start at 100, add every test's
// modifier, but add the bonuses only when the score with the penalties
// alone is 90 or more; floor 0, no ceiling. It returns nil when there are
// no HTTP facts, and a score with Error set when the Observatory would
// not score the response (none, or a status other than 2xx, 3xx, 401 or
// 403). Tests whose facts the probe does not gather count as zero and are
// marked not evaluated; docs/grading.md lists them.
func ScoreHeaders(e *tlswarden.EndpointReport) *tlswarden.HeaderScore {
	h := e.HTTP
	if h == nil {
		return nil
	}
	hs := &tlswarden.HeaderScore{Algorithm: ObservatoryAlgorithm, Tests: []tlswarden.HeaderTest{}}
	if c := h.StatusCode; c == 0 || !(c >= 200 && c < 400 || c == 401 || c == 403) {
		hs.Error = "no scorable response (the Observatory scores 2xx, 3xx, 401 and 403 responses only)"
		return hs
	}
	penalties, bonuses := 0, 0
	for _, t := range observatoryTests {
		r := t.run(e)
		if r.result == "" {
			r.result = "not_evaluated"
		}
		hs.Tests = append(hs.Tests, tlswarden.HeaderTest{Name: t.name, Result: r.result, Modifier: r.modifier, Pass: r.pass, Evaluated: r.evaluated})
		if r.modifier < 0 {
			penalties += r.modifier
		} else {
			bonuses += r.modifier
		}
	}
	score := 100 + penalties
	if score >= extraCreditFloor {
		score += bonuses
	}
	hs.Score = max(score, 0)
	hs.Grade = observatoryGrade(hs.Score)
	return hs
}

// observatoryGrade is the Observatory's GRADE_CHART, applied to the score
// rounded down to a multiple of 5 and capped at 100.
func observatoryGrade(score int) string {
	s := min(score-score%5, 100)
	switch {
	case s >= 100:
		return "A+"
	case s >= 90:
		return "A"
	case s >= 85:
		return "A-"
	case s >= 80:
		return "B+"
	case s >= 70:
		return "B"
	case s >= 65:
		return "B-"
	case s >= 60:
		return "C+"
	case s >= 50:
		return "C"
	case s >= 45:
		return "C-"
	case s >= 40:
		return "D+"
	case s >= 30:
		return "D"
	case s >= 25:
		return "D-"
	}
	return "F"
}

// hstsMaxAge returns the Strict-Transport-Security max-age the HTTP probe
// saw, 0 when there was no valid header, and -1 when there are no HTTP
// facts.
func hstsMaxAge(h *tlswarden.HTTPResult) int64 {
	switch {
	case h == nil || h.StatusCode == 0:
		return -1
	case h.HSTS == nil || !h.HSTS.Valid:
		return 0
	}
	return h.HSTS.MaxAge
}
