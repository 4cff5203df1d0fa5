package policy_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
)

// A stored report of a server that still accepts TLS 1.0, judged against
// the default profile: the Internet First rule fails, so the endpoint is
// non-compliant, and the grade is capped at B.
func ExampleEvaluate() {
	scanned := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	accept := func(v tlswarden.Version, code uint16, name string) tlswarden.VersionResult {
		return tlswarden.VersionResult{Version: v, Supported: true, Status: tlswarden.StatusOK,
			Suites: []tlswarden.Suite{{Code: code, Name: name, Group: "x25519"}}}
	}
	refuse := func(v tlswarden.Version) tlswarden.VersionResult {
		return tlswarden.VersionResult{Version: v, Status: tlswarden.StatusOK}
	}
	report := &tlswarden.Report{
		Target: tlswarden.Target{Host: "legacy.example.nhs.uk", Port: 443, Kind: tlswarden.KindHTTPS},
		Status: tlswarden.StatusOK, Finished: scanned,
		Endpoints: []tlswarden.EndpointReport{{
			Endpoint: tlswarden.Endpoint{Host: "legacy.example.nhs.uk", Addr: netip.MustParseAddrPort("192.0.2.7:443")},
			Status:   tlswarden.StatusOK,
			TLS: &tlswarden.TLSResult{Versions: []tlswarden.VersionResult{
				refuse(tlswarden.SSLv2), refuse(tlswarden.SSLv3),
				accept(tlswarden.TLS10, 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
				refuse(tlswarden.TLS11),
				accept(tlswarden.TLS12, 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
				refuse(tlswarden.TLS13),
			}},
		}},
	}
	profile, _ := policy.Builtin(policy.DefaultProfile)
	ev := policy.Evaluate(report, profile, policy.Options{})

	fmt.Println(ev.Profile.Name, ev.Profile.Version, ev.Compliance)
	e := ev.Endpoints[0]
	fmt.Println("grade", e.Grade.Letter)
	for _, f := range e.Findings {
		if f.Outcome == tlswarden.RuleFail && f.Severity >= profile.FailAt {
			fmt.Printf("%s %s: %s\n", f.Severity, f.RuleID, f.Message)
		}
	}
	// Output:
	// nhs-internet-first 2.01 non_compliant
	// grade B
	// critical tls.version.min: accepts TLSv1.0; the minimum is TLSv1.2
}
