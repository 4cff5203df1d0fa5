package policy

import (
	"fmt"
	"slices"
	"sort"

	"github.com/tlswarden/tlswarden"
)

// DefaultProfile is the profile used when none is named.
const DefaultProfile = "nhs-internet-first"

// Profile is a filter and a set of parameters over the rule catalogue: the
// rules it evaluates, the severity of each, the thresholds they use, and
// the severity from which a failure makes an endpoint non-compliant.
type Profile struct {
	Name string
	// Version is the version of the source the profile encodes ("6.0" for
	// Mozilla Server Side TLS 6.0), so an evaluation says what it used.
	Version string
	// Source cites the document the profile encodes.
	Source      string
	Description string
	// Extends names the profile a custom profile was built from.
	Extends string
	// FailAt is the lowest severity whose unwaived failure makes an
	// endpoint non-compliant; lower ones are warnings.
	FailAt  tlswarden.Severity
	Rules   []ProfileRule
	Params  Params
	Waivers []tlswarden.Waiver
}

// ProfileRule is one rule a profile evaluates, at the severity the profile
// gives it.
type ProfileRule struct {
	Rule     *Rule
	Severity tlswarden.Severity
	// Rationale, when set, says why this profile requires the rule; the
	// rule's own rationale applies otherwise.
	Rationale string
}

// Info returns the profile's identity as recorded in an evaluation.
func (p *Profile) Info() tlswarden.ProfileInfo {
	return tlswarden.ProfileInfo{Name: p.Name, Version: p.Version, Source: p.Source, Extends: p.Extends, FailAt: p.FailAt,
		RequiredClients: slices.Clone(p.Params.RequiredClients)}
}

// Rule returns the profile's setting for a rule ID.
func (p *Profile) Rule(id string) (*ProfileRule, bool) {
	i := slices.IndexFunc(p.Rules, func(r ProfileRule) bool { return r.Rule.ID == id })
	if i < 0 {
		return nil, false
	}
	return &p.Rules[i], true
}

// Clone returns a deep copy that can be changed without touching p.
func (p *Profile) Clone() *Profile {
	c := *p
	c.Rules = slices.Clone(p.Rules)
	c.Waivers = slices.Clone(p.Waivers)
	c.Params.TLS12Suites = slices.Clone(p.Params.TLS12Suites)
	c.Params.TLS13Suites = slices.Clone(p.Params.TLS13Suites)
	c.Params.CertKeyTypes = slices.Clone(p.Params.CertKeyTypes)
	c.Params.CertCurves = slices.Clone(p.Params.CertCurves)
	c.Params.CertSignatures = slices.Clone(p.Params.CertSignatures)
	c.Params.RequiredClients = slices.Clone(p.Params.RequiredClients)
	return &c
}

// enable adds a rule to the profile, or changes its severity when the
// profile has it already. Rules are kept in catalogue order.
func (p *Profile) enable(id string, sev tlswarden.Severity) error {
	r, ok := LookupRule(id)
	if !ok {
		return fmt.Errorf("unknown rule %q", id)
	}
	if sev == 0 {
		sev = r.Severity
	}
	if pr, ok := p.Rule(id); ok {
		pr.Severity = sev
		return nil
	}
	p.Rules = append(p.Rules, ProfileRule{Rule: r, Severity: sev})
	order := ruleOrder()
	sort.SliceStable(p.Rules, func(i, j int) bool { return order[p.Rules[i].Rule.ID] < order[p.Rules[j].Rule.ID] })
	return nil
}

// disable removes a rule from the profile.
func (p *Profile) disable(id string) {
	p.Rules = slices.DeleteFunc(p.Rules, func(r ProfileRule) bool { return r.Rule.ID == id })
}

// Builtin returns a fresh copy of the built-in profile with the given name.
func Builtin(name string) (*Profile, bool) {
	for _, b := range builtins {
		if b.name == name {
			return b.make(), true
		}
	}
	return nil, false
}

// Builtins returns fresh copies of every built-in profile, the default
// first.
func Builtins() []*Profile {
	out := make([]*Profile, len(builtins))
	for i, b := range builtins {
		out[i] = b.make()
	}
	return out
}

// builtins lists the built-in profiles by name, the default first.
var builtins = []struct {
	name string
	make func() *Profile
}{
	{"nhs-internet-first", nhsInternetFirst},
	{"mozilla-intermediate", mozillaIntermediate},
	{"mozilla-modern", mozillaModern},
	{"mozilla-old", mozillaOld},
	{"ncsc", ncsc},
	{"nist-800-52r2", nist80052r2},
}

// sev is a rule ID with the severity a built-in profile gives it (0: the
// rule's default).
type sev struct {
	id  string
	sev tlswarden.Severity
}

// build adds groups of rule settings to a profile, later settings winning;
// a built-in naming an unknown rule is a programming error.
func build(p *Profile, groups ...[]sev) *Profile {
	for _, g := range append(groups, serviceRules, mailRules, clientRules) {
		for _, r := range g {
			if err := p.enable(r.id, r.sev); err != nil {
				panic("policy: built-in profile " + p.Name + ": " + err.Error())
			}
		}
	}
	return p
}

// Short names for the severities in the built-in profiles.
const (
	sevInfo     = tlswarden.SeverityInfo
	sevLow      = tlswarden.SeverityLow
	sevMedium   = tlswarden.SeverityMedium
	sevHigh     = tlswarden.SeverityHigh
	sevCritical = tlswarden.SeverityCritical
)
