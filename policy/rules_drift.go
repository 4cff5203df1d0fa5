package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// ruleAddressesConsistent compares the addresses of one name: a load
// balancer whose members are configured differently serves some clients
// worse than the scan of one member suggests, and the difference comes and
// goes with DNS. Each endpoint's finding says which other addresses differ
// and in what.
var ruleAddressesConsistent = Rule{
	ID:       "target.addresses_consistent",
	Title:    "Every address of the name serves the same TLS configuration",
	Severity: tlswarden.SeverityMedium,
	Rationale: `Drift between the addresses of one name (load-balancer members, a CDN and an origin, a ` +
		`forgotten old server) means that which configuration a client gets depends on which address it ` +
		`reaches: versions, suites, certificate and grade should be the same on every address.`,
	Check: checkAddressesConsistent,
}

func checkAddressesConsistent(in *Input) Result {
	e := in.Endpoint
	if e.Status != tlswarden.StatusOK || e.TLS == nil {
		return notEvaluated("this address was not scanned: %s", orDefault(string(e.Status), "no TLS facts"))
	}
	var compared int
	var diffs []string
	for i := range in.Peers {
		p := &in.Peers[i]
		if p.Endpoint == e.Endpoint || p.Endpoint.Host != e.Endpoint.Host || p.Endpoint.Addr.Port() != e.Endpoint.Addr.Port() ||
			p.Status != tlswarden.StatusOK || p.TLS == nil {
			continue
		}
		compared++
		if d := driftBetween(e, p, in); len(d) > 0 {
			diffs = append(diffs, fmt.Sprintf("%s differs in %s", p.Endpoint.Addr, strings.Join(d, ", ")))
		}
	}
	switch {
	case compared == 0:
		return notApplicable("no other address of %s was scanned", orDefault(e.Endpoint.Host, "this target"))
	case len(diffs) > 0:
		return fail("%s", strings.Join(diffs, "; "))
	}
	return pass("the %d other addresses of %s serve the same versions, suites, certificates and grade", compared, e.Endpoint.Host)
}

// driftBetween says how b differs from a: "versions (here TLSv1.0,
// TLSv1.2; there TLSv1.2)", "suites of TLSv1.2", "certificate", "grade
// (here A, there C)". Versions tested on only one side are left out.
func driftBetween(a, b *tlswarden.EndpointReport, in *Input) []string {
	var out []string
	va, vb := acceptedVersions(a.TLS, b.TLS), acceptedVersions(b.TLS, a.TLS)
	if !slices.Equal(va, vb) {
		out = append(out, fmt.Sprintf("versions (here %s; there %s)", versionNames(va), versionNames(vb)))
	}
	for _, v := range va {
		if slices.Contains(vb, v) && !slices.Equal(suiteSet(a.TLS, v), suiteSet(b.TLS, v)) {
			out = append(out, "suites of "+v.String())
		}
	}
	if la, lb := leafSet(a.Cert), leafSet(b.Cert); la != nil && lb != nil && !slices.Equal(la, lb) {
		out = append(out, fmt.Sprintf("certificate (here %s; there %s)", strings.Join(la, ", "), strings.Join(lb, ", ")))
	}
	ga, gb := GradeTLS(a, in.Now).Letter, GradeTLS(b, in.Now).Letter
	if ga != "" && gb != "" && ga != gb {
		out = append(out, fmt.Sprintf("grade (here %s, there %s)", ga, gb))
	}
	return out
}

// acceptedVersions lists the versions r accepted among those both r and
// other tested without error.
func acceptedVersions(r, other *tlswarden.TLSResult) []tlswarden.Version {
	tested := func(t *tlswarden.TLSResult, v tlswarden.Version) bool {
		i := slices.IndexFunc(t.Versions, func(vr tlswarden.VersionResult) bool { return vr.Version == v })
		return i >= 0 && t.Versions[i].Error == ""
	}
	var out []tlswarden.Version
	for _, vr := range r.Versions {
		if vr.Supported && tested(r, vr.Version) && tested(other, vr.Version) {
			out = append(out, vr.Version)
		}
	}
	slices.Sort(out)
	return out
}

func versionNames(vs []tlswarden.Version) string {
	if len(vs) == 0 {
		return "none"
	}
	names := make([]string, len(vs))
	for i, v := range vs {
		names[i] = v.String()
	}
	return strings.Join(names, ", ")
}

// suiteSet returns the sorted suite codes r accepted with v.
func suiteSet(r *tlswarden.TLSResult, v tlswarden.Version) []uint16 {
	var out []uint16
	for _, vr := range r.Versions {
		if vr.Version == v {
			for _, s := range vr.Suites {
				out = append(out, s.Code)
			}
		}
	}
	slices.Sort(out)
	return out
}

// leafSet returns the sorted leaves served ("ECDSA 3f2a1b4c5d6e"), nil
// without certificate facts.
func leafSet(cr *tlswarden.CertResult) []string {
	var out []string
	for _, c := range cr.Chains() {
		if leaf := c.Leaf(); leaf != nil {
			out = append(out, fmt.Sprintf("%s %.12s", orDefault(leaf.KeyType, "?"), leaf.SHA256))
		}
	}
	slices.Sort(out)
	return out
}
