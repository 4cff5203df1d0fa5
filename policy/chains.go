package policy

import (
	"fmt"
	"strings"

	"github.com/tlswarden/tlswarden"
)

// A server may serve several chains, one per key type (CertResult's
// OtherChains). Each is judged: a client that asks for that key type gets
// that chain, so an expired or untrusted second chain breaks those clients
// as surely as a bad primary breaks the rest. The certificate rules run
// once per chain and the worst outcome wins; the grade's certificate caps
// apply to every chain.

// outcomeRank orders outcomes from best to worst for combining chains.
var outcomeRank = map[tlswarden.RuleOutcome]int{
	tlswarden.RuleNotApplicable: 0,
	tlswarden.RulePass:          1,
	tlswarden.RuleNotEvaluated:  2,
	tlswarden.RuleFail:          3,
}

// certRule reports whether a rule judges a certificate chain.
func certRule(id string) bool { return strings.HasPrefix(id, "cert.") }

// checkEveryChain runs a certificate rule's check on each chain the
// endpoint serves and combines the results: the worst outcome, with the
// messages of the chains that have it, each named by its leaf. An
// endpoint with one chain is judged as before.
func checkEveryChain(in *Input, check func(*Input) Result) Result {
	chains := in.Endpoint.Cert.Chains()
	if len(chains) < 2 {
		return check(in)
	}
	results := make([]Result, len(chains))
	for i, cr := range chains {
		results[i] = check(onChain(in, cr))
	}
	return worstOfChains(chains, results)
}

// onChain returns in with the endpoint's certificate facts replaced by one
// chain's.
func onChain(in *Input, cr *tlswarden.CertResult) *Input {
	e := *in.Endpoint
	e.Cert = cr
	sub := *in
	sub.Endpoint = &e
	return &sub
}

// worstOfChains combines per-chain results.
func worstOfChains(chains []*tlswarden.CertResult, results []Result) Result {
	worst := results[0].Outcome
	for _, r := range results[1:] {
		if outcomeRank[r.Outcome] > outcomeRank[worst] {
			worst = r.Outcome
		}
	}
	var msgs []string
	for i, r := range results {
		if r.Outcome == worst {
			msgs = append(msgs, chainLabel(chains[i])+": "+r.Message)
		}
	}
	return Result{Outcome: worst, Message: strings.Join(msgs, "; ")}
}

// chainLabel names a chain by its leaf, as people read it: key type and
// the start of the leaf's SHA-256.
func chainLabel(cr *tlswarden.CertResult) string {
	leaf := cr.Leaf()
	if leaf == nil {
		return "chain"
	}
	return fmt.Sprintf("%s chain (leaf %.12s)", orDefault(leaf.KeyType, "unknown key"), leaf.SHA256)
}
