// Package history compares a target's scan with its previous one and says
// what changed, as store events: findings opened and resolved, protocol
// versions added and removed, grade changes, certificates replaced or
// becoming invalid, a client the profile requires that stops connecting or
// connects again. Changes that make things worse are flagged as
// regressions.
//
// It is pure: it reads two stored results and touches neither the network
// nor the store.
//
// Endpoints are matched by hostname and address. An endpoint that is new in
// the current scan (a DNS change) is compared with the whole previous scan
// (the versions any endpoint accepted, the rules any endpoint failed, the
// worst grade), so a new address that serves the same configuration gives
// no events and one that serves a worse configuration gives regressions. An
// endpoint that disappeared gives no events. Each change is one event for
// the target, listing the endpoints it concerns.
package history

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// Event kinds that store does not name yet: a certificate that stays the
// same but stops or starts being valid (it expired, or the trust store
// changed).
const (
	EventCertInvalid store.EventKind = "cert_invalid"
	EventCertValid   store.EventKind = "cert_valid"
	// EventFindingWaived and EventFindingUnwaived: a failure that goes on
	// failing became waived, or stopped being waived (the waiver expired
	// or was revoked: a regression, since it counts again).
	EventFindingWaived   store.EventKind = "finding_waived"
	EventFindingUnwaived store.EventKind = "finding_unwaived"
)

// Details is the JSON object in each event's Details. Fields that do not
// concern the event's kind are left out.
type Details struct {
	// Summary says what changed in a sentence.
	Summary string `json:"summary"`
	// Endpoints lists the endpoints concerned, as Endpoint.String.
	Endpoints []string `json:"endpoints"`

	// Rule, Title, Severity and Message describe the finding of a
	// finding_opened or finding_resolved event; Message is from the first
	// endpoint listed (the current scan's for opened, the previous one's
	// for resolved).
	Rule     string             `json:"rule,omitempty"`
	Title    string             `json:"title,omitempty"`
	Severity tlswarden.Severity `json:"severity,omitempty"`
	Message  string             `json:"message,omitempty"`
	Waived   bool               `json:"waived,omitempty"`

	// Version is the protocol version added or removed.
	Version tlswarden.Version `json:"version,omitempty"`
	// BelowTLS12 is true on a version_added event when the endpoints now
	// accept a version older than TLS 1.2 and accepted none before.
	BelowTLS12 bool `json:"below_tls12,omitempty"`

	// From and To are the grade letters of a grade_changed event, or the
	// leaf certificates' SHA-256 of a cert_replaced event.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Reason says why a certificate is not valid (cert_invalid, or a
	// cert_replaced event whose new certificate is not valid).
	Reason string `json:"reason,omitempty"`
	// KeyType is the leaf key type of the chain a certificate event is
	// about (an endpoint may serve one chain per key type).
	KeyType string `json:"key_type,omitempty"`

	// Client and ClientName are the client simulation ID and name of a
	// client_broken or client_restored event; Reason (client_broken) is
	// why the client fails, one of the client simulation's reasons, and
	// Message says it in words or, for client_restored, what the client
	// negotiates now.
	Client     string `json:"client,omitempty"`
	ClientName string `json:"client_name,omitempty"`
}

// Compare returns the events that say how cur differs from prev, the
// previous finished scan of the same target, in a stable order. With no
// previous scan (prev nil) there is nothing to compare and it returns none.
// The events' TargetID, ScanID and At are left for the store to set.
func Compare(prev, cur *store.ScanResult) []store.Event {
	if prev == nil || cur == nil {
		return nil
	}
	before := map[string]*facts{}
	for _, f := range endpointFacts(prev) {
		before[f.key] = f
	}
	baseline := union(before)
	var c changes
	for _, now := range endpointFacts(cur) {
		was, ok := before[now.key]
		if !ok {
			was = baseline
		}
		c.compare(was, now)
	}
	c.compareDrift(prev, cur)
	c.compareClients(prev, cur)
	return c.events()
}

// facts are what history compares about one endpoint, or about a whole
// scan (the baseline for endpoints new in the next one).
type facts struct {
	key string // Endpoint.String
	// versions holds each version the TLS probe tested without error:
	// true when accepted, false when refused.
	versions map[tlswarden.Version]bool
	// fails holds the failed findings by rule; definite the rules with an
	// outcome other than not_evaluated.
	fails    map[string]tlswarden.Finding
	definite map[string]bool
	grade    string
	// chains are the chains served, one per key type as a rule, sorted
	// by key type and leaf.
	chains []chainFact
}

// chainFact is one chain served: its leaf's key type and SHA-256, and why
// it is not valid (empty when it is).
type chainFact struct {
	keyType, leaf, invalid string
}

// endpointFacts returns the facts of each endpoint of a scan, in the
// report's order.
func endpointFacts(r *store.ScanResult) []*facts {
	out := make([]*facts, 0, len(r.Report.Endpoints))
	for i := range r.Report.Endpoints {
		ep := &r.Report.Endpoints[i]
		f := &facts{
			key:      ep.Endpoint.String(),
			versions: versionFacts(ep.TLS),
			fails:    map[string]tlswarden.Finding{},
			definite: map[string]bool{},
		}
		if r.Evaluation != nil && i < len(r.Evaluation.Endpoints) {
			addEvaluation(f, &r.Evaluation.Endpoints[i])
		}
		f.chains = chainFacts(ep.Cert)
		out = append(out, f)
	}
	return out
}

func versionFacts(r *tlswarden.TLSResult) map[tlswarden.Version]bool {
	m := map[tlswarden.Version]bool{}
	if r == nil {
		return m
	}
	for _, v := range r.Versions {
		if v.Error == "" {
			m[v.Version] = v.Supported
		}
	}
	return m
}

func addEvaluation(f *facts, ee *tlswarden.EndpointEvaluation) {
	if ee.Grade != nil {
		f.grade = ee.Grade.Letter
	}
	for _, fi := range ee.Findings {
		// Drift is a fact of the whole name, with events of its own
		// (compareDrift) rather than one finding event per address.
		if fi.Outcome == tlswarden.RuleNotEvaluated || fi.RuleID == driftRule {
			continue
		}
		f.definite[fi.RuleID] = true
		if fi.Outcome == tlswarden.RuleFail {
			f.fails[fi.RuleID] = fi
		}
	}
}

// chainFacts returns the facts of every chain of r that has a readable
// leaf, sorted by key type and leaf.
func chainFacts(r *tlswarden.CertResult) []chainFact {
	var out []chainFact
	for _, c := range r.Chains() {
		if leaf := c.Leaf(); leaf != nil && leaf.ParseError == "" {
			out = append(out, chainFact{keyType: leaf.KeyType, leaf: leaf.SHA256, invalid: invalidReason(c, leaf)})
		}
	}
	slices.SortFunc(out, func(a, b chainFact) int {
		return strings.Compare(a.keyType+":"+a.leaf, b.keyType+":"+b.leaf)
	})
	return out
}

// invalidReason says why a certificate would not be accepted by a browser,
// or returns "" when it would.
func invalidReason(r *tlswarden.CertResult, leaf *tlswarden.Certificate) string {
	switch {
	case leaf.Expired:
		return "expired on " + leaf.NotAfter.UTC().Format("2006-01-02")
	case leaf.NotYetValid:
		return "not valid before " + leaf.NotBefore.UTC().Format("2006-01-02")
	case !r.Trusted:
		if r.VerificationError != "" {
			return "not trusted: " + r.VerificationError
		}
		return "not trusted"
	case !r.HostnameMatches:
		return "does not name " + r.HostnameChecked
	}
	return ""
}

// union is what a whole scan says: the versions any endpoint accepted, the
// rules any endpoint failed, the worst grade. It has no certificate, so a
// new endpoint's certificate is never compared.
func union(eps map[string]*facts) *facts {
	u := &facts{
		versions: map[tlswarden.Version]bool{},
		fails:    map[string]tlswarden.Finding{},
		definite: map[string]bool{},
	}
	for _, f := range eps {
		for v, ok := range f.versions {
			u.versions[v] = u.versions[v] || ok
		}
		for id, fi := range f.fails {
			u.fails[id] = fi
		}
		for id := range f.definite {
			u.definite[id] = true
		}
		if u.grade == "" || gradeRank(f.grade) > gradeRank(u.grade) {
			u.grade = f.grade
		}
	}
	return u
}

// gradeLetters lists grades from best to worst; T (a trust problem) ranks
// with F, and an empty grade is unknown.
var gradeLetters = []string{"A+", "A", "A-", "B", "C", "D", "E", "F"}

func gradeRank(letter string) int {
	if letter == "T" {
		letter = "F"
	}
	return slices.Index(gradeLetters, letter)
}

// change is one event before its endpoints are gathered: changes with the
// same kind and key on several endpoints become one event.
type change struct {
	kind       store.EventKind
	key        string
	regression bool
	details    Details
}

type changes struct {
	order []string
	byKey map[string]*change
}

func (c *changes) add(endpoint string, ch change) {
	id := string(ch.kind) + "\x00" + ch.key
	if c.byKey == nil {
		c.byKey = map[string]*change{}
	}
	if have, ok := c.byKey[id]; ok {
		have.details.Endpoints = append(have.details.Endpoints, endpoint)
		return
	}
	ch.details.Endpoints = []string{endpoint}
	c.byKey[id] = &ch
	c.order = append(c.order, id)
}

func (c *changes) compare(was, now *facts) {
	c.compareVersions(was, now)
	c.compareFindings(was, now)
	c.compareGrades(was, now)
	c.compareCerts(was, now)
}

func (c *changes) compareVersions(was, now *facts) {
	wasOld := acceptsBelow(was.versions, tlswarden.TLS12)
	for _, v := range tlswarden.AllVersions {
		before, known := was.versions[v]
		after, knownNow := now.versions[v]
		switch {
		case !known || !knownNow || before == after:
		case after:
			below := v < tlswarden.TLS12 && !wasOld
			c.add(now.key, change{kind: store.EventVersionAdded, key: v.String(),
				regression: v < tlswarden.TLS12,
				details:    Details{Summary: v.String() + " is now accepted", Version: v, BelowTLS12: below}})
		default:
			c.add(now.key, change{kind: store.EventVersionRemoved, key: v.String(),
				regression: v >= tlswarden.TLS13,
				details:    Details{Summary: v.String() + " is no longer accepted", Version: v}})
		}
	}
}

func acceptsBelow(vs map[tlswarden.Version]bool, min tlswarden.Version) bool {
	for v, ok := range vs {
		if ok && v < min {
			return true
		}
	}
	return false
}

func (c *changes) compareFindings(was, now *facts) {
	for _, id := range sortedKeys(now.fails) {
		if _, failed := was.fails[id]; failed || !was.definite[id] {
			continue
		}
		f := now.fails[id]
		c.add(now.key, change{kind: store.EventFindingOpened, key: id, regression: !f.Waived,
			details: findingDetails("now fails", f)})
	}
	for _, id := range sortedKeys(was.fails) {
		if _, failed := now.fails[id]; failed || !now.definite[id] {
			continue
		}
		c.add(now.key, change{kind: store.EventFindingResolved, key: id,
			details: findingDetails("no longer fails", was.fails[id])})
	}
	for _, id := range sortedKeys(now.fails) {
		before, failed := was.fails[id]
		f := now.fails[id]
		switch {
		case !failed || before.Waived == f.Waived:
		case f.Waived:
			c.add(now.key, change{kind: EventFindingWaived, key: id, details: findingDetails("is waived", f)})
		default:
			c.add(now.key, change{kind: EventFindingUnwaived, key: id, regression: true, details: findingDetails("is no longer waived", f)})
		}
	}
}

func findingDetails(verb string, f tlswarden.Finding) Details {
	name := f.RuleID
	if f.Title != "" {
		name += " (" + f.Title + ")"
	}
	return Details{Summary: "rule " + name + " " + verb, Rule: f.RuleID, Title: f.Title,
		Severity: f.Severity, Message: f.Message, Waived: f.Waived}
}

func (c *changes) compareGrades(was, now *facts) {
	if was.grade == "" || now.grade == "" || was.grade == now.grade {
		return
	}
	worse := gradeRank(now.grade) > gradeRank(was.grade)
	verb := "changed"
	switch {
	case worse:
		verb = "dropped"
	case gradeRank(now.grade) < gradeRank(was.grade):
		verb = "rose"
	}
	c.add(now.key, change{kind: store.EventGradeChanged, key: was.grade + ">" + now.grade, regression: worse,
		details: Details{Summary: fmt.Sprintf("grade %s from %s to %s", verb, was.grade, now.grade), From: was.grade, To: now.grade}})
}

// compareCerts compares the chains of two scans of an endpoint. Chains
// are matched by their leaf's key type, not by the order they were found
// in, so that a server's RSA and ECDSA chains are each compared with their
// own predecessor; chains left unmatched on both sides (an RSA certificate
// replaced by an ECDSA one) are matched in order. A chain that appears or
// goes without a counterpart gives no event: the rules it passes or fails
// do.
func (c *changes) compareCerts(was, now *facts) {
	several := len(was.chains) > 1 || len(now.chains) > 1
	for _, p := range pairChains(was.chains, now.chains) {
		name := "certificate"
		if several {
			name = p.now.keyType + " certificate"
		}
		c.compareChain(now.key, name, p.was, p.now)
	}
}

type chainPair struct{ was, now chainFact }

// pairChains matches the chains of two scans: by key type first, then the
// rest in order.
func pairChains(was, now []chainFact) []chainPair {
	used := make([]bool, len(was))
	var pairs []chainPair
	var rest []chainFact
	for _, n := range now {
		if i := unusedOfType(was, used, n.keyType); i >= 0 {
			used[i] = true
			pairs = append(pairs, chainPair{was[i], n})
		} else {
			rest = append(rest, n)
		}
	}
	for i, w := range was {
		if !used[i] && len(rest) > 0 {
			pairs, rest = append(pairs, chainPair{w, rest[0]}), rest[1:]
		}
	}
	return pairs
}

// unusedOfType returns the index of the first chain of was not used yet
// whose key type is keyType, or -1.
func unusedOfType(was []chainFact, used []bool, keyType string) int {
	for i, w := range was {
		if !used[i] && w.keyType == keyType {
			return i
		}
	}
	return -1
}

// compareChain compares one chain with its predecessor; name is what the
// summaries call it.
func (c *changes) compareChain(endpoint, name string, was, now chainFact) {
	if was.leaf != now.leaf {
		d := Details{Summary: name + " replaced", From: was.leaf, To: now.leaf, Reason: now.invalid, KeyType: now.keyType}
		if now.invalid != "" {
			d.Summary = name + " replaced by one that is " + now.invalid
		}
		c.add(endpoint, change{kind: store.EventCertReplaced, key: was.leaf + ">" + now.leaf,
			regression: was.invalid == "" && now.invalid != "", details: d})
		return
	}
	switch {
	case was.invalid == "" && now.invalid != "":
		c.add(endpoint, change{kind: EventCertInvalid, key: now.leaf, regression: true,
			details: Details{Summary: name + " became invalid: " + now.invalid, To: now.leaf, Reason: now.invalid, KeyType: now.keyType}})
	case was.invalid != "" && now.invalid == "":
		c.add(endpoint, change{kind: EventCertValid, key: now.leaf,
			details: Details{Summary: name + " became valid", To: now.leaf, KeyType: now.keyType}})
	}
}

// kindOrder sorts events: regressions a reader cares about first.
var kindOrder = []store.EventKind{
	store.EventVersionAdded, store.EventVersionRemoved, EventClientBroken, EventCertInvalid, store.EventCertReplaced,
	EventCertValid, EventClientRestored, store.EventGradeChanged, store.EventFindingOpened, store.EventFindingResolved,
}

func (c *changes) events() []store.Event {
	slices.SortStableFunc(c.order, func(a, b string) int {
		ka, _, _ := strings.Cut(a, "\x00")
		kb, _, _ := strings.Cut(b, "\x00")
		return slices.Index(kindOrder, store.EventKind(ka)) - slices.Index(kindOrder, store.EventKind(kb))
	})
	evs := make([]store.Event, 0, len(c.order))
	for _, id := range c.order {
		ch := c.byKey[id]
		slices.Sort(ch.details.Endpoints)
		if n := len(ch.details.Endpoints); n > 1 {
			ch.details.Summary += fmt.Sprintf(" on %d endpoints", n)
		} else {
			ch.details.Summary += " on " + ch.details.Endpoints[0]
		}
		b, err := json.Marshal(ch.details)
		if err != nil {
			panic(fmt.Sprintf("history: marshal details: %v", err)) // plain strings and numbers: cannot fail
		}
		evs = append(evs, store.Event{Kind: ch.kind, Regression: ch.regression, Details: b})
	}
	return evs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
