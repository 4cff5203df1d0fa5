package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// reportView is a target's report: one scan, every endpoint in full.
type reportView struct {
	Target     store.Target
	Scan       store.Scan
	Latest     bool
	Profile    tlswarden.ProfileInfo
	Judged     bool
	Compliance string
	Endpoints  []endpointView
	HistoryURL string
	JSON       string
}

func (v *reportView) title() string   { return "Report: " + v.Target.String() }
func (v *reportView) jsonURL() string { return v.JSON }

// endpointView is one address of the target, in the order of an SSL Labs
// report: summary, protocols, suites, groups, certificates, headers, and
// the findings behind the verdict.
type endpointView struct {
	Address, Host, Status, Error string
	OK                           bool
	Compliance                   string
	Grade                        *tlswarden.Grade
	Headers                      *tlswarden.HeaderScore
	Versions                     []versionRow
	Groups                       []string
	PreferredGroup               string
	GroupsTestedWith             string
	GroupsError                  string
	Chains                       []chainView
	HTTP                         *httpView
	Clients                      *clientsView
	Attention, Passed            []findingRow
}

type versionRow struct {
	Name       string
	Answer     string // yes, no, or why it was not tested
	Supported  bool
	Bad        bool // a version no policy allows any more
	Preference string
	Suites     []suiteRow
}

type suiteRow struct {
	Code          string
	Name          string
	Strength      string // strong, weak, insecure
	ForwardSecret bool
	KeyExchange   string
}

type chainView struct {
	Trusted           bool
	VerificationError string
	HostnameChecked   string
	HostnameMatches   bool
	Complete, Ordered bool
	OCSPStapled       bool
	Certs             []certRow
}

type certRow struct {
	Subject, Issuer, Key, Signature string
	NotAfter                        string
	DaysLeft                        int64
	Expired, NotYetValid            bool
	SelfSigned                      bool
	Names                           string
}

type httpView struct {
	URL     string
	Status  int
	Headers []headerRow
}

type headerRow struct {
	Name, Meaning string
	Values        []string
	Present       bool
}

type findingRow struct {
	Rule, Title, Severity, Outcome, Message, Rationale string
	Waived                                             bool
	Waiver                                             *waiverRow
}

type waiverRow struct {
	Reason, Expires string
	Active          bool
}

func (s *Server) targetReport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := s.cfg.Store.GetTarget(r.Context(), id)
	if err != nil {
		return err
	}
	if t.LatestScanID == 0 {
		v := &reportView{Target: t, HistoryURL: fmt.Sprintf("/targets/%d/history", t.ID), JSON: fmt.Sprintf("/api/v1/targets/%d", t.ID)}
		s.render(w, r, http.StatusOK, "report", v)
		return nil
	}
	return s.renderScan(w, r, t, t.LatestScanID)
}

func (s *Server) scanReport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc, err := s.cfg.Store.GetScan(r.Context(), id)
	if err != nil {
		return err
	}
	t, err := s.cfg.Store.GetTarget(r.Context(), sc.TargetID)
	if err != nil {
		return err
	}
	return s.renderScan(w, r, t, id)
}

func (s *Server) renderScan(w http.ResponseWriter, r *http.Request, t store.Target, scanID int64) error {
	sc, err := s.cfg.Store.GetScan(r.Context(), scanID)
	if err != nil {
		return err
	}
	res, err := s.cfg.Store.GetScanResult(r.Context(), scanID)
	if err != nil {
		return err
	}
	v := buildReport(t, sc, &res)
	s.render(w, r, http.StatusOK, "report", v)
	return nil
}

func buildReport(t store.Target, sc store.Scan, res *store.ScanResult) *reportView {
	v := &reportView{Target: t, Scan: sc, Latest: sc.ID == t.LatestScanID, Compliance: "not judged",
		HistoryURL: fmt.Sprintf("/targets/%d/history", t.ID), JSON: fmt.Sprintf("/api/v1/scans/%d/result", sc.ID)}
	ev := res.Evaluation
	if ev != nil {
		v.Judged, v.Profile, v.Compliance = true, ev.Profile, complianceWord(ev.Compliance)
	}
	for i := range res.Report.Endpoints {
		var ee *tlswarden.EndpointEvaluation
		if ev != nil && i < len(ev.Endpoints) {
			ee = &ev.Endpoints[i]
		}
		ep := buildEndpoint(&res.Report.Endpoints[i], ee, evaluatedAt(ev))
		if c := res.Report.Endpoints[i].Clients; c != nil {
			ep.Clients = clientsOf(c, v.Profile.RequiredClients)
		}
		v.Endpoints = append(v.Endpoints, ep)
	}
	return v
}

// evaluatedAt is when the evaluation judged waivers' expiry.
func evaluatedAt(ev *tlswarden.Evaluation) time.Time {
	if ev == nil {
		return time.Time{}
	}
	return ev.EvaluatedAt
}

func buildEndpoint(e *tlswarden.EndpointReport, ee *tlswarden.EndpointEvaluation, at time.Time) endpointView {
	v := endpointView{Address: e.Endpoint.Addr.String(), Host: e.Endpoint.Host, Status: string(e.Status), Error: e.Error,
		OK: e.Status == tlswarden.StatusOK, Compliance: "not judged"}
	if tr := e.TLS; tr != nil {
		v.Versions = versionRows(tr)
		for _, g := range tr.Groups {
			v.Groups = append(v.Groups, g.Name)
		}
		v.PreferredGroup, v.GroupsError = tr.PreferredGroup, tr.GroupsError
		if tr.GroupsTestedWith != 0 {
			v.GroupsTestedWith = tr.GroupsTestedWith.String()
		}
	}
	for _, c := range e.Cert.Chains() { // the primary chain, then one per other key type
		v.Chains = append(v.Chains, chainOf(c))
	}
	if e.HTTP != nil {
		v.HTTP = httpOf(e.HTTP)
	}
	if ee != nil {
		v.Attention, v.Passed = findingRows(ee.Findings, at)
		v.Compliance, v.Grade, v.Headers = complianceWord(ee.Compliance), ee.Grade, ee.Headers
	}
	return v
}

func versionRows(tr *tlswarden.TLSResult) []versionRow {
	var out []versionRow
	for _, vr := range tr.Versions {
		row := versionRow{Name: vr.Version.String(), Supported: vr.Supported, Answer: "no", Preference: string(vr.Preference),
			Bad: vr.Supported && vr.Version < tlswarden.TLS12}
		switch {
		case vr.Supported:
			row.Answer = "yes"
		case vr.Status != "" && vr.Status != tlswarden.StatusOK:
			row.Answer = "not tested (" + string(vr.Status) + ")"
		}
		for _, su := range vr.Suites {
			row.Suites = append(row.Suites, suiteOf(su))
		}
		out = append(out, row)
	}
	return out
}

// suiteOf classes a suite as SSL Labs' report colours it: AEAD with
// forward secrecy is strong, CBC or no forward secrecy weak, and what no
// policy accepts (RC4, DES, 3DES, export, anonymous, null) insecure.
func suiteOf(su tlswarden.Suite) suiteRow {
	row := suiteRow{Code: fmt.Sprintf("0x%04X", su.Code), Name: su.Name, Strength: "weak"}
	cs, ok := iana.Suite(su.Code)
	if !ok {
		return row
	}
	row.ForwardSecret = cs.ForwardSecret()
	switch c := cs.Class(); {
	case c == "aead" && row.ForwardSecret:
		row.Strength = "strong"
	case c == "null" || c == "anon" || c == "export" || c == "des" || c == "rc4" || c == "3des":
		row.Strength = "insecure"
	}
	switch {
	case su.Group != "":
		row.KeyExchange = su.Group
	case su.DHBits > 0:
		row.KeyExchange = fmt.Sprintf("DH %d bits", su.DHBits)
	}
	return row
}

func chainOf(c *tlswarden.CertResult) chainView {
	v := chainView{Trusted: c.Trusted, VerificationError: c.VerificationError, HostnameChecked: c.HostnameChecked,
		HostnameMatches: c.HostnameMatches, Complete: c.ChainComplete, Ordered: c.ChainOrderCorrect, OCSPStapled: c.OCSPStapled}
	for _, ct := range c.Chain {
		key := ct.KeyType
		if ct.KeyBits > 0 {
			key = fmt.Sprintf("%s %d bits", ct.KeyType, ct.KeyBits)
		}
		if ct.Curve != "" {
			key += " " + ct.Curve
		}
		names := append(append([]string{}, ct.DNSNames...), ct.IPAddresses...)
		v.Certs = append(v.Certs, certRow{Subject: ct.Subject, Issuer: ct.Issuer, Key: key, Signature: ct.SignatureAlgorithm,
			NotAfter: ct.NotAfter.UTC().Format("2006-01-02"), DaysLeft: ct.SecondsUntilExpiry / 86400, Expired: ct.Expired,
			NotYetValid: ct.NotYetValid, SelfSigned: ct.SelfSigned, Names: strings.Join(names, ", ")})
	}
	return v
}

// headerMeanings says what each security header asks a browser to do, in
// the order the report lists them.
var headerMeanings = []struct{ name, meaning string }{
	{"strict-transport-security", "Use only HTTPS for this site for max-age seconds (and its subdomains with includeSubDomains), so a first plain-HTTP request cannot be intercepted."},
	{"content-security-policy", "Load scripts, styles, frames and other resources only from the sources listed; stops most injected script from running."},
	{"x-content-type-options", "nosniff: do not guess a response's type from its bytes, so uploaded text cannot run as script or style."},
	{"x-frame-options", "DENY or SAMEORIGIN: do not show this page inside another site's frame (clickjacking); CSP frame-ancestors supersedes it."},
	{"referrer-policy", "How much of this page's address is sent to the sites it links to or loads from."},
	{"permissions-policy", "Which browser features (camera, geolocation, ...) the page and its frames may use."},
	{"cross-origin-opener-policy", "same-origin: other sites' windows cannot keep a handle on this one (cross-window attacks, Spectre isolation)."},
	{"cross-origin-embedder-policy", "require-corp: load only resources that agree to be embedded (needed for cross-origin isolation)."},
	{"cross-origin-resource-policy", "Which sites may embed this response as an image, script or other resource."},
}

func httpOf(h *tlswarden.HTTPResult) *httpView {
	v := &httpView{URL: h.URL, Status: h.StatusCode}
	for _, hm := range headerMeanings {
		vals := h.Headers[hm.name]
		v.Headers = append(v.Headers, headerRow{Name: hm.name, Meaning: hm.meaning, Values: vals, Present: len(vals) > 0})
	}
	return v
}

// findingRows splits the findings into those that need attention
// (failures, waived or not, and rules that could not be evaluated), most
// severe first, and the rest.
func findingRows(fs []tlswarden.Finding, at time.Time) (attention, passed []findingRow) {
	for sev := tlswarden.SeverityCritical; sev >= 0; sev-- {
		for _, f := range fs {
			if f.Severity != sev {
				continue
			}
			row := findingRow{Rule: f.RuleID, Title: f.Title, Severity: f.Severity.String(), Outcome: outcomeWord(f), Message: f.Message, Waived: f.Waived}
			if r, ok := policy.LookupRule(f.RuleID); ok {
				row.Rationale = r.Rationale
			}
			if w := f.Waiver; w != nil {
				row.Waiver = &waiverRow{Reason: w.Reason, Expires: w.Expires.UTC().Format("2006-01-02"), Active: w.Active(at)}
			}
			if store.NeedsAttention(f) {
				attention = append(attention, row)
			} else {
				passed = append(passed, row)
			}
		}
	}
	return attention, passed
}

func outcomeWord(f tlswarden.Finding) string {
	switch {
	case f.Waived:
		return "waived"
	case f.Outcome == tlswarden.RuleFail:
		return "fail"
	case f.Outcome == tlswarden.RulePass:
		return "pass"
	case f.Outcome == tlswarden.RuleNotApplicable:
		return "not applicable"
	}
	return "not evaluated"
}
