package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// Key exchange rules.
var (
	ruleDHMinBits = Rule{
		ID:       "kex.dh_min_bits",
		Title:    "Finite-field DHE uses a large enough group",
		Severity: tlswarden.SeverityMedium,
		Rationale: `Mozilla Server Side TLS dh_param_size 2048 (since 5.8 for every configuration; 1024 in ` +
			`5.7 old); Logjam showed 1024-bit and smaller groups are within reach; SSL Labs caps DH ` +
			`below 2048 bits at B.`,
		Check: checkDHBits,
	}
	ruleECDHMinBits = Rule{
		ID:        "kex.ecdh_min_bits",
		Title:     "ECDHE uses curves of at least the minimum size",
		Severity:  tlswarden.SeverityHigh,
		Rationale: `Mozilla Server Side TLS ecdh_param_size 256 in every configuration; NIST SP 800-52r2 §3.3.2 lists P-256 and larger.`,
		Check:     checkECDHBits,
	}
	rulePQCHybrid = Rule{
		ID:       "kex.pqc_hybrid",
		Title:    "A post-quantum hybrid key exchange (X25519MLKEM768) is accepted",
		Severity: tlswarden.SeverityInfo,
		Rationale: `Mozilla Server Side TLS 5.8 and 6.0 list X25519MLKEM768 first among tls_curves: it ` +
			`protects recorded traffic against a future quantum computer ("harvest now, decrypt later").`,
		Check: checkPQC,
	}
)

func checkDHBits(in *Input) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	list, untested := acceptedSuites(tr, upToTLS12)
	var weak, unknown []string
	dhe := 0
	for _, o := range list {
		if !o.ok || !strings.HasPrefix(o.info.KeyExchange, "DHE_") && !strings.HasPrefix(o.info.KeyExchange, "DH_anon") {
			continue
		}
		dhe++
		switch {
		case o.suite.DHBits == 0:
			unknown = append(unknown, o.suite.Name)
		case o.suite.DHBits < in.Params.MinDHBits:
			weak = append(weak, fmt.Sprintf("%s %s (%d bits)", o.version, o.suite.Name, o.suite.DHBits))
		}
	}
	switch {
	case len(weak) > 0:
		return fail("DH groups below %d bits: %s", in.Params.MinDHBits, joinShort(weak, 4))
	case len(unknown) > 0:
		return notEvaluated("DH group size not recorded for %s", joinShort(unknown, 4))
	case dhe == 0 && len(untested) > 0:
		return notEvaluated("could not test %s", versionList(untested))
	case dhe == 0:
		return notApplicable("no DHE suite accepted")
	}
	return pass("every DHE suite uses at least %d bits", in.Params.MinDHBits)
}

func checkECDHBits(in *Input) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	names := usedGroups(tr)
	var weak []string
	for _, n := range names {
		g, ok := iana.Group(n)
		if ok && !g.FiniteField() && g.Bits() > 0 && g.Bits() < in.Params.MinECDHBits {
			weak = append(weak, fmt.Sprintf("%s (%d bits)", n, g.Bits()))
		}
	}
	switch {
	case len(weak) > 0:
		return fail("accepts curves below %d bits: %s", in.Params.MinECDHBits, strings.Join(weak, ", "))
	case groupsError(tr) != "":
		return notEvaluated("the group enumeration stopped early: %s", groupsError(tr))
	case tr.GroupsTestedWith == 0 && len(names) > 0:
		return notEvaluated("the key-exchange groups were not enumerated, only seen with suites: %s", strings.Join(names, ", "))
	case len(names) == 0 && usesECDHE(tr):
		return notEvaluated("the key-exchange groups were not enumerated")
	case legacyCurvesHidden(tr):
		return notEvaluated("only the TLSv1.3 groups were enumerated; the curves of the older versions' ECDHE suites were not (a report from before groups_by_version)")
	case len(names) == 0:
		return notApplicable("no ECDHE key exchange accepted")
	}
	return pass("every curve accepted has at least %d bits", in.Params.MinECDHBits)
}

// usedGroups lists the groups the server accepted or chose, without
// repeats.
func usedGroups(tr *tlswarden.TLSResult) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, g := range tr.Groups {
		add(g.Name)
	}
	for _, gs := range tr.GroupsByVersion {
		for _, g := range gs.Groups {
			add(g.Name)
		}
	}
	for _, vr := range tr.Versions {
		for _, s := range vr.Suites {
			add(s.Group)
		}
	}
	return out
}

// groupsError says why a group enumeration, of any version, stopped
// early; empty when none did.
func groupsError(tr *tlswarden.TLSResult) string {
	if tr.GroupsError != "" {
		return tr.GroupsError
	}
	for _, gs := range tr.GroupsByVersion {
		if gs.Error != "" {
			return gs.Version.String() + ": " + gs.Error
		}
	}
	return ""
}

// legacyCurvesHidden reports a report from before the groups were
// enumerated per version, whose TLS 1.3 enumeration stood for every
// version although older versions accepted ECDHE suites, whose curves can
// be weaker (OpenSSL allows secp224r1 with TLS 1.2, not with TLS 1.3).
func legacyCurvesHidden(tr *tlswarden.TLSResult) bool {
	if len(tr.GroupsByVersion) > 0 || tr.GroupsTestedWith != tlswarden.TLS13 {
		return false
	}
	list, _ := acceptedSuites(tr, upToTLS12)
	return slices.ContainsFunc(list, func(o offered) bool { return o.ok && strings.HasPrefix(o.info.KeyExchange, "ECDHE") })
}

// usesECDHE reports whether the server accepted TLS 1.3 or an ECDHE suite.
func usesECDHE(tr *tlswarden.TLSResult) bool {
	list, _ := acceptedSuites(tr, anyVersion)
	for _, o := range list {
		if o.ok && (o.info.TLS13 || strings.HasPrefix(o.info.KeyExchange, "ECDHE")) {
			return true
		}
	}
	return false
}

func checkPQC(in *Input) Result {
	tr, ne := tlsFacts(in)
	if ne != nil {
		return *ne
	}
	for _, n := range usedGroups(tr) {
		if g, ok := iana.Group(n); ok && g.PostQuantum {
			return pass("accepts %s", n)
		}
	}
	switch supported, known := versionState(tr, tlswarden.TLS13); {
	case known && !supported:
		return fail("no TLS 1.3, so no post-quantum hybrid key exchange")
	case !known:
		return notEvaluated("could not test TLSv1.3")
	case tr.GroupsError != "":
		return notEvaluated("the group enumeration stopped early: %s", tr.GroupsError)
	case len(tr.Groups) == 0:
		return notEvaluated("the key-exchange groups were not enumerated")
	}
	return fail("accepts no post-quantum hybrid group (Mozilla 6.0 lists X25519MLKEM768 first)")
}
