package policy

import (
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// TestEveryChainJudged: an endpoint whose second chain (another key type)
// is expired fails the certificate rules and is graded T, the chain named
// by its leaf; both chains sound, it is judged as one.
func TestEveryChainJudged(t *testing.T) {
	p := mustBuiltin(t, DefaultProfile)
	withSecond := func(expired bool) *tlswarden.EndpointReport {
		e := good(nil)()
		second := *goodCert()
		second.Chain = append([]tlswarden.Certificate(nil), second.Chain...)
		leaf := &second.Chain[0]
		leaf.KeyType, leaf.KeyBits, leaf.Curve, leaf.SHA256 = "RSA", 2048, "", "5ec0nd"
		if expired {
			leaf.NotBefore, leaf.NotAfter, leaf.Expired = now.AddDate(0, 0, -100), now.AddDate(0, 0, -10), true
			second.Trusted = false
		}
		e.Cert.OtherChains = []tlswarden.CertResult{second}
		return e
	}
	in := func(e *tlswarden.EndpointReport) *Input {
		return &Input{Target: testTarget, Endpoint: e, Params: &p.Params, Now: now}
	}
	sound := runCheck(in(withSecond(false)), &ruleCertValidNow)
	if sound.Outcome != tlswarden.RulePass {
		t.Errorf("both chains sound: %s %q, want pass", sound.Outcome, sound.Message)
	}
	e := withSecond(true)
	got := runCheck(in(e), &ruleCertValidNow)
	if got.Outcome != tlswarden.RuleFail || !strings.HasPrefix(got.Message, "RSA chain (leaf 5ec0nd): expired on ") {
		t.Errorf("second chain expired: %s %q, want a failure naming the RSA chain", got.Outcome, got.Message)
	}
	g := GradeTLS(e, now)
	var reasons []string
	for _, c := range g.Caps {
		reasons = append(reasons, c.Reason)
	}
	if g.Letter != "T" || !strings.Contains(strings.Join(reasons, "; "), "RSA chain (leaf 5ec0nd) certificate expired") {
		t.Errorf("grade %s, caps %q; want T for the RSA chain", g.Letter, reasons)
	}
}
