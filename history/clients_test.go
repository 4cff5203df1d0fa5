package history_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/store"
)

// withClients sets the profile's required clients and, on every endpoint,
// the answers of the clients: ID to whether it connects.
func withClients(r *store.ScanResult, required []string, connects map[string]bool) *store.ScanResult {
	r.Evaluation.Profile.RequiredClients = required
	for i := range r.Report.Endpoints {
		cr := &tlswarden.ClientsResult{}
		for _, id := range []string{"ie_11_win7", "android_442", "chrome_101_win10"} {
			ok, known := connects[id]
			if !known {
				continue
			}
			a := tlswarden.ClientResult{ID: id, Name: "name of " + id, Connects: ok, Method: tlswarden.ClientComputed}
			if ok {
				a.Version, a.Suite = tlswarden.TLS12, &tlswarden.Suite{Code: 0xc02f, Name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
			} else {
				a.Reason, a.Detail = tlswarden.ClientNoSuite, "no cipher suite in common at TLSv1.2"
			}
			cr.Clients = append(cr.Clients, a)
		}
		r.Report.Endpoints[i].Clients = cr
	}
	return r
}

func TestCompareClients(t *testing.T) {
	required := []string{"ie_11_win7", "android_442"}
	one := func(connects map[string]bool) *store.ScanResult {
		return withClients(scan(ep{addr: a, versions: modern, grade: "A"}), required, connects)
	}
	both := map[string]bool{"ie_11_win7": true, "android_442": true, "chrome_101_win10": true}
	ieFails := map[string]bool{"ie_11_win7": false, "android_442": true, "chrome_101_win10": true}
	chromeFails := map[string]bool{"ie_11_win7": true, "android_442": true, "chrome_101_win10": false}
	broken := history.Details{Summary: "name of ie_11_win7 no longer connects (no cipher suite in common at TLSv1.2) on example.org@" + a,
		Endpoints: []string{"example.org@" + a}, Client: "ie_11_win7", ClientName: "name of ie_11_win7",
		Reason: tlswarden.ClientNoSuite, Message: "no cipher suite in common at TLSv1.2"}
	restored := history.Details{Summary: "name of ie_11_win7 connects again with TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 on example.org@" + a,
		Endpoints: []string{"example.org@" + a}, Client: "ie_11_win7", ClientName: "name of ie_11_win7",
		Version: tlswarden.TLS12, Message: "TLSv1.2 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}
	// smtp: the browsers the profile requires are no concern of a mail server.
	smtp := func(connects map[string]bool) *store.ScanResult {
		r := one(connects)
		r.Report.Target.Kind = tlswarden.KindSMTP
		for i := range r.Report.Endpoints[0].Clients.Clients {
			r.Report.Endpoints[0].Clients.Clients[i].Services = []string{"HTTP"}
		}
		return r
	}
	newAddr := withClients(scan(ep{addr: a, versions: modern, grade: "A"}, ep{addr: b, versions: modern, grade: "A"}), required, ieFails)
	tests := []struct {
		name      string
		prev, cur *store.ScanResult
		want      []event
	}{
		{"a required client stops connecting", one(both), one(ieFails), []event{{history.EventClientBroken, true, broken}}},
		{"and connects again", one(ieFails), one(both), []event{{history.EventClientRestored, false, restored}}},
		{"still failing", one(ieFails), one(ieFails), nil},
		{"a client the profile does not name", one(both), one(chromeFails), nil},
		{"no required clients", withClients(scan(ep{addr: a, versions: modern, grade: "A"}), nil, both),
			withClients(scan(ep{addr: a, versions: modern, grade: "A"}), nil, ieFails), nil},
		{"a browser on an SMTP target", smtp(both), smtp(ieFails), nil},
		{"not simulated before", one(map[string]bool{"android_442": true}), one(ieFails), nil},
		{"a new address compared with the scan", one(both), newAddr, []event{{history.EventClientBroken, true, func() history.Details {
			d := broken
			d.Summary = "name of ie_11_win7 no longer connects (no cipher suite in common at TLSv1.2) on 2 endpoints"
			d.Endpoints = []string{"example.org@" + a, "example.org@" + b}
			return d
		}()}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, compare(t, tc.prev, tc.cur)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
