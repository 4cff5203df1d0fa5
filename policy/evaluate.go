package policy

import (
	"maps"
	"slices"
	"time"

	"github.com/tlswarden/tlswarden"
)

// Options tune an evaluation.
type Options struct {
	// Now is the time certificates and waivers are judged at. Zero means
	// the time the scan finished, so re-evaluating a stored report judges
	// certificates as they were when scanned; pass time.Now() to judge
	// waivers as of today.
	Now time.Time
	// Waivers are added to the profile's own.
	Waivers []tlswarden.Waiver
	// SSLv2Leaves names SSLv2 endpoints beyond the report's own by their
	// leaf certificate's SHA-256 (see SSLv2Leaves), for DROWN.
	SSLv2Leaves map[string]string
}

// Evaluate judges every endpoint of a report against a profile. It never
// touches the network. An endpoint is compliant when no unwaived finding
// of severity p.FailAt or above failed and every such rule could be
// evaluated; a report is as compliant as its worst endpoint, and unknown
// when the target could not be scanned.
func Evaluate(r *tlswarden.Report, p *Profile, opts Options) tlswarden.Evaluation {
	now := opts.Now
	if now.IsZero() {
		now = r.Finished
	}
	waivers := append(append([]tlswarden.Waiver{}, p.Waivers...), opts.Waivers...)
	ev := tlswarden.Evaluation{
		Profile:     p.Info(),
		EvaluatedAt: now.UTC(),
		Compliance:  tlswarden.Compliant,
		Endpoints:   []tlswarden.EndpointEvaluation{},
	}
	switch {
	case r.AcceptsNoMail():
		// Nothing crosses the internet to a domain that takes no mail.
		ev.Note = "the domain accepts no mail (null MX, RFC 7505): nothing to scan"
	case r.Status != tlswarden.StatusOK || len(r.Endpoints) == 0:
		ev.Compliance = tlswarden.ComplianceUnknown
	}
	sslv2 := SSLv2Leaves(r)
	maps.Copy(sslv2, opts.SSLv2Leaves)
	for i := range r.Endpoints {
		in := &Input{Target: r.Target, Endpoint: &r.Endpoints[i], Params: &p.Params, Now: now, SSLv2Leaves: sslv2, Peers: r.Endpoints, Mail: r.Mail}
		ee := evaluateEndpoint(in, p, waivers)
		ev.Compliance = ev.Compliance.Worse(ee.Compliance)
		ev.Endpoints = append(ev.Endpoints, ee)
		for _, id := range ee.Skipped {
			if !slices.Contains(ev.Skipped, id) {
				ev.Skipped = append(ev.Skipped, id)
			}
		}
	}
	return ev
}

func evaluateEndpoint(in *Input, p *Profile, waivers []tlswarden.Waiver) tlswarden.EndpointEvaluation {
	ee := tlswarden.EndpointEvaluation{Endpoint: in.Endpoint.Endpoint, Findings: []tlswarden.Finding{}}
	for _, pr := range p.Rules {
		f := judge(in, &pr)
		applyWaiver(&f, in, waivers)
		ee.Findings = append(ee.Findings, f)
		if f.Outcome == tlswarden.RuleSkipped {
			ee.Skipped = append(ee.Skipped, f.RuleID)
		}
	}
	ee.Compliance = compliance(ee.Findings, p.FailAt)
	ee.Grade = GradeTLS(in.Endpoint, in.Now)
	capSharedKey(ee.Grade, in)
	ee.Headers = ScoreHeaders(in.Endpoint)
	return ee
}

// judge runs one rule and turns its result into a finding. A Check that
// claims a pass on an endpoint with no facts at all is overruled: "not
// tested" is never "absent".
func judge(in *Input, pr *ProfileRule) tlswarden.Finding {
	res := runCheck(in, pr.Rule)
	e := in.Endpoint
	noFacts := e.TLS == nil && e.Cert == nil && e.HTTP == nil
	if res.Outcome == "" || res.Outcome == tlswarden.RulePass && noFacts {
		res = notEvaluated("no facts were gathered for this endpoint")
	}
	return tlswarden.Finding{
		RuleID:   pr.Rule.ID,
		Title:    pr.Rule.Title,
		Severity: pr.Severity,
		Outcome:  res.Outcome,
		Message:  res.Message,
	}
}

// runCheck runs a rule's check: a certificate rule on every chain the
// endpoint serves (checkEveryChain).
func runCheck(in *Input, r *Rule) Result {
	if certRule(r.ID) && in.Endpoint.Cert != nil {
		return checkEveryChain(in, r.Check)
	}
	return r.Check(in)
}

// applyWaiver marks a failed finding waived when an active waiver names
// its target and rule, and attaches any waiver naming them, expired or not.
func applyWaiver(f *tlswarden.Finding, in *Input, waivers []tlswarden.Waiver) {
	for i := range waivers {
		w := &waivers[i]
		if w.Rule != f.RuleID || !w.Covers(in.Target) {
			continue
		}
		active := w.Active(in.Now)
		if f.Waiver == nil || active {
			f.Waiver = w
		}
		if active && f.Outcome == tlswarden.RuleFail {
			f.Waived = true
		}
	}
}

// compliance is the verdict on one endpoint's findings.
func compliance(fs []tlswarden.Finding, failAt tlswarden.Severity) tlswarden.Compliance {
	c := tlswarden.Compliant
	for i := range fs {
		f := &fs[i]
		switch {
		case f.Counts(failAt):
			return tlswarden.NonCompliant
		case f.Outcome == tlswarden.RuleNotEvaluated && f.Severity >= failAt:
			c = tlswarden.ComplianceUnknown
		}
	}
	return c
}
