package policy

import (
	"slices"

	"github.com/tlswarden/tlswarden"
)

// capWeaknesses applies the caps of known weaknesses (docs/grading.md):
// POODLE C.
func (gr *grader) capWeaknesses() {
	list, _ := acceptedSuites(gr.tr, onlySSLv3)
	if slices.ContainsFunc(list, cbcSuite) {
		gr.limit("C", "POODLE: SSLv3 accepted with CBC ciphers")
	}
}

// capSharedKey caps at F an endpoint whose RSA certificate another
// endpoint serves with SSLv2 (DROWN): a fact about other endpoints, so it
// is applied to the finished grade.
func capSharedKey(g *tlswarden.Grade, in *Input) {
	leaf := in.Endpoint.Cert.Leaf()
	if g.Letter == "" || leaf == nil || leaf.KeyType != "RSA" || in.Endpoint.TLS.Supported(tlswarden.SSLv2) {
		return
	}
	where, ok := in.SSLv2Leaves[leaf.SHA256]
	if !ok {
		return
	}
	g.Caps = append(g.Caps, tlswarden.GradeCap{Max: "F", Reason: "DROWN: the certificate's RSA key is served with SSLv2 by " + where})
	if g.Letter == "T" {
		g.IgnoringTrust = "F"
	} else {
		g.Letter = "F"
	}
}
