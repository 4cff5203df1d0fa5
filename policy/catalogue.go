package policy

import (
	"slices"
	"sync"
)

// catalogue lists every rule tlswarden knows, in the order findings are
// reported.
var catalogue = slices.Concat([]*Rule{
	&ruleMinVersion, &ruleNoSSL, &ruleTLS12, &ruleTLS13,
	&ruleNoBroken, &ruleFSPreferred, &ruleFSOnly, &ruleAEADOnly, &ruleTLS12Allowlist, &ruleTLS13Allowlist,
	&ruleDHMinBits, &ruleECDHMinBits, &rulePQCHybrid,
	&ruleCertTrusted, &ruleCertHostname, &ruleCertValidNow, &ruleCertExpiry, &ruleCertLifetimeLeft,
	&ruleCertKey, &ruleCertSigAlg, &ruleCertSigAllowlist, &ruleCertLifespanMozilla, &ruleCertLifespanBR,
	&ruleCertChainComplete, &ruleCertChainNoExpired, &ruleCertOCSPStapled,
	&ruleCertNotRevoked, &ruleCertMustStaple, &ruleCertSCTCount, &ruleCertLintErrors, &ruleCertLintWarnings,
	&ruleAddressesConsistent,
	&ruleHTTPSRedirect, &ruleHSTS, &ruleHSTSPreload, &ruleHeaderScore,
	&ruleStartTLS,
	&ruleMTASTSEnforce, &ruleMTASTSMX, &ruleMailCert, &ruleDANE,
	&ruleClientsRequired,
}, vulnDerivedRules, vulnActiveRules, observatoryRules())

var ruleIndex = sync.OnceValue(func() map[string]*Rule {
	m := make(map[string]*Rule, len(catalogue))
	for _, r := range catalogue {
		if m[r.ID] != nil {
			panic("policy: duplicate rule " + r.ID)
		}
		m[r.ID] = r
	}
	return m
})

// Rules returns every rule in the catalogue, in report order. The rules
// are shared: do not modify them.
func Rules() []*Rule { return catalogue }

// LookupRule returns the rule with the given ID.
func LookupRule(id string) (*Rule, bool) {
	r, ok := ruleIndex()[id]
	return r, ok
}

// ruleOrder maps each rule ID to its place in the catalogue.
var ruleOrder = sync.OnceValue(func() map[string]int {
	m := make(map[string]int, len(catalogue))
	for i, r := range catalogue {
		m[r.ID] = i
	}
	return m
})
