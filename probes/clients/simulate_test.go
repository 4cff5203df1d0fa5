package clients

import (
	"slices"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
)

// server describes an endpoint's enumerated facts for the tests.
type server struct {
	versions map[tlswarden.Version][]uint16 // suites, in the server's order
	pref     tlswarden.Preference
	legacy   []uint16 // curves over TLS 1.2 and older
	tls13    []uint16 // TLS 1.3 groups
	dhBits   int
	keys     []string // leaf key types, primary first
	noSNI    bool     // another leaf without SNI
}

func (s server) report() *tlswarden.EndpointReport {
	tr := &tlswarden.TLSResult{}
	for _, v := range tlswarden.AllVersions {
		vr := tlswarden.VersionResult{Version: v, Status: tlswarden.StatusOK, Preference: s.pref}
		for _, code := range s.versions[v] {
			vr.Suites = append(vr.Suites, tlswarden.Suite{Code: code, Name: iana.SuiteName(code), DHBits: s.dhBits})
		}
		vr.Supported = len(vr.Suites) > 0
		tr.Versions = append(tr.Versions, vr)
	}
	if s.legacy != nil {
		tr.GroupsByVersion = append(tr.GroupsByVersion, tlswarden.GroupScan{Version: tlswarden.TLS12, Groups: groups(s.legacy)})
	}
	if s.tls13 != nil {
		tr.GroupsByVersion = append(tr.GroupsByVersion, tlswarden.GroupScan{Version: tlswarden.TLS13, Groups: groups(s.tls13)})
	}
	er := &tlswarden.EndpointReport{Endpoint: tlswarden.Endpoint{Host: "www.example"}, TLS: tr}
	for i, k := range s.keys {
		bits := map[string]int{"RSA": 2048, "ECDSA": 256}[k]
		c := tlswarden.CertResult{Chain: []tlswarden.Certificate{{SHA256: k + "leaf", KeyType: k, KeyBits: bits, SignatureAlgorithm: "SHA256-RSA"}}}
		if i == 0 {
			er.Cert = &c
		} else {
			er.Cert.OtherChains = append(er.Cert.OtherChains, c)
		}
	}
	if s.noSNI {
		er.Cert.DiffersWithoutSNI, er.Cert.LeafSHA256WithoutSNI = true, "other"
	}
	return er
}

func groups(codes []uint16) []tlswarden.Group {
	var out []tlswarden.Group
	for _, c := range codes {
		out = append(out, tlswarden.Group{Code: c, Name: iana.GroupName(c)})
	}
	return out
}

const (
	x25519 = 0x001d
	p256   = 0x0017
	p384   = 0x0018
)

func TestSimulate(t *testing.T) {
	tls12GCM := server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS12: {0xc02f, 0xc030}}, pref: tlswarden.PreferServer,
		legacy: []uint16{x25519, p256}, keys: []string{"RSA"}}
	tls10 := server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS10: {0xc014, 0xc013, 0x0035, 0x002f}}, pref: tlswarden.PreferServer,
		legacy: []uint16{p256}, keys: []string{"RSA"}}
	tests := []struct {
		name    string
		srv     server
		client  string
		connect bool
		reason  string
		version tlswarden.Version
		suite   uint16
		group   string
		open    bool
	}{
		{"IE 11 Win 7 has no ECDHE-RSA-GCM", tls12GCM, "ie_11_win7", false, tlswarden.ClientNoSuite, 0, 0, "", false},
		{"Chrome 101 gets the server's first", tls12GCM, "chrome_101_win10", true, "", tlswarden.TLS12, 0xc02f, "x25519", false},
		{"IE 11 Win 7 over TLS 1.0", tls10, "ie_11_win7", true, "", tlswarden.TLS10, 0xc014, "secp256r1", false},
		{"Chrome 101 has no TLS 1.0", tls10, "chrome_101_win10", false, tlswarden.ClientNoVersion, 0, 0, "", false},
		{"client order", server{versions: tls10.versions, pref: tlswarden.PreferClient, legacy: tls10.legacy, keys: []string{"RSA"}},
			"ie_11_win7", true, "", tlswarden.TLS10, 0xc014, "secp256r1", false},
		{"order unknown", server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS12: {0x002f, 0xc02f}}, pref: tlswarden.PreferIndeterminate,
			legacy: []uint16{p256}, keys: []string{"RSA"}}, "chrome_101_win10", true, "", tlswarden.TLS12, 0x002f, "", true},
		{"no common curve", server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS12: {0xc02f}}, pref: tlswarden.PreferServer,
			legacy: []uint16{0x0019}, keys: []string{"RSA"}}, "chrome_101_win10", false, tlswarden.ClientNoGroup, 0, 0, "", false},
		{"DH prime too small", server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS12: {0x009f}}, pref: tlswarden.PreferServer,
			dhBits: 768, keys: []string{"RSA"}}, "ie_11_win7", false, tlswarden.ClientDHTooSmall, tlswarden.TLS12, 0x009f, "", false},
		{"no SNI, another certificate", server{versions: tls10.versions, pref: tlswarden.PreferServer, legacy: tls10.legacy, keys: []string{"RSA"}, noSNI: true},
			"android_237", false, tlswarden.ClientNeedsSNI, tlswarden.TLS10, 0x002f, "", false},
		{"TLS 1.3, key share first everywhere", server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS13: {0x1302, 0x1301}}, pref: tlswarden.PreferServer,
			tls13: []uint16{x25519, p256}, keys: []string{"ECDSA"}}, "chrome_101_win10", true, "", tlswarden.TLS13, 0x1302, "x25519", false},
		{"TLS 1.3, one group in common", server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS13: {0x1301}}, pref: tlswarden.PreferServer,
			tls13: []uint16{p384}, keys: []string{"RSA"}}, "chrome_101_win10", true, "", tlswarden.TLS13, 0x1301, "secp384r1", false},
		{"TLS 1.3, orders differ", server{versions: map[tlswarden.Version][]uint16{tlswarden.TLS13: {0x1301}}, pref: tlswarden.PreferServer,
			tls13: []uint16{p256, x25519}, keys: []string{"RSA"}}, "chrome_101_win10", true, "", tlswarden.TLS13, 0x1301, "x25519", true},
	}
	l := Load()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Simulate(l.Client(tc.client), tc.srv.report())
			r := a.Result
			var suite uint16
			if r.Suite != nil {
				suite = r.Suite.Code
			}
			if r.Connects != tc.connect || r.Reason != tc.reason || r.Version != tc.version || suite != tc.suite || r.Group != tc.group || (len(a.Open) > 0) != tc.open {
				t.Errorf("got %+v (open %q)\nwant connects %v reason %q %v suite %#04x group %q open %v", r, a.Open, tc.connect, tc.reason, tc.version, tc.suite, tc.group, tc.open)
			}
			if !slices.Equal(r.Services, l.Client(tc.client).Services) || len(r.Services) == 0 {
				t.Errorf("services %q, want the list's %q", r.Services, l.Client(tc.client).Services)
			}
			if tc.connect && r.Chain == "" {
				t.Errorf("no chain: %+v", r)
			}
		})
	}
}
