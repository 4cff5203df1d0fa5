package web_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/policy"
)

// withClientAnswers returns a copy of rep whose endpoints carry a client
// simulation in which IE 11 on Windows 7 connects or not.
func withClientAnswers(rep tlswarden.Report, ieConnects bool) tlswarden.Report {
	ie := tlswarden.ClientResult{ID: "ie_11_win7", Name: "IE 11 Win 7", Method: tlswarden.ClientComputed,
		Reason: tlswarden.ClientNoSuite, Detail: "no cipher suite in common at TLSv1.2"}
	if ieConnects {
		ie = tlswarden.ClientResult{ID: "ie_11_win7", Name: "IE 11 Win 7", Connects: true, Method: tlswarden.ClientComputed,
			Version: tlswarden.TLS12, Suite: &tlswarden.Suite{Code: 0xc030, Name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}, Group: "secp256r1"}
	}
	chrome := tlswarden.ClientResult{ID: "chrome_101_win10", Name: "Chrome 101 (Win 10)", Connects: true, Method: tlswarden.ClientHello,
		Version: tlswarden.TLS12, Suite: &tlswarden.Suite{Code: 0xc02f, Name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, Group: "x25519",
		Chain: "RSA:0123456789abcdef0123"}
	eps := make([]tlswarden.EndpointReport, len(rep.Endpoints))
	copy(eps, rep.Endpoints)
	for i := range eps {
		eps[i].Clients = &tlswarden.ClientsResult{Source: "testssl.sh 3.0.8", Clients: []tlswarden.ClientResult{chrome, ie}, Hellos: 1}
	}
	rep.Endpoints = eps
	return rep
}

// TestReportClients: the report page has the client table (the required
// client first, marked, with why it fails), and the history page the
// event of the required client that stopped connecting.
func TestReportClients(t *testing.T) {
	st := testdb.Open(t, "sqlite").Store
	e := &estate{st: st}
	rep := readLab(t, "modern")
	p, _ := policy.Builtin(policy.DefaultProfile)
	p.Params.RequiredClients = []string{"ie_11_win7"}
	tg := e.target(t, rep.Target, "web-team", "prod")
	before := withClientAnswers(rep, true)
	before.Started, before.Finished = rep.Started.AddDate(0, 0, -1), rep.Finished.AddDate(0, 0, -1)
	first, _ := e.finish(t, tg.ID, &before, p, nil)
	after := withClientAnswers(rep, false)
	e.finish(t, tg.ID, &after, p, &first)
	s := newServer(t, st, false)

	resp, body := get(t, s, fmt.Sprintf("/targets/%d", tg.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("report: %s\n%s", resp.Status, body)
	}
	txt := text(body)
	wantAll(t, "report", txt, "Clients", "1 of 2 simulated clients connect; 1 the profile requires do not",
		"IE 11 Win 7 (required) no no cipher suite in common at TLSv1.2",
		"Chrome 101 (Win 10) yes TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 x25519 RSA 0123456789ab", "Client list: testssl.sh 3.0.8")
	resp, body = get(t, s, fmt.Sprintf("/targets/%d/history", tg.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history: %s\n%s", resp.Status, body)
	}
	wantAll(t, "history", text(body), "regression : client broken", "IE 11 Win 7 no longer connects (no cipher suite in common at TLSv1.2)")
}
