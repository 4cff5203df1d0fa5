package policy

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

func TestAddressesConsistent(t *testing.T) {
	at := func(addr string, edit func(e *tlswarden.EndpointReport)) *tlswarden.EndpointReport {
		e := good(edit)()
		e.Endpoint.Addr = netip.MustParseAddrPort(addr)
		return e
	}
	same := at("192.0.2.11:443", nil)
	tests := []struct {
		name  string
		peers []*tlswarden.EndpointReport
		want  tlswarden.RuleOutcome
		msg   string
	}{
		{"alone", nil, tlswarden.RuleNotApplicable, "no other address"},
		{"same configuration", []*tlswarden.EndpointReport{same}, tlswarden.RulePass, "the 1 other addresses"},
		{"older version and another certificate", []*tlswarden.EndpointReport{same, at("192.0.2.12:443", func(e *tlswarden.EndpointReport) {
			e.TLS = groups(tlsResult(accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE, v13), "x25519")
			e.Cert.Chain[0].SHA256 = "ffff0000ffff0000"
		})}, tlswarden.RuleFail, "192.0.2.12:443 differs in versions (here TLSv1.2, TLSv1.3; there TLSv1.0, TLSv1.2, TLSv1.3)|there ECDSA ffff0000ffff)|grade (here A+, there B)"},
		{"other port ignored", []*tlswarden.EndpointReport{at("192.0.2.12:8443", func(e *tlswarden.EndpointReport) { e.Cert.Chain[0].SHA256 = "ff" })}, tlswarden.RuleNotApplicable, ""},
		{"unscanned peer ignored", []*tlswarden.EndpointReport{at("192.0.2.12:443", func(e *tlswarden.EndpointReport) { e.Status = tlswarden.StatusTimeout })}, tlswarden.RuleNotApplicable, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			self := good(nil)()
			in := &Input{Target: testTarget, Endpoint: self, Params: &mustBuiltin(t, DefaultProfile).Params, Now: now,
				Peers: []tlswarden.EndpointReport{*self}}
			for _, p := range tc.peers {
				in.Peers = append(in.Peers, *p)
			}
			got := checkAddressesConsistent(in)
			for _, msg := range strings.Split(tc.msg, "|") {
				if got.Outcome != tc.want || !strings.Contains(got.Message, msg) {
					t.Errorf("got %s %q, want %s with %q", got.Outcome, got.Message, tc.want, msg)
				}
			}
		})
	}
}
