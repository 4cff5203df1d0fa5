package policy

import (
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

func clientsProfile(t *testing.T, ids string) *Profile {
	t.Helper()
	p, err := Parse("clients.yaml", []byte("extends: nhs-internet-first\nparams:\n  required_clients: ["+ids+"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientsRequired(t *testing.T) {
	ie11 := tlswarden.ClientResult{ID: "ie_11_win7", Name: "IE 11 Win 7", Method: tlswarden.ClientComputed,
		Reason: tlswarden.ClientNoSuite, Detail: "no cipher suite in common at TLSv1.2"}
	chrome := tlswarden.ClientResult{ID: "chrome_101_win10", Name: "Chrome 101 (Win 10)", Connects: true, Method: tlswarden.ClientHello,
		Version: tlswarden.TLS13, Suite: &tlswarden.Suite{Code: 0x1301, Name: "TLS_AES_128_GCM_SHA256"}, Group: "x25519"}
	estimated := chrome
	estimated.ID, estimated.Name, estimated.Method = "firefox_100_win10", "Firefox 100 (Win 10)", tlswarden.ClientEstimated
	withClients := func(cs ...tlswarden.ClientResult) func() *tlswarden.EndpointReport {
		return good(func(e *tlswarden.EndpointReport) {
			e.Clients = &tlswarden.ClientsResult{Clients: cs}
			e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "clients", Status: tlswarden.StatusOK})
		})
	}
	tests := []struct {
		name     string
		required string
		ep       func() *tlswarden.EndpointReport
		want     tlswarden.RuleOutcome
		msg      []string
	}{
		{"none required", "", withClients(ie11), na, []string{"names no required clients"}},
		{"all connect", "chrome_101_win10", withClients(ie11, chrome), pass_, []string{"Chrome 101 (Win 10) TLSv1.3 TLS_AES_128_GCM_SHA256"}},
		{"one fails, named with its reason", "chrome_101_win10, ie_11_win7", withClients(ie11, chrome), fail_,
			[]string{"1 of the 2 required clients", "IE 11 Win 7 (ie_11_win7): no cipher suite in common at TLSv1.2"}},
		{"not simulated", "chrome_101_win10, java_8u111", withClients(ie11, chrome), ne, []string{"not simulated in this scan: java_8u111"}},
		{"a failure beats one not simulated", "ie_11_win7, java_8u111", withClients(ie11, chrome), fail_, []string{"not simulated: java_8u111"}},
		{"estimated connection says so", "firefox_100_win10", withClients(estimated), pass_, []string{"estimated"}},
		{"probe failed", "ie_11_win7", good(func(e *tlswarden.EndpointReport) {
			e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "clients", Status: tlswarden.StatusTimeout, Error: "i/o timeout"})
		}), ne, []string{"clients probe ended with timeout"}},
		{"probe skipped", "ie_11_win7", good(func(e *tlswarden.EndpointReport) {
			e.Probes = append(e.Probes, tlswarden.ProbeStatus{Name: "clients", Status: tlswarden.StatusSkipped})
		}), tlswarden.RuleSkipped, []string{"--no-clients"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := clientsProfile(t, tc.required)
			f := judge(&Input{Endpoint: tc.ep(), Params: &p.Params}, &ProfileRule{Rule: &ruleClientsRequired, Severity: tlswarden.SeverityHigh})
			if f.Outcome != tc.want {
				t.Errorf("outcome %s, want %s: %s", f.Outcome, tc.want, f.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message %q lacks %q", f.Message, m)
				}
			}
		})
	}
}

// TestClientsRequiredKind checks that only the required clients that
// speak the target's protocol are judged: a browser on https, a mail
// client on the mail kinds, a library ("ANY") everywhere, and every
// client on kind tls and in reports that do not record services.
func TestClientsRequiredKind(t *testing.T) {
	browser := tlswarden.ClientResult{ID: "chrome_101_win10", Name: "Chrome 101 (Win 10)", Services: []string{"HTTP"},
		Reason: tlswarden.ClientNoSuite, Detail: "no cipher suite in common", Method: tlswarden.ClientComputed}
	mail := tlswarden.ClientResult{ID: "thunderbird_91_9", Name: "Thunderbird 91.9", Services: []string{"HTTP", "SMTP", "POP", "IMAP"},
		Connects: true, Version: tlswarden.TLS13, Method: tlswarden.ClientComputed}
	lib := tlswarden.ClientResult{ID: "openssl_303", Name: "OpenSSL 3.0.3", Services: []string{"ANY"},
		Reason: tlswarden.ClientNoVersion, Detail: "no version in common", Method: tlswarden.ClientComputed}
	old := browser
	old.Services = nil // a report from before services were recorded
	tests := []struct {
		kind     tlswarden.Kind
		required string
		clients  []tlswarden.ClientResult
		want     tlswarden.RuleOutcome
		msg      []string
	}{
		{"", "chrome_101_win10", []tlswarden.ClientResult{browser}, fail_, []string{"Chrome 101"}},
		{tlswarden.KindHTTPS, "chrome_101_win10, thunderbird_91_9", []tlswarden.ClientResult{browser, mail}, fail_, []string{"1 of the 2"}},
		{tlswarden.KindLDAP, "chrome_101_win10, thunderbird_91_9", []tlswarden.ClientResult{browser, mail}, na,
			[]string{"a ldap service", "Chrome 101 (Win 10) (chrome_101_win10), Thunderbird 91.9 (thunderbird_91_9)"}},
		{tlswarden.KindSMTP, "chrome_101_win10, thunderbird_91_9", []tlswarden.ClientResult{browser, mail}, pass_,
			[]string{"the 1 required clients connect: Thunderbird 91.9", "not applicable to a smtp service: Chrome 101"}},
		{tlswarden.KindMail, "chrome_101_win10, thunderbird_91_9", []tlswarden.ClientResult{browser, mail}, pass_, []string{"Thunderbird"}},
		{tlswarden.KindIMAPS, "chrome_101_win10, openssl_303", []tlswarden.ClientResult{browser, lib}, fail_,
			[]string{"1 of the 1", "OpenSSL 3.0.3", "not applicable"}},
		{tlswarden.KindPostgres, "openssl_303", []tlswarden.ClientResult{lib}, fail_, []string{"OpenSSL 3.0.3"}},
		{tlswarden.KindTLS, "chrome_101_win10", []tlswarden.ClientResult{browser}, fail_, []string{"Chrome 101"}},
		{tlswarden.KindLDAP, "chrome_101_win10", []tlswarden.ClientResult{old}, fail_, []string{"Chrome 101"}},
		{tlswarden.KindLDAP, "java_8u111", []tlswarden.ClientResult{browser}, ne, []string{"not simulated in this scan: java_8u111"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind)+" "+tc.required, func(t *testing.T) {
			p := clientsProfile(t, tc.required)
			e := good(func(e *tlswarden.EndpointReport) { e.Clients = &tlswarden.ClientsResult{Clients: tc.clients} })()
			in := &Input{Target: tlswarden.Target{Host: "h.example", Kind: tc.kind}, Endpoint: e, Params: &p.Params}
			f := judge(in, &ProfileRule{Rule: &ruleClientsRequired, Severity: tlswarden.SeverityHigh})
			if f.Outcome != tc.want {
				t.Errorf("outcome %s, want %s: %s", f.Outcome, tc.want, f.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(f.Message, m) {
					t.Errorf("message %q lacks %q", f.Message, m)
				}
			}
		})
	}
}

// TestClientsRequiredProfile checks that every built-in profile has the
// rule with no required client, that a custom profile's list reaches the
// evaluation's profile record (history reads it there), and that a
// failing required client makes the endpoint non-compliant.
func TestClientsRequiredProfile(t *testing.T) {
	for _, b := range Builtins() {
		if _, ok := b.Rule("clients.required_connect"); !ok || len(b.Params.RequiredClients) != 0 {
			t.Errorf("%s: rule present %v, required %v", b.Name, ok, b.Params.RequiredClients)
		}
	}
	p := clientsProfile(t, "ie_11_win7, android_442")
	e := good(nil)()
	e.Clients = &tlswarden.ClientsResult{Clients: []tlswarden.ClientResult{
		{ID: "ie_11_win7", Name: "IE 11 Win 7", Reason: tlswarden.ClientNoSuite, Method: tlswarden.ClientComputed},
		{ID: "android_442", Name: "Android 4.4.2", Connects: true, Version: tlswarden.TLS12, Method: tlswarden.ClientComputed},
	}}
	r := &tlswarden.Report{Target: tlswarden.Target{Host: "www.example"}, Status: tlswarden.StatusOK, Endpoints: []tlswarden.EndpointReport{*e}}
	ev := Evaluate(r, p, Options{})
	if got := ev.Profile.RequiredClients; len(got) != 2 || got[0] != "ie_11_win7" {
		t.Errorf("profile record: required clients %v", got)
	}
	if ev.Compliance != tlswarden.NonCompliant {
		t.Errorf("compliance %s, want non-compliant", ev.Compliance)
	}
	if _, err := Parse("bad.yaml", []byte("extends: nhs-internet-first\nparams:\n  required_clients: [\"IE 11\"]\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml:3") {
		t.Errorf("a client ID with a space: %v", err)
	}
}
