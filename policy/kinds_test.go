package policy

import (
	"slices"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

var httpRules = []string{"http.https_redirect", "http.hsts", "http.hsts_preload_ready", "http.header_score"}

// TestHTTPRulesByKind: a TLS service that speaks no HTTP is judged on TLS
// and its certificate alone, and is compliant when they are sound.
func TestHTTPRulesByKind(t *testing.T) {
	for _, kind := range []tlswarden.Kind{tlswarden.KindTLS, tlswarden.KindIMAPS, tlswarden.KindSMTP} {
		r := report(good(func(e *tlswarden.EndpointReport) {
			e.HTTP = nil
			if kind.StartTLS() {
				e.Service = &tlswarden.ServiceResult{Kind: kind, StartTLS: true, Status: tlswarden.StatusOK}
			}
		})())
		r.Target.Kind = kind
		ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
		if ev.Compliance != tlswarden.Compliant {
			t.Errorf("%s: compliance %s, want compliant: %+v", kind, ev.Compliance, ev.Endpoints[0].Findings)
		}
		for _, id := range httpRules {
			if f := findingOf(t, &ev.Endpoints[0], id); f.Outcome != tlswarden.RuleNotApplicable {
				t.Errorf("%s: %s is %s (%s), want not_applicable", kind, id, f.Outcome, f.Message)
			}
		}
	}
}

// TestHTTPRulesSkipped: --no-http on an https target leaves the HTTP rules
// out, saying so in the outcome and beside the verdict; it never reads as
// a pass of those rules, and without the skip the same facts are unknown.
func TestHTTPRulesSkipped(t *testing.T) {
	skipped := good(func(e *tlswarden.EndpointReport) {
		e.HTTP = nil
		e.Probes = []tlswarden.ProbeStatus{{Name: "tls", Status: tlswarden.StatusOK}, {Name: "http", Status: tlswarden.StatusSkipped, Error: "skipped at the user's request (--no-http)"}}
	})
	ev := Evaluate(report(skipped()), mustBuiltin(t, DefaultProfile), Options{})
	if ev.Compliance != tlswarden.Compliant {
		t.Errorf("compliance %s, want compliant (TLS and certificate are sound)", ev.Compliance)
	}
	if !slices.Equal(ev.Skipped, httpRules) || !slices.Equal(ev.Endpoints[0].Skipped, httpRules) {
		t.Errorf("skipped rules %v / %v, want %v", ev.Skipped, ev.Endpoints[0].Skipped, httpRules)
	}
	for _, id := range httpRules {
		if f := findingOf(t, &ev.Endpoints[0], id); f.Outcome != tlswarden.RuleSkipped {
			t.Errorf("%s is %s, want skipped", id, f.Outcome)
		}
	}
	missing := good(func(e *tlswarden.EndpointReport) { e.HTTP = nil })
	ev = Evaluate(report(missing()), mustBuiltin(t, DefaultProfile), Options{})
	if ev.Compliance != tlswarden.ComplianceUnknown || len(ev.Skipped) != 0 {
		t.Errorf("HTTP facts missing without a skip: %s, skipped %v; want unknown, none", ev.Compliance, ev.Skipped)
	}
}

func findingOf(t *testing.T, ee *tlswarden.EndpointEvaluation, id string) tlswarden.Finding {
	t.Helper()
	for _, f := range ee.Findings {
		if f.RuleID == id {
			return f
		}
	}
	t.Fatalf("no finding for %s", id)
	return tlswarden.Finding{}
}

// TestStartTLSOffered: a STARTTLS service that does not offer it is
// non-compliant though no TLS fact could be gathered; one that does passes.
func TestStartTLSOffered(t *testing.T) {
	for _, tc := range []struct {
		name string
		svc  *tlswarden.ServiceResult
		tls  bool
		want tlswarden.RuleOutcome
		comp tlswarden.Compliance
	}{
		{"offered", &tlswarden.ServiceResult{Kind: tlswarden.KindSMTP, StartTLS: true, Status: tlswarden.StatusOK}, true, tlswarden.RulePass, tlswarden.Compliant},
		{"not offered", &tlswarden.ServiceResult{Kind: tlswarden.KindSMTP, Status: tlswarden.StatusOK, Reply: "250 8BITMIME"}, false, tlswarden.RuleFail, tlswarden.NonCompliant},
		{"exchange failed", &tlswarden.ServiceResult{Kind: tlswarden.KindSMTP, Status: tlswarden.StatusTimeout}, false, tlswarden.RuleNotEvaluated, tlswarden.ComplianceUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good(func(e *tlswarden.EndpointReport) {
				e.HTTP, e.Service = nil, tc.svc
				if !tc.tls {
					e.TLS, e.Cert = nil, nil
				}
			})()
			r := report(e)
			r.Target.Kind = tlswarden.KindSMTP
			ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
			if f := findingOf(t, &ev.Endpoints[0], "starttls.offered"); f.Outcome != tc.want {
				t.Errorf("starttls.offered %s (%s), want %s", f.Outcome, f.Message, tc.want)
			}
			if ev.Compliance != tc.comp {
				t.Errorf("compliance %s, want %s", ev.Compliance, tc.comp)
			}
		})
	}
	ev := Evaluate(report(good(nil)()), mustBuiltin(t, DefaultProfile), Options{})
	if f := findingOf(t, &ev.Endpoints[0], "starttls.offered"); f.Outcome != tlswarden.RuleNotApplicable {
		t.Errorf("https: starttls.offered %s, want not_applicable", f.Outcome)
	}
}

// TestNullMXAcceptsNoMail: a mail domain with a null MX has no endpoint,
// yet a clear verdict (compliant, with a note); the same report without
// the null MX is unknown, as any report with no endpoint is.
func TestNullMXAcceptsNoMail(t *testing.T) {
	r := &tlswarden.Report{Target: tlswarden.Target{Host: "example.org", Port: 25, Kind: tlswarden.KindMail}, Status: tlswarden.StatusOK,
		Mail: &tlswarden.MailResult{Domain: "example.org", MXOutcome: tlswarden.OutcomeOK, NullMX: true}, Endpoints: []tlswarden.EndpointReport{}}
	ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
	if ev.Compliance != tlswarden.Compliant || !strings.Contains(ev.Note, "accepts no mail") {
		t.Errorf("null MX: compliance %s, note %q; want compliant, accepts no mail", ev.Compliance, ev.Note)
	}
	r.Mail.NullMX = false
	if ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{}); ev.Compliance != tlswarden.ComplianceUnknown || ev.Note != "" {
		t.Errorf("no endpoint, no null MX: compliance %s, note %q; want unknown", ev.Compliance, ev.Note)
	}
}

// TestMailRules: the MTA-STS rules judge a mail domain's endpoints by the
// domain's policy, and concern no other kind.
func TestMailRules(t *testing.T) {
	enforce := &tlswarden.MTASTSResult{RecordOutcome: tlswarden.OutcomeOK, Record: "v=STSv1; id=1", ID: "1",
		Policy: &tlswarden.MTASTSPolicy{Version: "STSv1", Mode: "enforce", MaxAge: 86400, MX: []string{"*.example.org"}}}
	testing_ := &tlswarden.MTASTSResult{RecordOutcome: tlswarden.OutcomeOK, Record: "v=STSv1; id=1", ID: "1",
		Policy: &tlswarden.MTASTSPolicy{Version: "STSv1", Mode: "testing", MaxAge: 86400, MX: []string{"mx.example.org"}}, MXUnmatched: []string{"mx.example.org"}}
	for _, tc := range []struct {
		name     string
		sts      *tlswarden.MTASTSResult
		badCert  bool
		want     [3]tlswarden.RuleOutcome // enforce, mx, cert
		wantComp tlswarden.Compliance
	}{
		{"enforce", enforce, false, [3]tlswarden.RuleOutcome{tlswarden.RulePass, tlswarden.RulePass, tlswarden.RulePass}, tlswarden.Compliant},
		{"enforce, wrong name", enforce, true, [3]tlswarden.RuleOutcome{tlswarden.RulePass, tlswarden.RulePass, tlswarden.RuleFail}, tlswarden.NonCompliant},
		{"testing, MX left out", testing_, false, [3]tlswarden.RuleOutcome{tlswarden.RuleFail, tlswarden.RuleFail, tlswarden.RulePass}, tlswarden.NonCompliant},
		{"no record", &tlswarden.MTASTSResult{RecordOutcome: tlswarden.OutcomeNXDomain}, true, [3]tlswarden.RuleOutcome{tlswarden.RuleFail, tlswarden.RuleNotApplicable, tlswarden.RuleNotApplicable}, ""},
		{"query failed", &tlswarden.MTASTSResult{RecordOutcome: tlswarden.OutcomeServFail, RecordError: "SERVFAIL"}, false, [3]tlswarden.RuleOutcome{tlswarden.RuleNotEvaluated, tlswarden.RuleNotApplicable, tlswarden.RuleNotApplicable}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good(func(e *tlswarden.EndpointReport) {
				e.HTTP = nil
				e.Service = &tlswarden.ServiceResult{Kind: tlswarden.KindSMTP, StartTLS: true, Status: tlswarden.StatusOK}
				e.Endpoint.Host = "mx.example.org"
				if tc.badCert {
					e.Cert.HostnameMatches = false
				}
			})()
			r := report(e)
			r.Target = tlswarden.Target{Host: "example.org", Port: 25, Kind: tlswarden.KindMail}
			r.Mail = &tlswarden.MailResult{Domain: "example.org", MXOutcome: tlswarden.OutcomeOK, MX: []tlswarden.MXHost{{Preference: 10, Host: "mx.example.org"}}, MTASTS: tc.sts}
			ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
			for i, id := range []string{"mail.mta_sts_enforce", "mail.mta_sts_mx", "mail.cert_valid_for_mx"} {
				if f := findingOf(t, &ev.Endpoints[0], id); f.Outcome != tc.want[i] {
					t.Errorf("%s %s (%s), want %s", id, f.Outcome, f.Message, tc.want[i])
				}
			}
			if tc.wantComp != "" && ev.Compliance != tc.wantComp {
				t.Errorf("compliance %s, want %s", ev.Compliance, tc.wantComp)
			}
		})
	}
	ev := Evaluate(report(good(nil)()), mustBuiltin(t, DefaultProfile), Options{})
	if f := findingOf(t, &ev.Endpoints[0], "mail.mta_sts_enforce"); f.Outcome != tlswarden.RuleNotApplicable {
		t.Errorf("https: mail.mta_sts_enforce %s, want not_applicable", f.Outcome)
	}
}

// TestDANERule: an MX host's chain is matched against its authenticated
// TLSA records; records not authenticated are not judged.
func TestDANERule(t *testing.T) {
	for _, tc := range []struct {
		name string
		tlsa *tlswarden.TLSAResult
		want tlswarden.RuleOutcome
	}{
		{"EE key matches", &tlswarden.TLSAResult{Outcome: tlswarden.OutcomeOK, AD: true, Authenticated: true,
			Records: []tlswarden.TLSARecord{{Usage: 3, Selector: 1, MatchingType: 1, Data: "aa11"}}}, tlswarden.RulePass},
		{"TA certificate matches", &tlswarden.TLSAResult{Outcome: tlswarden.OutcomeOK, AD: true, Authenticated: true,
			Records: []tlswarden.TLSARecord{{Usage: 2, Selector: 0, MatchingType: 1, Data: "cc33"}}}, tlswarden.RulePass},
		{"EE on the CA does not match", &tlswarden.TLSAResult{Outcome: tlswarden.OutcomeOK, AD: true, Authenticated: true,
			Records: []tlswarden.TLSARecord{{Usage: 3, Selector: 0, MatchingType: 1, Data: "cc33"}}}, tlswarden.RuleFail},
		{"not authenticated", &tlswarden.TLSAResult{Outcome: tlswarden.OutcomeOK, AD: true,
			Records: []tlswarden.TLSARecord{{Usage: 3, Selector: 1, MatchingType: 1, Data: "ffff"}}}, tlswarden.RuleNotApplicable},
		{"PKIX usage ignored", &tlswarden.TLSAResult{Outcome: tlswarden.OutcomeOK, AD: true, Authenticated: true,
			Records: []tlswarden.TLSARecord{{Usage: 1, Selector: 1, MatchingType: 1, Data: "ffff"}}}, tlswarden.RuleNotApplicable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good(func(e *tlswarden.EndpointReport) {
				e.HTTP = nil
				e.Endpoint.Host = "mx.example.org"
				e.Cert.Chain = []tlswarden.Certificate{{SHA256: "bb22", SPKISHA256: "aa11"}, {SHA256: "cc33", SPKISHA256: "dd44"}}
			})()
			r := report(e)
			r.Target = tlswarden.Target{Host: "example.org", Port: 25, Kind: tlswarden.KindMail}
			r.Mail = &tlswarden.MailResult{Domain: "example.org", MX: []tlswarden.MXHost{{Preference: 10, Host: "mx.example.org", TLSA: tc.tlsa}}}
			ev := Evaluate(r, mustBuiltin(t, DefaultProfile), Options{})
			if f := findingOf(t, &ev.Endpoints[0], "mail.dane_tlsa_match"); f.Outcome != tc.want {
				t.Errorf("mail.dane_tlsa_match %s (%s), want %s", f.Outcome, f.Message, tc.want)
			}
		})
	}
}
