//go:build linux

package probes_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/iana"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/probes"
)

// The TLS probe against servers that are not Go: OpenSSL, nginx and GnuTLS
// from Debian, configured with what crypto/tls cannot serve (TLS 1.0, RSA
// key exchange, finite-field DHE, Camellia, CCM, 3DES, RC4). Each case
// checks the exact set of suites reported per version, by code point,
// against the set the server is configured with, as the server's own
// library computes it (`openssl ciphers -s`, `gnutls-cli --list`): a suite
// missed or invented fails.

// wantVersion is what the probe should report for one supported version.
type wantVersion struct {
	suites []uint16
	// ordered says the server picks by its own order: the probe must
	// report server preference and the suites in suites' order. Otherwise
	// it must report client preference (for two suites or more), and the
	// suites are compared as a set.
	ordered bool
	// dhBits, when set, is the DH prime size every DHE suite must report.
	dhBits int
}

// wantGroups is what the probe should report about key-exchange groups.
type wantGroups struct {
	groups    []string
	ordered   bool   // the server's order: compare in order
	preferred string // "" when the choice is the client's
	testedOn  tlswarden.Version
}

// externalCase is one server, started from one of the configurations, and
// what the probe should find there. The versions and suites expected are
// derived from the same configuration by the server's own library.
type externalCase struct {
	name    string
	openssl *tlstest.OpenSSLConfig
	nginx   *tlstest.NginxConfig
	gnutls  *tlstest.GnuTLSConfig
	groups  *wantGroups // for gnutls, derived from the priority string
	// dhGroup, when set, is the RFC 7919 group every DHE suite must report
	// ("none": no group, a prime of the server's own).
	dhGroup string
}

// start starts the case's server and returns its address, the versions it
// must be found to support with their suites, and the groups expected.
func (c externalCase) start(t *testing.T) (netip.AddrPort, map[tlswarden.Version]wantVersion, *wantGroups) {
	switch {
	case c.openssl != nil:
		cfg := c.openssl
		want := opensslWant(t, cfg.Versions, cfg.Cipher, cfg.Ciphersuites, cfg.ServerPref, cfg.DHBits)
		return tlstest.OpenSSLServer(t, *cfg), want, c.groups
	case c.nginx != nil:
		cfg := c.nginx
		want := opensslWant(t, cfg.Versions, cfg.Ciphers, cfg.Ciphersuites, cfg.PreferServerCiphers, cfg.DHBits)
		return tlstest.NginxServer(t, *cfg), want, c.groups
	default:
		want, groups := gnutlsWant(t, c.gnutls.Priority)
		return tlstest.GnuTLSServer(t, *c.gnutls), want, groups
	}
}

func TestTLSAgainstExternalServers(t *testing.T) {
	for _, bin := range []string{"openssl", "nginx", "gnutls-serv", "gnutls-cli"} {
		tlstest.RequireBinary(t, bin)
	}
	vs := func(v ...tlswarden.Version) []tlswarden.Version { return v }
	const (
		tls10 = tlswarden.TLS10
		tls12 = tlswarden.TLS12
		tls13 = tlswarden.TLS13
	)
	const (
		// DES-CBC3-SHA is asked for, but Debian's OpenSSL 3 is built
		// without 3DES, so the expected set (from `openssl ciphers`) lacks
		// it too; gnutls-tls10-3des-rc4 serves 3DES.
		legacyCiphers = "DES-CBC3-SHA:AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:@SECLEVEL=0"
		rsaKx         = "AES128-GCM-SHA256:AES256-SHA256:AES128-SHA"
		dhe           = "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA256:ECDHE-RSA-AES128-SHA:@SECLEVEL=0"
		// A preference order deliberately not by strength.
		prefCiphers  = "AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305:AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384"
		tls1012      = "AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"
		tls13Suites  = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
		nginxCiphers = "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA:ECDHE-RSA-CHACHA20-POLY1305:AES256-SHA256"
		// The certificates are RSA: no ECDSA suites.
		gnutls12   = "NORMAL:-VERS-ALL:+VERS-TLS1.2:+CAMELLIA-128-CBC:-ECDHE-ECDSA"
		gnutls12SP = "NORMAL:-VERS-ALL:+VERS-TLS1.2:+CAMELLIA-128-CBC:+CAMELLIA-256-GCM:-ECDHE-ECDSA:%SERVER_PRECEDENCE"
		gnutls10   = "NORMAL:-VERS-ALL:+VERS-TLS1.0:+3DES-CBC:+ARCFOUR-128:+CAMELLIA-256-CBC:-ECDHE-ECDSA"
		gnutlsAll  = "NORMAL:-ECDHE-ECDSA"
	)
	cases := []externalCase{
		{name: "openssl-tls10-cbc", openssl: &tlstest.OpenSSLConfig{Versions: vs(tls10), Cipher: legacyCiphers}},
		{name: "openssl-tls12-rsa-kx", openssl: &tlstest.OpenSSLConfig{Versions: vs(tls12), Cipher: rsaKx}},
		{name: "openssl-dhe-1024", openssl: &tlstest.OpenSSLConfig{Versions: vs(tls12), Cipher: dhe, DHBits: 1024}, dhGroup: "none"},
		{
			// The prime DHParams writes for 2048 bits is RFC 7919's
			// ffdhe2048, which OpenSSL 3 serves whatever the client offers
			// in TLS 1.2: a fixed group, reported alone beside the curves.
			name: "openssl-dhe-2048",
			openssl: &tlstest.OpenSSLConfig{Versions: vs(tls12), Cipher: dhe, DHBits: 2048,
				Groups: "X25519:secp384r1"},
			groups:  &wantGroups{groups: []string{"x25519", "secp384r1", "ffdhe2048"}, testedOn: tls12},
			dhGroup: "ffdhe2048",
		},
		{name: "openssl-server-preference", openssl: &tlstest.OpenSSLConfig{Versions: vs(tls12), Cipher: prefCiphers, ServerPref: true}},
		{name: "openssl-client-preference", openssl: &tlstest.OpenSSLConfig{Versions: vs(tls12), Cipher: prefCiphers}},
		{name: "openssl-tls10-tls12-without-tls11", openssl: &tlstest.OpenSSLConfig{Versions: vs(tls10, tls12), Cipher: tls1012}},
		{
			name: "openssl-tls13-groups-server-order",
			openssl: &tlstest.OpenSSLConfig{Versions: vs(tls13), Ciphersuites: tls13Suites,
				Groups: "secp384r1:X25519:ffdhe2048", ServerPref: true},
			groups: &wantGroups{groups: []string{"secp384r1", "x25519", "ffdhe2048"}, ordered: true,
				preferred: "secp384r1", testedOn: tls13},
		},
		{
			name: "openssl-tls13-groups-client-order",
			openssl: &tlstest.OpenSSLConfig{Versions: vs(tls13), Ciphersuites: tls13Suites,
				Groups: "X25519:secp384r1:ffdhe2048"},
			groups: &wantGroups{groups: []string{"x25519", "secp384r1", "ffdhe2048"}, testedOn: tls13},
		},
		{
			name: "openssl-tls12-groups-server-order",
			openssl: &tlstest.OpenSSLConfig{Versions: vs(tls12), Cipher: "ECDHE-RSA-AES128-GCM-SHA256",
				Groups: "secp521r1:X25519:prime256v1", ServerPref: true},
			groups: &wantGroups{groups: []string{"secp521r1", "x25519", "secp256r1"}, ordered: true,
				preferred: "secp521r1", testedOn: tls12},
		},
		{
			name: "nginx-tls12-tls13-server-preference",
			nginx: &tlstest.NginxConfig{Versions: vs(tls12, tls13), Ciphers: nginxCiphers,
				PreferServerCiphers: true, ECDHCurve: "X25519:secp384r1"},
			groups: &wantGroups{groups: []string{"x25519", "secp384r1"}, ordered: true, preferred: "x25519", testedOn: tls13},
		},
		{name: "gnutls-tls12-camellia-ccm", gnutls: &tlstest.GnuTLSConfig{Priority: gnutls12, DHBits: 2048}},
		{name: "gnutls-tls12-server-precedence", gnutls: &tlstest.GnuTLSConfig{Priority: gnutls12SP, DHBits: 2048}},
		{name: "gnutls-tls10-3des-rc4", gnutls: &tlstest.GnuTLSConfig{Priority: gnutls10, DHBits: 2048}},
		{name: "gnutls-normal", gnutls: &tlstest.GnuTLSConfig{Priority: gnutlsAll, DHBits: 2048}},
		// The fleet benchmark's, which serves no ECDSA suite with its RSA
		// certificate: every version, key exchanges apart.
		{name: "gnutls-normal-server-precedence", gnutls: &tlstest.GnuTLSConfig{Priority: "NORMAL:-ECDHE-ECDSA:%SERVER_PRECEDENCE", DHBits: 2048}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, want, groups := tc.start(t)
			res := runTLSProbe(t, addr)
			checkVersions(t, res, want)
			if groups != nil {
				checkGroups(t, res, *groups)
			}
			if tc.dhGroup != "" {
				checkDHGroup(t, res, tc.dhGroup)
			}
		})
	}
}

// runTLSProbe runs the TLS probe against addr and checks it counted its
// connections right.
func runTLSProbe(t *testing.T, addr netip.AddrPort) *tlswarden.TLSResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d := tlstest.NewDialer(addr)
	start := time.Now()
	obs, err := probes.TLS(probes.TLSConfig{}).Run(ctx, tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial)
	if obs.TLS == nil {
		t.Fatalf("TLS probe of %v: no result (error %v)", addr, err)
	}
	t.Logf("TLS probe: %d connections in %v (error %v)", obs.TLS.Connections, time.Since(start).Round(time.Millisecond), err)
	if err != nil {
		t.Errorf("TLS probe of %v: %v", addr, err)
	}
	if obs.TLS.Connections != d.Count() {
		t.Errorf("TLS probe reported %d connections; the dialer counted %d", obs.TLS.Connections, d.Count())
	}
	return obs.TLS
}

// checkVersions compares the versions the probe found supported, and the
// suites of each, with want.
func checkVersions(t *testing.T, res *tlswarden.TLSResult, want map[tlswarden.Version]wantVersion) {
	t.Helper()
	var gotSupported, wantSupported []string
	for _, vr := range res.Versions {
		if vr.Supported {
			gotSupported = append(gotSupported, vr.Version.String())
		}
		if vr.Error != "" {
			t.Errorf("%v: not tested: %s (%s)", vr.Version, vr.Error, vr.Status)
		}
	}
	for _, v := range tlswarden.AllVersions {
		if _, ok := want[v]; ok {
			wantSupported = append(wantSupported, v.String())
		}
	}
	if diff := cmp.Diff(wantSupported, gotSupported); diff != "" {
		t.Errorf("versions supported (-want +got):\n%s", diff)
	}
	for _, vr := range res.Versions {
		w, ok := want[vr.Version]
		if !ok || !vr.Supported {
			continue
		}
		checkSuites(t, vr, w)
	}
}

func checkSuites(t *testing.T, vr tlswarden.VersionResult, w wantVersion) {
	t.Helper()
	var got []uint16
	for _, s := range vr.Suites {
		got = append(got, s.Code)
		if name := iana.SuiteName(s.Code); s.Name != name {
			t.Errorf("%v: suite 0x%04X named %q, IANA name %q", vr.Version, s.Code, s.Name, name)
		}
		if cs, _ := iana.Suite(s.Code); w.dhBits != 0 && strings.HasPrefix(cs.KeyExchange, "DHE_") && s.DHBits != w.dhBits {
			t.Errorf("%v: %s: DH prime of %d bits, want %d", vr.Version, s.Name, s.DHBits, w.dhBits)
		}
	}
	wantCodes := slices.Clone(w.suites)
	wantPref := tlswarden.PreferServer
	if !w.ordered {
		slices.Sort(got)
		slices.Sort(wantCodes)
		wantPref = tlswarden.PreferClient
	}
	if diff := cmp.Diff(suiteNames(wantCodes), suiteNames(got)); diff != "" {
		t.Errorf("%v suites, %s (-want +got):\n%s", vr.Version, map[bool]string{true: "in order", false: "as a set"}[w.ordered], diff)
	}
	if len(w.suites) > 1 && vr.Preference != wantPref {
		t.Errorf("%v: preference %q, want %q", vr.Version, vr.Preference, wantPref)
	}
}

// suiteNames labels code points for readable diffs.
func suiteNames(codes []uint16) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = fmt.Sprintf("0x%04X %s", c, iana.SuiteName(c))
	}
	return out
}

// checkDHGroup checks the group every accepted DHE suite reports.
func checkDHGroup(t *testing.T, res *tlswarden.TLSResult, want string) {
	t.Helper()
	if want == "none" {
		want = ""
	}
	n := 0
	for _, vr := range res.Versions {
		for _, s := range vr.Suites {
			if cs, _ := iana.Suite(s.Code); strings.HasPrefix(cs.KeyExchange, "DHE_") {
				n++
				if s.Group != want {
					t.Errorf("%v: %s: group %q, want %q", vr.Version, s.Name, s.Group, want)
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("no DHE suite accepted")
	}
}

func checkGroups(t *testing.T, res *tlswarden.TLSResult, w wantGroups) {
	t.Helper()
	var got []string
	for _, g := range res.Groups {
		got = append(got, g.Name)
		if name := iana.GroupName(g.Code); g.Name != name {
			t.Errorf("group 0x%04X named %q, IANA name %q", g.Code, g.Name, name)
		}
	}
	wantGroups := slices.Clone(w.groups)
	if !w.ordered {
		slices.Sort(got)
		slices.Sort(wantGroups)
	}
	if diff := cmp.Diff(wantGroups, got); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	if res.GroupsTestedWith != w.testedOn {
		t.Errorf("groups tested with %v, want %v", res.GroupsTestedWith, w.testedOn)
	}
	switch {
	case w.preferred != "" && res.PreferredGroup != w.preferred:
		t.Errorf("preferred group %q, want %q", res.PreferredGroup, w.preferred)
	case !slices.Contains(w.groups, res.PreferredGroup):
		t.Errorf("preferred group %q is not one of the server's %v", res.PreferredGroup, w.groups)
	}
}

// opensslFlags are the `openssl ciphers` flags that select one version.
var opensslFlags = map[tlswarden.Version]string{
	tlswarden.TLS10: "-tls1", tlswarden.TLS11: "-tls1_1", tlswarden.TLS12: "-tls1_2", tlswarden.TLS13: "-tls1_3",
}

// opensslWant returns what a server linked against OpenSSL serves with a
// configuration: each version with the suites OpenSSL enables for it.
func opensslWant(t *testing.T, versions []tlswarden.Version, cipher, ciphersuites string, serverPref bool, dhBits int) map[tlswarden.Version]wantVersion {
	t.Helper()
	if len(versions) == 0 {
		t.Fatal("name the versions: the expected ones are derived from them")
	}
	if cipher == "" {
		cipher = "DEFAULT"
	}
	want := map[tlswarden.Version]wantVersion{}
	for _, v := range versions {
		want[v] = wantVersion{suites: opensslSuites(t, opensslFlags[v], cipher, ciphersuites), ordered: serverPref, dhBits: dhBits}
	}
	return want
}

// opensslSuite matches a line of `openssl ciphers -V`.
var opensslSuite = regexp.MustCompile(`(?m)^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - \S+`)

// opensslSuites returns the code points OpenSSL enables, in its order of
// preference, for one version (versionFlag "-tls1", "-tls1_2", ...) with a
// cipher string and TLS 1.3 ciphersuites (empty: OpenSSL's default).
func opensslSuites(t *testing.T, versionFlag, cipher, ciphersuites string) []uint16 {
	t.Helper()
	args := []string{"ciphers", "-V", "-s", versionFlag}
	if ciphersuites != "" {
		args = append(args, "-ciphersuites", ciphersuites)
	}
	args = append(args, cipher)
	out, err := exec.Command(tlstest.RequireBinary(t, "openssl"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	var codes []uint16
	for _, m := range opensslSuite.FindAllSubmatch(out, -1) {
		codes = append(codes, code(t, m[1], m[2]))
	}
	if len(codes) == 0 {
		t.Fatalf("openssl %v enables no suite:\n%s", args, out)
	}
	return codes
}

// gnutlsSuite matches a suite line of `gnutls-cli --list`: name, code
// point, lowest version; gnutlsList a line of algorithms.
var (
	gnutlsSuite = regexp.MustCompile(`(?m)^TLS_\S+\s+0x([0-9a-f]{2}), 0x([0-9a-f]{2})\s+(\S+)$`)
	gnutlsList  = regexp.MustCompile(`(?m)^(Protocols|Groups): (.*)$`)
)

// gnutlsVersions are the GnuTLS names of versions, as --list prints them.
var gnutlsVersions = map[string]tlswarden.Version{
	"SSL3.0": tlswarden.SSLv3, "TLS1.0": tlswarden.TLS10, "TLS1.1": tlswarden.TLS11,
	"TLS1.2": tlswarden.TLS12, "TLS1.3": tlswarden.TLS13,
}

// gnutlsWant returns what gnutls-serv serves with a priority string, as
// `gnutls-cli --list` prints it: the versions enabled, and for each the
// suites whose lowest version is not above it (TLS 1.3 has only its own),
// in the server's order when the string has %SERVER_PRECEDENCE; and the
// groups, which the probe tests over the newest version: all of them over
// TLS 1.3, and over older versions, with ECDHE suites, the elliptic curves
// (GnuTLS also negotiates RFC 7919 ffdhe groups for DHE there, which the
// probe does not enumerate).
func gnutlsWant(t *testing.T, priority string) (map[tlswarden.Version]wantVersion, *wantGroups) {
	t.Helper()
	out, err := exec.Command(tlstest.RequireBinary(t, "gnutls-cli"), "--priority", priority, "--list").CombinedOutput()
	if err != nil {
		t.Fatalf("gnutls-cli --priority %s --list: %v\n%s", priority, err, out)
	}
	lists := map[string][]string{}
	for _, m := range gnutlsList.FindAllSubmatch(out, -1) {
		lists[string(m[1])] = strings.Split(string(m[2]), ", ")
	}
	ordered := strings.Contains(priority, "%SERVER_PRECEDENCE")
	want := map[tlswarden.Version]wantVersion{}
	var newest tlswarden.Version
	for _, p := range lists["Protocols"] {
		v, ok := gnutlsVersions[strings.TrimPrefix(p, "VERS-")]
		if !ok {
			continue // DTLS
		}
		newest = max(newest, v)
		w := wantVersion{ordered: ordered}
		for _, m := range gnutlsSuite.FindAllSubmatch(out, -1) {
			lowest, ok := gnutlsVersions[string(m[3])]
			if !ok {
				t.Fatalf("gnutls-cli --list: unknown version %q", m[3])
			}
			if (v == tlswarden.TLS13) == (lowest == tlswarden.TLS13) && lowest <= v {
				w.suites = append(w.suites, code(t, m[1], m[2]))
			}
		}
		want[v] = w
	}
	if len(want) == 0 {
		t.Fatalf("gnutls-cli --priority %s --list enables no TLS version:\n%s", priority, out)
	}
	groups := &wantGroups{ordered: ordered, testedOn: newest}
	// Every priority here enables DHE, and GnuTLS negotiates RFC 7919
	// groups in TLS 1.2 and older too.
	for _, g := range lists["Groups"] {
		groups.groups = append(groups.groups, strings.ToLower(strings.TrimPrefix(g, "GROUP-")))
	}
	if ordered {
		groups.preferred = groups.groups[0]
	}
	return want, groups
}

func code(t *testing.T, hi, lo []byte) uint16 {
	t.Helper()
	c, err := strconv.ParseUint(string(hi)+string(lo), 16, 16)
	if err != nil {
		t.Fatalf("code point %s%s: %v", hi, lo, err)
	}
	return uint16(c)
}

// TestTLSParallelEnumeration: a server with many suites has the rest of
// its suites enumerated in parallel chains whichever order it follows; both
// give the exact set and order. OpenSSL's "ALL" interleaves the classes the
// chains are dealt by, as OpenSSL's default sort does: a server with its own
// order has that guessed first, from the chains' finds, and checked in one
// round rather than its runs merged a hello per suite (fewer than 1.6 connections a suite where the merge
// costs about two; only the version is offered and groups are not
// enumerated, to count the suites' hellos alone), unless ChaCha20 jumps
// the queue, which has them merged.
func TestTLSParallelEnumeration(t *testing.T) {
	const many = "ALL:!aECDSA:!aDSS:!PSK:!SRP:@SECLEVEL=0" // what an RSA certificate can serve
	for _, tc := range []struct {
		name       string
		version    tlswarden.Version
		serverPref bool
		args       []string
		merged     bool
	}{
		{"client-order", tlswarden.TLS12, false, nil, false},
		{"server-order", tlswarden.TLS12, true, nil, false},
		{"server-order-tls1.0", tlswarden.TLS10, true, nil, false},
		// Its own order, but ChaCha20 first whenever the client lists it
		// first: an offer can look client-ordered; the set and the order
		// must still come out exact.
		{"server-order-prioritize-chacha", tlswarden.TLS12, true, []string{"-prioritize_chacha"}, true},
	} {
		serverPref := tc.serverPref
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tc.version}, Cipher: many, ServerPref: serverPref, Args: tc.args}
			want := opensslWant(t, cfg.Versions, cfg.Cipher, "", serverPref, 0)
			n := len(want[tc.version].suites)
			if n < 15 {
				t.Fatalf("OpenSSL offers only %d suites for %q", n, many)
			}
			addr := tlstest.OpenSSLServer(t, cfg)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			d := tlstest.NewDialer(addr)
			obs, err := probes.TLS(probes.TLSConfig{Logger: log, NoGroups: true, Versions: cfg.Versions}).Run(ctx, tlswarden.Endpoint{Host: "localhost", Addr: addr}, d.Dial)
			if err != nil || obs.TLS == nil {
				t.Fatalf("TLS probe: %v", err)
			}
			checkVersions(t, obs.TLS, want)
			if !strings.Contains(logs.String(), "suites enumerated in parallel") {
				t.Error("not enumerated in parallel")
			}
			if merged := strings.Contains(logs.String(), "server order merged across chains"); merged != tc.merged {
				t.Errorf("merged across chains: %v, want %v", merged, tc.merged)
			}
			if again := strings.Contains(logs.String(), "server order guessed again"); serverPref && !tc.merged && again {
				t.Error("OpenSSL's interleaving was not the first guess")
			}
			if serverPref && !tc.merged && obs.TLS.Connections*5 > n*8 {
				t.Errorf("%d connections for %d suites", obs.TLS.Connections, n)
			}
			// Following the client: a hello per suite, a refusal per chain
			// (three), the reversed offer and the one border pair that
			// confirms the verdict; no other border pair.
			if !serverPref && obs.TLS.Connections > n+5 {
				t.Errorf("%d connections for %d suites in the client's order, want at most %d", obs.TLS.Connections, n, n+5)
			}
			t.Logf("%d suites, %d connections", n, obs.TLS.Connections)
		})
	}
}
