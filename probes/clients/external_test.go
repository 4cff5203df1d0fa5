package clients

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// TestRealServers simulates the default clients against Debian's
// OpenSSL serving configurations that decide the answers, checks the
// answers the issue names, sends every client's own hello to check each
// computed answer against the server's, and checks each answer that
// OpenSSL's own client can reproduce (pinned to the client's versions,
// suites and groups) with `openssl s_client`.
func TestRealServers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real-client cross-checks take minutes; the unit run makes them")
	}
	tests := []struct {
		name string
		cfg  tlstest.OpenSSLConfig
		want map[string]bool // client ID: connects
	}{
		{"TLS 1.2 ECDHE-RSA-AES-GCM only", tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12},
			Cipher: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", ServerPref: true},
			map[string]bool{"ie_11_win7": false, "ie_8_xp": false, "chrome_101_win10": true, "android_442": true, "java_7u25": false}},
		{"TLS 1.0 only", tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS10}, Cipher: "DEFAULT:@SECLEVEL=0"},
			map[string]bool{"ie_11_win7": true, "chrome_101_win10": false, "java_7u25": true, "ie_8_xp": false}}, // IE 8 on XP: RC4 and 3DES, which Debian's OpenSSL lacks
		{"OpenSSL defaults", tlstest.OpenSSLConfig{},
			map[string]bool{"ie_11_win7": true, "chrome_101_win10": true, "firefox_100_win10": true, "ie_8_xp": false, "android_442": true}},
		{"TLS 1.2 DHE 1024", tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12}, Cipher: "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", DHBits: 1024},
			map[string]bool{"ie_11_win7": true, "chrome_101_win10": false}},
	}
	names := opensslNames(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkServer(t, tlstest.OpenSSLServer(t, tc.cfg), tc.want, names)
		})
	}
}

// TestRealServersNginxGnuTLS does the same against nginx and GnuTLS's
// gnutls-serv (another server library, following the client's order).
func TestRealServersNginxGnuTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real-client cross-checks take minutes; the unit run makes them")
	}
	names := opensslNames(t)
	t.Run("nginx TLS 1.2 ECDHE-RSA-AES-GCM only", func(t *testing.T) {
		addr := tlstest.NginxServer(t, tlstest.NginxConfig{Versions: []tlswarden.Version{tlswarden.TLS12},
			Ciphers: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384", PreferServerCiphers: true})
		checkServer(t, addr, map[string]bool{"ie_11_win7": false, "chrome_101_win10": true, "java_8u111": true}, names)
	})
	t.Run("nginx TLS 1.0 to 1.2 with CBC", func(t *testing.T) {
		addr := tlstest.NginxServer(t, tlstest.NginxConfig{Versions: []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11, tlswarden.TLS12},
			Ciphers: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:AES128-SHA:@SECLEVEL=0", PreferServerCiphers: true})
		checkServer(t, addr, map[string]bool{"ie_11_win7": true, "ie_8_win7": true, "chrome_101_win10": true}, names)
	})
	t.Run("gnutls-serv TLS 1.2 and 1.3, client's order", func(t *testing.T) {
		addr := tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3"})
		checkServer(t, addr, map[string]bool{"chrome_101_win10": true, "firefox_100_win10": true, "ie_8_xp": false}, names)
	})
}

// checkServer simulates the default clients and those of want against
// the server at addr, checks the answers want names, and checks every
// answer with the client's own hello and with each real client here that
// can reproduce it.
func checkServer(t *testing.T, addr netip.AddrPort, want map[string]bool, names map[uint16]string) {
	t.Helper()
	er := endpointFacts(t, addr)
	ids := DefaultClients()
	for id := range want {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	res, err := run(t.Context(), Config{Clients: ids, MaxHellos: 200, Timeout: 10 * time.Second}, tlstest.NewDialer(addr).Dial, er)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range want {
		if r := res.Client(id); r == nil || r.Connects != want {
			t.Errorf("%s: %+v, want connects %v", id, r, want)
		}
	}
	var hellos, sclients, gnutls, curls int
	for _, r := range res.Clients {
		t.Logf("%-28s %-9s %-5v %-8v %-45s %-10s %s %s", r.ID, r.Method, r.Connects, r.Version, suiteName(r.Suite), r.Group, r.Reason, r.Uncertain)
		c := Load().Client(r.ID)
		hellos += checkWithHello(t, addr, c, er, r)
		sclients += checkWithSClient(t, addr, c, r, names)
		gnutls += checkWithGnuTLS(t, addr, c, r)
		curls += checkWithCurl(t, addr, c, r, names)
	}
	t.Logf("%d answers (%d hellos sent): %d computed ones checked with the client's hello, %d checked with s_client, %d with gnutls-cli, %d with curl",
		len(res.Clients), res.Hellos, hellos, sclients, gnutls, curls)
}

func suiteName(s *tlswarden.Suite) string {
	if s == nil {
		return ""
	}
	return s.Name
}

// endpointFacts runs the TLS and certificate probes on addr, as a scan
// does before the client simulation.
func endpointFacts(t *testing.T, addr netip.AddrPort) *tlswarden.EndpointReport {
	t.Helper()
	ep := tlswarden.Endpoint{Host: "localhost", Addr: addr}
	er := &tlswarden.EndpointReport{Endpoint: ep}
	for _, p := range []tlswarden.Probe{probes.TLS(probes.TLSConfig{Timeout: 10 * time.Second}), probes.Cert(probes.CertConfig{Timeout: 20 * time.Second})} {
		obs, err := p.Run(t.Context(), ep, tlstest.NewDialer(addr).Dial)
		if err != nil {
			t.Fatalf("%s probe: %v", p.Name, err)
		}
		er.Merge(obs)
	}
	return er
}

// checkWithHello sends the client's own hello and checks that a computed
// answer is the server's: the same version and suite, or a refusal.
func checkWithHello(t *testing.T, addr netip.AddrPort, c *Client, er *tlswarden.EndpointReport, r tlswarden.ClientResult) int {
	t.Helper()
	if r.Method != tlswarden.ClientComputed {
		return 0
	}
	var conns int
	f, err := exchange(t.Context(), Config{Timeout: 10 * time.Second}, tlstest.NewDialer(addr).Dial, c, "localhost", &conns)
	negotiated := f != nil && f.ServerHello != nil
	switch {
	case !r.Connects && !r.Suite.Valid() && negotiated:
		t.Errorf("%s: computed %s (%s), but the server answered its hello with %v %s", c.ID, r.Reason, r.Detail,
			tlswarden.Version(f.ServerHello.Version), iana.SuiteName(f.ServerHello.CipherSuite))
	case !r.Connects && !r.Suite.Valid() && !refusal(err):
		t.Errorf("%s: computed %s, and its hello got no refusal: %v", c.ID, r.Reason, err)
	case r.Suite.Valid() && !negotiated:
		t.Errorf("%s: computed %v %s, but its hello got %v", c.ID, r.Version, r.Suite.Name, err)
	case r.Suite.Valid() && (tlswarden.Version(f.ServerHello.Version) != r.Version || f.ServerHello.CipherSuite != r.Suite.Code):
		t.Errorf("%s: computed %v %s, its hello got %v %s", c.ID, r.Version, r.Suite.Name,
			tlswarden.Version(f.ServerHello.Version), iana.SuiteName(f.ServerHello.CipherSuite))
	}
	return 1
}

// checkWithSClient connects with `openssl s_client` pinned to what the
// client offers that OpenSSL can offer too, when that subset decides the
// same answer: a failure to agree on a version, suite or group stays a
// failure with fewer offers, and the server's pick among the subset is
// its pick among the full offer when the pick is in the subset (by
// either side's order).
func checkWithSClient(t *testing.T, addr netip.AddrPort, c *Client, r tlswarden.ClientResult, names map[uint16]string) int {
	t.Helper()
	args, ok := sClientArgs(c, r, names)
	if !ok || r.Method == tlswarden.ClientEstimated {
		return 0
	}
	bin := testenv.Binary(t, "openssl")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"s_client", "-brief", "-connect", addr.String(), "-servername", "localhost"}, args...)...)
	out, _ := cmd.CombinedOutput()
	got := parseSClient(string(out))
	switch {
	case !r.Connects && (r.Reason == tlswarden.ClientNoVersion || r.Reason == tlswarden.ClientNoSuite || r.Reason == tlswarden.ClientNoGroup || r.Reason == tlswarden.ClientRefused):
		if got.version != "" {
			t.Errorf("%s: simulated %s, but s_client %v connected with %s %s", c.ID, r.Reason, args, got.version, got.suite)
		}
	case r.Suite.Valid():
		if got.version != r.Version.String() || got.suite != names[r.Suite.Code] {
			t.Errorf("%s: simulated %v %s, s_client %v got %q %q\n%s", c.ID, r.Version, names[r.Suite.Code], args, got.version, got.suite, out)
		}
		if r.Group != "" && r.DHBits == 0 && got.group != opensslGroups[r.Group] {
			t.Errorf("%s: simulated group %s, s_client %v got %q", c.ID, r.Group, args, got.group)
		}
	default:
		return 0
	}
	return 1
}

// sClientArgs pins s_client to the client's offer, and says whether the
// check can decide: every suite and group simulated must be one OpenSSL
// offers, and over TLS 1.3 its one key share (for the first group) must
// be the client's first.
func sClientArgs(c *Client, r tlswarden.ClientResult, names map[uint16]string) ([]string, bool) {
	var legacy, tls13 []string
	for _, s := range c.Suites {
		if n, ok := names[uint16(s)]; ok && s>>8 == 0x13 {
			tls13 = append(tls13, n)
		} else if ok {
			legacy = append(legacy, n)
		}
	}
	var groups []string
	for _, g := range c.Groups {
		if n, ok := opensslGroups[iana.GroupName(uint16(g))]; ok {
			groups = append(groups, n)
		}
	}
	if c.MaxVersion < tlswarden.TLS10 || len(legacy) == 0 && c.MaxVersion < tlswarden.TLS13 || len(legacy) == 0 && len(tls13) == 0 {
		return nil, false
	}
	if r.Suite.Valid() && !slices.Contains(append(legacy, tls13...), names[r.Suite.Code]) {
		return nil, false
	}
	if r.Group != "" && r.DHBits == 0 && !slices.Contains(groups, opensslGroups[r.Group]) {
		return nil, false
	}
	if c.MaxVersion == tlswarden.TLS13 && len(c.KeyShares) > 0 && (len(c.Groups) == 0 || c.KeyShares[0] != c.Groups[0]) {
		return nil, false
	}
	args := []string{"-cipher", strings.Join(append(legacy, "@SECLEVEL=0"), ":"), "-ciphersuites", strings.Join(tls13, ":")}
	if c.GroupsSent && len(groups) > 0 {
		args = append(args, "-groups", strings.Join(groups, ":"))
	}
	for v, flag := range map[tlswarden.Version]string{tlswarden.TLS10: "-no_tls1", tlswarden.TLS11: "-no_tls1_1", tlswarden.TLS12: "-no_tls1_2", tlswarden.TLS13: "-no_tls1_3"} {
		if v < c.MinVersion || v > c.MaxVersion {
			args = append(args, flag)
		}
	}
	return args, true
}

// opensslGroups maps IANA group names to the names OpenSSL's -groups
// takes and its s_client prints.
var opensslGroups = map[string]string{
	"x25519": "X25519", "x448": "X448", "secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521",
}

type sClientResult struct{ version, suite, group string }

var (
	briefVersion = regexp.MustCompile(`(?m)^Protocol version: (\S+)`)
	briefSuite   = regexp.MustCompile(`(?m)^Ciphersuite: (\S+)`)
	briefTempKey = regexp.MustCompile(`(?m)^(?:Server|Peer) Temp Key: (?:ECDH, )?([^,\s]+)`)
)

func parseSClient(out string) sClientResult {
	var r sClientResult
	if m := briefVersion.FindStringSubmatch(out); m != nil {
		r.version = m[1]
		if r.version == "TLSv1" {
			r.version = "TLSv1.0"
		}
	}
	if m := briefSuite.FindStringSubmatch(out); m != nil {
		r.suite = m[1]
	}
	if m := briefTempKey.FindStringSubmatch(out); m != nil {
		r.group = map[string]string{"prime256v1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[m[1]]
		if r.group == "" {
			r.group = m[1]
		}
	}
	return r
}

// opensslNames maps code points to the names of the suites this OpenSSL
// can offer.
func opensslNames(t *testing.T) map[uint16]string {
	bin := testenv.Binary(t, "openssl")
	out, err := exec.CommandContext(t.Context(), bin, "ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").Output()
	if err != nil {
		t.Fatalf("openssl ciphers: %v", err)
	}
	names := map[uint16]string{}
	for _, line := range strings.Split(string(out), "\n") {
		var hi, lo uint16
		var name string
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "0x%x,0x%x - %s", &hi, &lo, &name); err == nil {
			names[hi<<8|lo] = name
		}
	}
	return names
}
