package policy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

func vulnDerivedCases() []ruleCase {
	tls12 := func(names ...string) tlswarden.VersionResult {
		return accepts(tlswarden.TLS12, tlswarden.PreferClient, names...)
	}
	aead := "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
	dhe := func(bits int) tlswarden.VersionResult {
		v := tls12(aead, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256")
		v.Suites[1].DHBits = bits
		return v
	}
	sslv2 := accepts(tlswarden.SSLv2, "", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5")
	return []ruleCase{
		{"modern passes sweet32", &ruleSweet32, "", good(nil), pass_, ""},
		{"3DES", &ruleSweet32, "", withTLS(tls12(aead, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"), v13), fail_, "TLSv1.2 TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
		{"SSLv2 3DES spec", &ruleSweet32, "", withTLS(sslv2, v12ECDHE), fail_, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"},
		{"untested version", &ruleSweet32, "", withTLS(untested(tlswarden.TLS10), v12ECDHE), ne, "TLSv1.0"},
		{"RC4", &ruleRC4, "", withTLS(tls12(aead, "TLS_ECDHE_RSA_WITH_RC4_128_SHA")), fail_, "RC4"},
		{"no RC4", &ruleRC4, "", good(nil), pass_, ""},
		{"FREAK", &ruleFREAK, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"), v12ECDHE), fail_, "RSA_EXPORT"},
		{"DH export is not FREAK", &ruleFREAK, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"), v12ECDHE), pass_, ""},
		{"LOGJAM export", &ruleLogjam, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"), v12ECDHE), fail_, "DHE_RSA_EXPORT"},
		{"RSA export is not LOGJAM", &ruleLogjam, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA"), v12ECDHE), pass_, ""},
		{"export", &ruleExport, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_RSA_EXPORT_WITH_RC4_40_MD5"), v12ECDHE), fail_, "export"},
		{"NULL", &ruleNULL, "", withTLS(tls12(aead, "TLS_RSA_WITH_NULL_SHA256")), fail_, "NULL_SHA256"},
		{"anonymous", &ruleAnonymous, "", withTLS(tls12(aead, "TLS_DH_anon_WITH_AES_128_GCM_SHA256")), fail_, "DH_anon"},
		{"DH 1024", &ruleLogjamPrime, "", withTLS(dhe(1024), v13), fail_, "DHE_RSA"},
		{"DH 2048", &ruleLogjamPrime, "", withTLS(dhe(2048), v13), pass_, ""},
		{"POODLE", &rulePOODLE, "", withTLS(accepts(tlswarden.SSLv3, "", "TLS_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), fail_, "SSLv3 accepted with CBC"},
		{"SSLv3 RC4 only is not POODLE", &rulePOODLE, "", withTLS(accepts(tlswarden.SSLv3, "", "TLS_RSA_WITH_RC4_128_SHA"), v12ECDHE), pass_, ""},
		{"SSLv3 untested", &rulePOODLE, "", withTLS(untested(tlswarden.SSLv3), v12ECDHE), ne, "SSLv3"},
		{"BEAST mitigated", &ruleBEAST, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"), v12ECDHE), fail_, "likely mitigated"},
		{"BEAST TLS 1.0 only", &ruleBEAST, "", withTLS(accepts(tlswarden.TLS10, "", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA")), fail_, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"},
		{"no BEAST", &ruleBEAST, "", good(nil), pass_, ""},
		{"LUCKY13", &ruleLucky13, "", withTLS(tls12(aead, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256")), fail_, "CBC"},
		{"no LUCKY13", &ruleLucky13, "", good(nil), pass_, ""},
		{"DROWN SSLv2 here", &ruleDROWN, "", withTLS(sslv2, v12ECDHE), fail_, "SSLv2 accepted"},
		{"no DROWN", &ruleDROWN, "", good(nil), pass_, "no SSLv2 endpoint"},
		{"DROWN without a certificate", &ruleDROWN, "", good(func(e *tlswarden.EndpointReport) { e.Cert = nil }), ne, "not examined"},
		{"DROWN SSLv2 untested", &ruleDROWN, "", withTLS(untested(tlswarden.SSLv2), v12ECDHE), ne, "SSLv2"},
	}
}

func TestVulnDerivedRules(t *testing.T) {
	for _, tc := range vulnDerivedCases() {
		t.Run(tc.rule.ID+"/"+tc.name, func(t *testing.T) {
			got := run(t, tc.rule, mustBuiltin(t, DefaultProfile), tc.ep())
			if got.Outcome != tc.want || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("got %s %q, want %s with %q", got.Outcome, got.Message, tc.want, tc.msg)
			}
		})
	}
}

// rsaEndpoint is a good endpoint at addr with an RSA leaf of the given
// fingerprint, accepting SSLv2 when sslv2 is set.
func rsaEndpoint(addr, sha string, sslv2 bool) *tlswarden.EndpointReport {
	e := good(nil)()
	e.Endpoint.Addr = netip.MustParseAddrPort(addr)
	e.Cert.Chain[0].KeyType, e.Cert.Chain[0].KeyBits, e.Cert.Chain[0].SHA256 = "RSA", 2048, sha
	if sslv2 {
		e.TLS = groups(tlsResult(accepts(tlswarden.SSLv2, "", "SSL_CK_RC4_128_WITH_MD5"), v12ECDHE, v13), "x25519")
	}
	return e
}

// TestDROWNAcrossEndpoints checks that an endpoint without SSLv2 fails
// DROWN, and is graded F, when another endpoint serves its RSA certificate
// with SSLv2: in the same report, or in one passed through Options.
func TestDROWNAcrossEndpoints(t *testing.T) {
	drownOf := func(ee tlswarden.EndpointEvaluation) (tlswarden.Finding, bool) {
		i := slices.IndexFunc(ee.Findings, func(f tlswarden.Finding) bool { return f.RuleID == "vuln.drown" })
		hasCap := slices.ContainsFunc(ee.Grade.Caps, func(c tlswarden.GradeCap) bool { return strings.HasPrefix(c.Reason, "DROWN") })
		return ee.Findings[i], hasCap && ee.Grade.Letter == "F"
	}
	p := mustBuiltin(t, DefaultProfile)
	t.Run("same report", func(t *testing.T) {
		r := report(rsaEndpoint("192.0.2.10:443", "aa", false), rsaEndpoint("192.0.2.11:443", "aa", true), rsaEndpoint("192.0.2.12:443", "bb", false))
		ev := Evaluate(r, p, Options{})
		for i, want := range []bool{true, true, false} {
			f, capped := drownOf(ev.Endpoints[i])
			if (f.Outcome == tlswarden.RuleFail) != want || i != 1 && capped != want {
				t.Errorf("endpoint %d: %s %q, capped %v; want failing %v", i, f.Outcome, f.Message, capped, want)
			}
		}
		if f, _ := drownOf(ev.Endpoints[0]); !strings.Contains(f.Message, "192.0.2.11:443") {
			t.Errorf("message %q does not name the SSLv2 endpoint", f.Message)
		}
	})
	t.Run("other report", func(t *testing.T) {
		other := report(rsaEndpoint("192.0.2.20:443", "aa", true))
		r := report(rsaEndpoint("192.0.2.10:443", "aa", false))
		if f, capped := drownOf(Evaluate(r, p, Options{}).Endpoints[0]); f.Outcome != tlswarden.RulePass || capped {
			t.Errorf("alone: %s %q capped %v, want pass", f.Outcome, f.Message, capped)
		}
		if f, capped := drownOf(Evaluate(r, p, Options{SSLv2Leaves: SSLv2Leaves(other)}).Endpoints[0]); f.Outcome != tlswarden.RuleFail || !capped {
			t.Errorf("with the other report: %s %q capped %v, want fail and F", f.Outcome, f.Message, capped)
		}
	})
	t.Run("same key in another certificate and chain", func(t *testing.T) {
		sslv2 := rsaEndpoint("192.0.2.20:443", "aa", true)
		sslv2.Cert.Chain[0].SPKISHA256 = "key"
		// The endpoint judged serves an ECDSA chain first and, to RSA-only
		// clients, another certificate for the same RSA key.
		e := rsaEndpoint("192.0.2.10:443", "ec", false)
		e.Cert.Chain[0].KeyType = "ECDSA"
		rsa := *e.Cert
		rsa.Chain = []tlswarden.Certificate{{SHA256: "bb", SPKISHA256: "key", KeyType: "RSA", KeyBits: 2048}}
		e.Cert.OtherChains = []tlswarden.CertResult{rsa}
		r := report(e)
		if f, capped := drownOf(Evaluate(r, p, Options{}).Endpoints[0]); f.Outcome != tlswarden.RulePass || capped {
			t.Errorf("alone: %s %q capped %v, want pass", f.Outcome, f.Message, capped)
		}
		f, capped := drownOf(Evaluate(r, p, Options{SSLv2Leaves: SSLv2Leaves(report(sslv2))}).Endpoints[0])
		if f.Outcome != tlswarden.RuleFail || !capped || !strings.Contains(f.Message, "192.0.2.20:443") {
			t.Errorf("with the SSLv2 endpoint's key: %s %q capped %v, want fail and F", f.Outcome, f.Message, capped)
		}
	})
}

// withVuln is a good endpoint with the weakness probe's answers of a
// patched server, changed by edit.
func withVuln(edit func(v *tlswarden.VulnResult)) func() *tlswarden.EndpointReport {
	return good(func(e *tlswarden.EndpointReport) {
		e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "vuln", Status: tlswarden.StatusOK})
		e.Vuln = &tlswarden.VulnResult{
			Features: &tlswarden.TLSFeatures{
				Status: tlswarden.StatusOK, Version: tlswarden.TLS12, Compression: "null", SecureRenegotiation: true,
			},
			CCSInjection: &tlswarden.CCSResult{Status: tlswarden.StatusOK, Answer: "alert unexpected_message"},
			FallbackSCSV: &tlswarden.FallbackResult{Status: tlswarden.StatusOK, Offered: tlswarden.TLS11, Rejected: true},
			Resumption:   &tlswarden.ResumptionResult{Status: tlswarden.StatusOK, TicketIssued: true, ResumedWithTicket: true},
			Ticketbleed: &tlswarden.TicketbleedResult{
				Status: tlswarden.StatusOK, Tested: true, Resumed: true, SessionIDSent: 16, SessionIDEchoed: 16,
			},
			TLS13Resumption: &tlswarden.TLS13ResumptionResult{Status: tlswarden.StatusOK, Tested: true, TicketIssued: true, Resumed: true},
			ClientRenegotiation: &tlswarden.RenegotiationResult{
				Status: tlswarden.StatusOK, Tested: true, Secure: true, Answer: "alert no_renegotiation (warning)",
			},
		}
		if edit != nil {
			edit(e.Vuln)
		}
	})
}

// withCBC is withVuln on a server that also accepts a CBC suite Go's
// client does not offer.
func withCBC(edit func(v *tlswarden.VulnResult)) func() *tlswarden.EndpointReport {
	return func() *tlswarden.EndpointReport {
		e := withVuln(edit)()
		e.TLS = groups(tlsResult(v13, accepts(tlswarden.TLS12, tlswarden.PreferServer,
			"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA")), "x25519")
		return e
	}
}

// Answers of the padding oracle check: alike, an oracle (twice), and a
// difference that did not repeat.
const (
	alike = iota
	oracle
	noise
)

// paddingResult sets a tested padding oracle check with answers of kind.
func paddingResult(kind int) func(v *tlswarden.VulnResult) {
	return func(v *tlswarden.VulnResult) {
		po := &tlswarden.PaddingOracleResult{Status: tlswarden.StatusOK, Tested: true, Version: tlswarden.TLS12, CipherSuite: 0xc013}
		for i, rec := range []string{"valid MAC, invalid padding", "invalid MAC, valid padding"} {
			a := "alert bad_record_mac (fatal), then closed"
			if kind != alike && i == 0 {
				a = "closed"
			}
			po.Answers = append(po.Answers, tlswarden.PaddingAnswer{Record: rec, Answer: a})
		}
		po.Consistent, po.Oracle = kind == oracle, kind == oracle
		v.PaddingOracle = po
	}
}

func vulnActiveCases() []ruleCase {
	heartbeat := func(answered bool) func(v *tlswarden.VulnResult) {
		return func(v *tlswarden.VulnResult) {
			v.Features.Heartbeat = true
			v.Heartbleed = &tlswarden.HeartbleedResult{Status: tlswarden.StatusOK, Tested: true, OverlongAnswered: answered, Answer: "no answer"}
		}
	}
	tls13Only := good(func(e *tlswarden.EndpointReport) {
		e.TLS = groups(tlsResult(v13), "x25519")
		e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "vuln", Status: tlswarden.StatusOK})
		e.Vuln = &tlswarden.VulnResult{Features: &tlswarden.TLSFeatures{Status: tlswarden.StatusHandshakeError, Error: "alert protocol_version"}}
	})
	return []ruleCase{
		{"no heartbeat", &ruleHeartbleed, "", withVuln(nil), pass_, "not offered"},
		{"heartbleed", &ruleHeartbleed, "", withVuln(heartbeat(true)), fail_, "answered"},
		{"heartbeat patched", &ruleHeartbleed, "", withVuln(heartbeat(false)), pass_, "not answered"},
		{"heartbleed turned off", &ruleHeartbleed, "", withVuln(func(v *tlswarden.VulnResult) {
			v.Features.Heartbeat, v.Skipped = true, []string{"heartbleed", "ccs_injection"}
		}), tlswarden.RuleSkipped, "--no-intrusive"},
		{"probe not run", &ruleHeartbleed, "", good(nil), na, "not run"},
		{"probe skipped", &ruleCCSInjection, "", good(func(e *tlswarden.EndpointReport) {
			e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "vuln", Status: tlswarden.StatusSkipped})
		}), tlswarden.RuleSkipped, "--no-vulns"},
		{"probe failed", &ruleHeartbleed, "", good(func(e *tlswarden.EndpointReport) {
			e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "vuln", Status: tlswarden.StatusTimeout, Error: "i/o timeout"})
		}), ne, "timeout"},
		{"TLS 1.3 only", &ruleHeartbleed, "", tls13Only, na, "TLS 1.3"},
		{"ccs refused", &ruleCCSInjection, "", withVuln(nil), pass_, "unexpected_message"},
		{"ccs taken", &ruleCCSInjection, "", withVuln(func(v *tlswarden.VulnResult) {
			v.CCSInjection.EarlyCCSAccepted, v.CCSInjection.Answer = true, "alert bad_record_mac"
		}), fail_, "bad_record_mac"},
		{"ccs unfinished", &ruleCCSInjection, "", withVuln(func(v *tlswarden.VulnResult) {
			v.CCSInjection.Status, v.CCSInjection.Error = tlswarden.StatusReset, "connection reset"
		}), ne, "connection reset"},
		{"secure renegotiation", &ruleSecureRenegotiation, "", withVuln(nil), pass_, ""},
		{"no secure renegotiation", &ruleSecureRenegotiation, "", withVuln(func(v *tlswarden.VulnResult) { v.Features.SecureRenegotiation = false }), fail_, "not answered"},
		{"client renegotiation refused", &ruleClientRenegotiation, "", withVuln(nil), pass_, "no_renegotiation"},
		{"client renegotiation secure", &ruleClientRenegotiation, "", withVuln(func(v *tlswarden.VulnResult) {
			v.ClientRenegotiation.Accepted, v.ClientRenegotiation.Answer = true, "ServerHello"
		}), fail_, "allowed (secure"},
		{"client renegotiation insecure", &ruleClientRenegotiation, "", withVuln(func(v *tlswarden.VulnResult) {
			v.Features.SecureRenegotiation = false
			v.ClientRenegotiation.Accepted, v.ClientRenegotiation.Secure, v.ClientRenegotiation.Answer = true, false, "ServerHello"
		}), fail_, "insecure"},
		{"client renegotiation turned off", &ruleClientRenegotiation, "", withVuln(func(v *tlswarden.VulnResult) {
			v.ClientRenegotiation, v.Skipped = nil, []string{"client_initiated_renegotiation"}
		}), tlswarden.RuleSkipped, "--no-intrusive"},
		{"client renegotiation without TLS 1.2", &ruleClientRenegotiation, "", withVuln(func(v *tlswarden.VulnResult) {
			v.ClientRenegotiation = &tlswarden.RenegotiationResult{Status: tlswarden.StatusOK}
		}), na, "no TLS 1.2"},
		{"client renegotiation unfinished", &ruleClientRenegotiation, "", withVuln(func(v *tlswarden.VulnResult) {
			v.ClientRenegotiation.Status, v.ClientRenegotiation.Error = tlswarden.StatusHandshakeError, "remote error: handshake failure"
		}), ne, "handshake failure"},
		{"ticketbleed clean", &ruleTicketbleed, "", withVuln(nil), pass_, "same ID"},
		{"ticketbleed", &ruleTicketbleed, "", withVuln(func(v *tlswarden.VulnResult) {
			v.Ticketbleed.Leaked, v.Ticketbleed.SessionIDEchoed = true, 32
		}), fail_, "16-byte session ID resumed with a 32-byte one"},
		{"ticketbleed no ticket", &ruleTicketbleed, "", withVuln(func(v *tlswarden.VulnResult) {
			v.Resumption.TicketIssued, v.Ticketbleed = false, &tlswarden.TicketbleedResult{Status: tlswarden.StatusOK}
		}), pass_, "no session ticket"},
		{"ticketbleed handshake failed", &ruleTicketbleed, "", withVuln(func(v *tlswarden.VulnResult) {
			v.Resumption = &tlswarden.ResumptionResult{Status: tlswarden.StatusHandshakeError, Error: "remote error"}
			v.Ticketbleed = &tlswarden.TicketbleedResult{Status: tlswarden.StatusOK}
		}), ne, "full handshake failed"},
		{"ticketbleed before the check", &ruleTicketbleed, "", withVuln(func(v *tlswarden.VulnResult) { v.Ticketbleed = nil }), na, "before"},
		{"no 0-RTT", &ruleEarlyData, "", withVuln(nil), pass_, "no 0-RTT"},
		{"0-RTT accepted", &ruleEarlyData, "", withVuln(func(v *tlswarden.VulnResult) {
			v.TLS13Resumption.MaxEarlyData, v.TLS13Resumption.EarlyDataAccepted = 16384, true
		}), fail_, "accepted"},
		{"0-RTT allowed by the ticket", &ruleEarlyData, "", withVuln(func(v *tlswarden.VulnResult) {
			v.TLS13Resumption.MaxEarlyData = 16384
		}), fail_, "not answered"},
		{"0-RTT without TLS 1.3", &ruleEarlyData, "", withVuln(func(v *tlswarden.VulnResult) {
			v.TLS13Resumption = &tlswarden.TLS13ResumptionResult{Status: tlswarden.StatusOK}
		}), na, "no TLS 1.3"},
		{"0-RTT check failed", &ruleEarlyData, "", withVuln(func(v *tlswarden.VulnResult) {
			v.TLS13Resumption.Status, v.TLS13Resumption.Error = tlswarden.StatusTimeout, "i/o timeout"
		}), ne, "i/o timeout"},
		{"0-RTT on a TLS 1.3-only server", &ruleEarlyData, "", good(func(e *tlswarden.EndpointReport) {
			e.TLS = groups(tlsResult(v13), "x25519")
			e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "vuln", Status: tlswarden.StatusOK})
			e.Vuln = &tlswarden.VulnResult{
				Features:        &tlswarden.TLSFeatures{Status: tlswarden.StatusHandshakeError, Error: "alert protocol_version"},
				TLS13Resumption: &tlswarden.TLS13ResumptionResult{Status: tlswarden.StatusOK, Tested: true, TicketIssued: true, Resumed: true, MaxEarlyData: 1, EarlyDataAccepted: true},
			}
		}), fail_, "accepted"},
		{"0-RTT probe not run", &ruleEarlyData, "", good(nil), na, "not run"},
		{"no compression", &ruleCRIME, "", withVuln(nil), pass_, ""},
		{"crime", &ruleCRIME, "", withVuln(func(v *tlswarden.VulnResult) { v.Features.Compression = "deflate" }), fail_, "deflate"},
		{"robot no RSA", &ruleROBOT, "", withVuln(func(v *tlswarden.VulnResult) { v.ROBOT = &tlswarden.ROBOTResult{Status: tlswarden.StatusOK} }), pass_, "no RSA"},
		{"robot alike", &ruleROBOT, "", withVuln(func(v *tlswarden.VulnResult) {
			v.ROBOT = &tlswarden.ROBOTResult{Status: tlswarden.StatusOK, Tested: true, Answers: []string{"alert bad_record_mac", "alert bad_record_mac"}}
		}), pass_, "alike"},
		{"robot oracle", &ruleROBOT, "", withVuln(func(v *tlswarden.VulnResult) {
			v.ROBOT = &tlswarden.ROBOTResult{Status: tlswarden.StatusOK, Tested: true, Consistent: true, Oracle: true, Answers: []string{"alert bad_record_mac", "alert handshake_failure"}}
		}), fail_, "handshake_failure"},
		{"robot noise", &ruleROBOT, "", withVuln(func(v *tlswarden.VulnResult) {
			v.ROBOT = &tlswarden.ROBOTResult{Status: tlswarden.StatusOK, Tested: true, Answers: []string{"alert bad_record_mac", "closed"}}
		}), ne, "not the same way twice"},
		{"robot not run", &ruleROBOT, "", withVuln(nil), ne, "did not finish"},
		{"padding alike", &rulePaddingOracle, "", withCBC(paddingResult(alike)), pass_, "alike: alert bad_record_mac (fatal), then closed"},
		{"padding oracle", &rulePaddingOracle, "", withCBC(paddingResult(oracle)), fail_, "valid MAC, invalid padding: closed; invalid MAC, valid padding: alert bad_record_mac"},
		{"padding noise", &rulePaddingOracle, "", withCBC(paddingResult(noise)), ne, "not the same way twice"},
		{"padding no CBC in common, CBC accepted", &rulePaddingOracle, "", withCBC(func(v *tlswarden.VulnResult) {
			v.PaddingOracle = &tlswarden.PaddingOracleResult{Status: tlswarden.StatusOK, Reason: "the handshake was refused: remote error: tls: handshake failure"}
		}), ne, "TLSv1.2 TLS_DHE_RSA_WITH_AES_128_CBC_SHA"},
		{"padding no CBC", &rulePaddingOracle, "", withVuln(func(v *tlswarden.VulnResult) {
			v.PaddingOracle = &tlswarden.PaddingOracleResult{Status: tlswarden.StatusOK, Reason: "refused: handshake failure"}
		}), pass_, "no CBC suite is accepted"},
		{"padding unfinished", &rulePaddingOracle, "", withCBC(func(v *tlswarden.VulnResult) {
			v.PaddingOracle = &tlswarden.PaddingOracleResult{Status: tlswarden.StatusTimeout, Error: "i/o timeout"}
		}), ne, "i/o timeout"},
		{"padding turned off", &rulePaddingOracle, "", withCBC(func(v *tlswarden.VulnResult) { v.Skipped = []string{"padding_oracle"} }), tlswarden.RuleSkipped, "--no-intrusive"},
		{"padding before the check", &rulePaddingOracle, "", withCBC(nil), na, "before"},
		{"fallback refused", &ruleFallbackSCSV, "", withVuln(nil), pass_, "inappropriate_fallback"},
		{"fallback accepted", &ruleFallbackSCSV, "", withVuln(func(v *tlswarden.VulnResult) {
			v.FallbackSCSV.Rejected, v.FallbackSCSV.Answer = false, "ServerHello with TLSv1.1"
		}), fail_, "ServerHello with TLSv1.1"},
		{"nothing to fall back to", &ruleFallbackSCSV, "", withVuln(func(v *tlswarden.VulnResult) {
			v.FallbackSCSV.Rejected, v.FallbackSCSV.Answer = false, "alert protocol_version"
		}), na, "TLSv1.1 is not accepted"},
		{"fallback from TLS 1.0", &ruleFallbackSCSV, "", withVuln(func(v *tlswarden.VulnResult) {
			v.FallbackSCSV = &tlswarden.FallbackResult{Status: tlswarden.StatusOK}
		}), na, "no version below"},
	}
}

func TestVulnActiveRules(t *testing.T) {
	for _, tc := range vulnActiveCases() {
		t.Run(tc.rule.ID+"/"+tc.name, func(t *testing.T) {
			got := run(t, tc.rule, mustBuiltin(t, DefaultProfile), tc.ep())
			if got.Outcome != tc.want || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("got %s %q, want %s with %q", got.Outcome, got.Message, tc.want, tc.msg)
			}
		})
	}
}

func TestVulnGradeCaps(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(v *tlswarden.VulnResult)
		letter string
		cap    string
	}{
		{"patched", nil, "A+", ""},
		{"heartbleed", func(v *tlswarden.VulnResult) {
			v.Features.Heartbeat, v.Heartbleed = true, &tlswarden.HeartbleedResult{Status: tlswarden.StatusOK, Tested: true, OverlongAnswered: true}
		}, "F", "Heartbleed"},
		{"ccs", func(v *tlswarden.VulnResult) { v.CCSInjection.EarlyCCSAccepted = true }, "F", "CCS injection"},
		{"robot", func(v *tlswarden.VulnResult) {
			v.ROBOT = &tlswarden.ROBOTResult{Status: tlswarden.StatusOK, Tested: true, Oracle: true}
		}, "F", "ROBOT"},
		{"crime", func(v *tlswarden.VulnResult) { v.Features.Compression = "deflate" }, "C", "CRIME"},
		{"ticketbleed", func(v *tlswarden.VulnResult) { v.Ticketbleed.Leaked = true }, "F", "Ticketbleed"},
		{"padding oracle", paddingResult(oracle), "F", "CBC padding oracle"},
		{"no secure renegotiation", func(v *tlswarden.VulnResult) {
			v.Features.SecureRenegotiation, v.ClientRenegotiation.Secure = false, false
		}, "A-", "renegotiation"},
		{"secure client-initiated renegotiation", func(v *tlswarden.VulnResult) { v.ClientRenegotiation.Accepted = true }, "A+", ""},
		{"insecure client-initiated renegotiation", func(v *tlswarden.VulnResult) {
			v.Features.SecureRenegotiation, v.ClientRenegotiation.Secure, v.ClientRenegotiation.Accepted = false, false, true
		}, "F", "insecure client-initiated renegotiation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := GradeTLS(withVuln(tc.edit)(), now)
			if g.Letter != tc.letter || tc.cap != "" && !slices.ContainsFunc(g.Caps, func(c tlswarden.GradeCap) bool { return strings.Contains(c.Reason, tc.cap) }) {
				t.Errorf("grade %s, caps %+v; want %s with %q", g.Letter, g.Caps, tc.letter, tc.cap)
			}
		})
	}
	g := GradeTLS(withVuln(func(v *tlswarden.VulnResult) {
		v.Features.SecureRenegotiation, v.ClientRenegotiation, v.Skipped = false, nil, []string{"client_initiated_renegotiation"}
	})(), now)
	if !slices.ContainsFunc(g.Incomplete, func(s string) bool { return strings.Contains(s, "insecure client-initiated renegotiation cap") }) {
		t.Errorf("no secure renegotiation, renegotiation untested: incomplete %q", g.Incomplete)
	}
	g = GradeTLS(withTLS(accepts(tlswarden.TLS12, tlswarden.PreferServer, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"), v13)(), now)
	for _, want := range []string{"weakness checks not made", "ROBOT", "padding-oracle"} {
		if !slices.ContainsFunc(g.Incomplete, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("incomplete %q lacks %q", g.Incomplete, want)
		}
	}
}

// TestPaddingOracleIncomplete checks the padding-oracle caps are named
// as not tested, with the reason, exactly when the check did not settle
// them on a server accepting CBC suites.
func TestPaddingOracleIncomplete(t *testing.T) {
	tests := []struct {
		name string
		edit func(v *tlswarden.VulnResult)
		want string // "" for no padding-oracle note
	}{
		{"alike", paddingResult(alike), ""},
		{"oracle", paddingResult(oracle), ""},
		{"noise", paddingResult(noise), "not the same way twice"},
		{"not run", nil, "not run"},
		{"turned off", func(v *tlswarden.VulnResult) { v.Skipped = []string{"padding_oracle"} }, "turned off"},
		{"no Go CBC suite", func(v *tlswarden.VulnResult) {
			v.PaddingOracle = &tlswarden.PaddingOracleResult{Status: tlswarden.StatusOK, Reason: "refused: handshake failure"}
		}, "no AES-CBC suite Go's client offers could be negotiated (refused: handshake failure)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := GradeTLS(withCBC(tc.edit)(), now)
			i := slices.IndexFunc(g.Incomplete, func(s string) bool { return strings.Contains(s, "padding-oracle") })
			switch {
			case tc.want == "" && i >= 0:
				t.Errorf("incomplete %q names the padding-oracle caps", g.Incomplete)
			case tc.want != "" && (i < 0 || !strings.Contains(g.Incomplete[i], tc.want)):
				t.Errorf("incomplete %q, want a padding-oracle note with %q", g.Incomplete, tc.want)
			}
		})
	}
}

// TestIntrusiveChecksParam reads the profile parameter that turns the
// intrusive weakness checks off.
func TestIntrusiveChecksParam(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		off  bool
	}{
		{"extends: ncsc\nparams:\n  intrusive_checks: false\n", true},
		{"extends: ncsc\nparams:\n  intrusive_checks: true\n", false},
		{"extends: ncsc\n", false},
	} {
		p, err := Parse("p.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if p.Params.NoIntrusive != tc.off {
			t.Errorf("%q: NoIntrusive %v, want %v", tc.yaml, p.Params.NoIntrusive, tc.off)
		}
	}
}
