package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// maxRows bounds the endpoints one estate page lists; the filters narrow
// a larger estate.
const maxRows = 1000

// estateFilter is what the estate page's form asks for.
type estateFilter struct {
	Owner, Tag, Kind, Rule, Query, Grade, Compliance string
	Severity                                         string
	Below                                            bool
}

func readEstateFilter(r *http.Request) (estateFilter, error) {
	q := r.URL.Query()
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	f := estateFilter{Owner: get("owner"), Tag: get("tag"), Kind: get("kind"), Rule: get("rule"), Query: get("q"),
		Grade: get("grade"), Compliance: get("compliance"), Severity: get("severity"), Below: get("below") == "1"}
	if f.Severity != "" {
		if _, err := tlswarden.ParseSeverity(f.Severity); err != nil {
			return f, &pageError{status: http.StatusBadRequest, msg: "Unknown severity " + strconv.Quote(f.Severity) + "."}
		}
	}
	return f, nil
}

// values returns the filter as query parameters.
func (f estateFilter) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"owner": f.Owner, "tag": f.Tag, "kind": f.Kind, "rule": f.Rule, "q": f.Query,
		"grade": f.Grade, "compliance": f.Compliance, "severity": f.Severity} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if f.Below {
		v.Set("below", "1")
	}
	return v
}

// with returns the estate page's URL with one more filter set.
func (f estateFilter) with(key, value string) string {
	v := f.values()
	v.Set(key, value)
	return "/?" + v.Encode()
}

// Active reports whether any filter is set.
func (f estateFilter) Active() bool { return len(f.values()) > 0 }

// countLink is a count and the list behind it.
type countLink struct {
	Label string
	Count int
	URL   string
}

// estateRow is one endpoint of the estate list.
type estateRow struct {
	TargetID              int64
	Target, Address, Host string
	Owner                 string
	Min, Max              string
	Below                 bool
	Grade                 string
	Compliance            string
	Failed                int
	Worst                 string
}

// estateView is the estate page.
type estateView struct {
	Filter             estateFilter
	Owners, Tags       []string
	Kinds              []string
	Severities         []string
	Rules              []string
	Endpoints          int
	Compliant          int
	Percent            string
	Below              countLink
	NonCompliant       countLink
	Grades             []countLink
	BySeverity         []countLink
	ByRule             []countLink
	Rows               []estateRow
	Truncated          bool
	Unscanned          int
	Targets            int
	FindingsJSON, JSON string
}

func (v *estateView) title() string   { return "Estate" }
func (v *estateView) jsonURL() string { return v.JSON }

func (s *Server) estate(w http.ResponseWriter, r *http.Request) error {
	f, err := readEstateFilter(r)
	if err != nil {
		return err
	}
	v, err := s.buildEstate(r, f)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "estate", v)
	return nil
}

func (s *Server) buildEstate(r *http.Request, f estateFilter) (*estateView, error) {
	ctx := r.Context()
	all, err := s.cfg.Store.ListTargets(ctx, store.TargetFilter{})
	if err != nil {
		return nil, err
	}
	v := &estateView{Filter: f, Severities: severityNames(), Rules: ruleIDs()}
	v.Owners, v.Tags, v.Kinds = choices(all)
	targets := map[int64]store.Target{}
	for _, t := range all {
		if f.matchesTarget(t) {
			targets[t.ID] = t
			if t.LatestScanID == 0 {
				v.Unscanned++
			}
		}
	}
	v.Targets = len(targets)
	ef := store.EndpointFilter{Owner: f.Owner, Tag: f.Tag}
	if f.Below {
		ef.AcceptsBelow = tlswarden.TLS12
	}
	if f.Grade != "" {
		ef.Grades = []string{f.Grade}
	}
	if f.Compliance != "" {
		ef.Compliances = []tlswarden.Compliance{tlswarden.Compliance(f.Compliance)}
	}
	eps, err := s.cfg.Store.ListEndpoints(ctx, ef)
	if err != nil {
		return nil, err
	}
	fails, err := s.failures(r, f)
	if err != nil {
		return nil, err
	}
	eps = slices.DeleteFunc(eps, func(e store.EndpointSummary) bool {
		_, ok := targets[e.TargetID]
		return !ok || (f.Severity != "" || f.Rule != "") && fails[keyOf(e)].count == 0
	})
	v.summarise(eps, fails)
	v.list(eps, fails)
	v.JSON = "/api/v1/endpoints?" + apiValues(f).Encode()
	v.FindingsJSON = "/api/v1/findings?" + apiFindingValues(f).Encode()
	return v, nil
}

// matchesTarget applies the filters the store's target query does not
// take: kind and the hostname search.
func (f estateFilter) matchesTarget(t store.Target) bool {
	kind := t.Kind
	if kind == "" {
		kind = tlswarden.KindHTTPS
	}
	if f.Kind != "" && string(kind) != f.Kind {
		return false
	}
	return f.Query == "" || strings.Contains(strings.ToLower(t.Host), strings.ToLower(f.Query))
}

// endpointKey names one endpoint of one scan.
type endpointKey struct {
	scanID   int64
	endpoint tlswarden.Endpoint
}

func keyOf(e store.EndpointSummary) endpointKey { return endpointKey{e.ScanID, e.Endpoint} }

// failureCount is an endpoint's unwaived failures: how many, the worst
// severity, and each rule.
type failureCount struct {
	count int
	worst tlswarden.Severity
	rules []string
	sevs  []tlswarden.Severity
}

// failures counts the unwaived failed findings of the latest scans that
// match the filter, per endpoint.
func (s *Server) failures(r *http.Request, f estateFilter) (map[endpointKey]failureCount, error) {
	notWaived := false
	ff := store.FindingFilter{Owner: f.Owner, Tag: f.Tag, Outcomes: []tlswarden.RuleOutcome{tlswarden.RuleFail}, Waived: &notWaived, Limit: 1000}
	if f.Severity != "" {
		sev, _ := tlswarden.ParseSeverity(f.Severity)
		ff.Severities = []tlswarden.Severity{sev}
	}
	if f.Rule != "" {
		ff.RuleIDs = []string{f.Rule}
	}
	out := map[endpointKey]failureCount{}
	for {
		fs, err := s.cfg.Store.ListFindings(r.Context(), ff)
		if err != nil {
			return nil, err
		}
		for _, fi := range fs {
			k := endpointKey{fi.ScanID, fi.Endpoint}
			c := out[k]
			c.count++
			c.worst = max(c.worst, fi.Severity)
			c.rules = append(c.rules, fi.RuleID)
			c.sevs = append(c.sevs, fi.Severity)
			out[k] = c
		}
		if len(fs) < ff.Limit {
			return out, nil
		}
		ff.AfterID = fs[len(fs)-1].ID
	}
}

// summarise counts the endpoints shown: compliance, grades, old versions,
// failures by severity and by rule, each linked to its list.
func (v *estateView) summarise(eps []store.EndpointSummary, fails map[endpointKey]failureCount) {
	grades, sevs, rules := map[string]int{}, map[tlswarden.Severity]int{}, map[string]int{}
	for _, e := range eps {
		v.Endpoints++
		switch e.Compliance {
		case tlswarden.Compliant:
			v.Compliant++
		case tlswarden.NonCompliant:
			v.NonCompliant.Count++
		}
		if below(e) {
			v.Below.Count++
		}
		grades[e.Grade]++
		fc := fails[keyOf(e)]
		for i, id := range fc.rules {
			rules[id]++
			sevs[fc.sevs[i]]++
		}
	}
	v.Percent = "—"
	if v.Endpoints > 0 {
		v.Percent = fmt.Sprintf("%.0f%%", 100*float64(v.Compliant)/float64(v.Endpoints))
	}
	v.Below.Label, v.Below.URL = "accept TLS 1.1 or older", v.Filter.with("below", "1")
	v.NonCompliant.Label, v.NonCompliant.URL = "non-compliant", v.Filter.with("compliance", string(tlswarden.NonCompliant))
	for _, g := range gradeOrder {
		if n := grades[g]; n > 0 {
			label := g
			if g == "" {
				label = "no grade"
			}
			v.Grades = append(v.Grades, countLink{Label: label, Count: n, URL: v.Filter.with("grade", g)})
		}
	}
	for sev := tlswarden.SeverityCritical; sev >= tlswarden.SeverityInfo; sev-- {
		if n := sevs[sev]; n > 0 {
			v.BySeverity = append(v.BySeverity, countLink{Label: sev.String(), Count: n, URL: v.Filter.with("severity", sev.String())})
		}
	}
	for id, n := range rules {
		v.ByRule = append(v.ByRule, countLink{Label: id, Count: n, URL: v.Filter.with("rule", id)})
	}
	slices.SortFunc(v.ByRule, func(a, b countLink) int { return cmp.Or(b.Count-a.Count, strings.Compare(a.Label, b.Label)) })
}

// gradeOrder lists grades worst first, then the ungraded.
var gradeOrder = []string{"T", "F", "E", "D", "C", "B", "A-", "A", "A+", ""}

func below(e store.EndpointSummary) bool { return e.MinVersion != 0 && e.MinVersion < tlswarden.TLS12 }

// list orders the endpoints for people: those still accepting TLS 1.1 or
// older first, then the non-compliant, then by name.
func (v *estateView) list(eps []store.EndpointSummary, fails map[endpointKey]failureCount) {
	rank := func(e store.EndpointSummary) int {
		switch {
		case below(e):
			return 0
		case e.Compliance == tlswarden.NonCompliant:
			return 1
		case e.Compliance == tlswarden.ComplianceUnknown:
			return 2
		}
		return 3
	}
	slices.SortStableFunc(eps, func(a, b store.EndpointSummary) int {
		return cmp.Or(rank(a)-rank(b), strings.Compare(a.Target.Host, b.Target.Host), a.Target.Port-b.Target.Port)
	})
	if len(eps) > maxRows {
		eps, v.Truncated = eps[:maxRows], true
	}
	for _, e := range eps {
		fc := fails[keyOf(e)]
		row := estateRow{TargetID: e.TargetID, Target: e.Target.String(), Address: e.Endpoint.Addr.String(), Host: e.Endpoint.Host,
			Owner: e.Target.Owner, Min: versionName(e.MinVersion), Max: versionName(e.MaxVersion), Below: below(e),
			Grade: e.Grade, Compliance: complianceWord(e.Compliance), Failed: fc.count}
		if fc.worst > 0 {
			row.Worst = fc.worst.String()
		}
		v.Rows = append(v.Rows, row)
	}
}

func versionName(v tlswarden.Version) string {
	if v == 0 {
		return "—"
	}
	return v.String()
}

func complianceWord(c tlswarden.Compliance) string {
	switch c {
	case tlswarden.Compliant:
		return "compliant"
	case tlswarden.NonCompliant:
		return "non-compliant"
	case tlswarden.ComplianceUnknown:
		return "unknown"
	}
	return "not judged"
}

// choices lists the owners, tags and kinds the registry holds, for the
// filter form's menus.
func choices(ts []store.Target) (owners, tags, kinds []string) {
	for _, t := range ts {
		if t.Owner != "" {
			owners = append(owners, t.Owner)
		}
		tags = append(tags, t.Tags...)
		kind := string(t.Kind)
		if kind == "" {
			kind = string(tlswarden.KindHTTPS)
		}
		kinds = append(kinds, kind)
	}
	for _, l := range []*[]string{&owners, &tags, &kinds} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return owners, tags, kinds
}

func severityNames() []string {
	var out []string
	for sev := tlswarden.SeverityCritical; sev >= tlswarden.SeverityInfo; sev-- {
		out = append(out, sev.String())
	}
	return out
}

func ruleIDs() []string {
	var out []string
	for _, r := range policy.Rules() {
		out = append(out, r.ID)
	}
	return out
}

// apiValues are the API's endpoint-list parameters for the filter.
func apiValues(f estateFilter) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("owner", f.Owner)
	set("tag", f.Tag)
	set("grade", f.Grade)
	set("compliance", f.Compliance)
	if f.Below {
		v.Set("accepts_below", "TLSv1.2")
	}
	return v
}

func apiFindingValues(f estateFilter) url.Values {
	v := url.Values{"outcome": {"fail"}}
	for k, s := range map[string]string{"owner": f.Owner, "tag": f.Tag, "severity": f.Severity, "rule": f.Rule} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}
