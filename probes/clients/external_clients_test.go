package clients

import (
	"context"
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
)

// This file checks simulated answers with two more real clients:
// GnuTLS's gnutls-cli, another TLS library than the server's, pinned to
// the simulated version, suite and group (the server must accept them as
// the simulation says it negotiates them), or to the client's versions
// when the simulation says none is in common; and curl (OpenSSL's
// library, the client people script), pinned like s_client to the
// client's whole offer.

// gnutlsVersions are GnuTLS's priority names of the versions it speaks.
var gnutlsVersions = map[tlswarden.Version]string{
	tlswarden.TLS10: "VERS-TLS1.0", tlswarden.TLS11: "VERS-TLS1.1", tlswarden.TLS12: "VERS-TLS1.2", tlswarden.TLS13: "VERS-TLS1.3",
}

var (
	gnutlsKx = map[string]string{"RSA": "RSA", "DHE_RSA": "DHE-RSA", "ECDHE_RSA": "ECDHE-RSA", "ECDHE_ECDSA": "ECDHE-ECDSA", "DHE_DSS": "DHE-DSS"}
	// gnutlsCiphers maps the cipher of an IANA suite name to GnuTLS's
	// name, and says whether it is an AEAD (MAC "AEAD").
	gnutlsCiphers = map[string]struct {
		name string
		aead bool
	}{
		"AES_128_GCM": {"AES-128-GCM", true}, "AES_256_GCM": {"AES-256-GCM", true}, "CHACHA20_POLY1305": {"CHACHA20-POLY1305", true},
		"AES_128_CCM": {"AES-128-CCM", true}, "AES_256_CCM": {"AES-256-CCM", true},
		"AES_128_CBC": {"AES-128-CBC", false}, "AES_256_CBC": {"AES-256-CBC", false}, "3DES_EDE_CBC": {"3DES-CBC", false},
		"CAMELLIA_128_CBC": {"CAMELLIA-128-CBC", false}, "CAMELLIA_256_CBC": {"CAMELLIA-256-CBC", false},
	}
	gnutlsMACs   = map[string]string{"SHA": "SHA1", "SHA256": "SHA256", "SHA384": "SHA384"}
	gnutlsGroups = map[string]string{
		"x25519": "X25519", "x448": "X448", "secp256r1": "SECP256R1", "secp384r1": "SECP384R1", "secp521r1": "SECP521R1",
		"ffdhe2048": "FFDHE2048", "ffdhe3072": "FFDHE3072", "ffdhe4096": "FFDHE4096",
	}
)

// gnutlsSuite returns the GnuTLS priority items that offer exactly the
// IANA suite (one key exchange, cipher and MAC), or false.
func gnutlsSuite(code uint16, v tlswarden.Version) ([]string, bool) {
	name := strings.TrimPrefix(iana.SuiteName(code), "TLS_")
	kx, rest, with := strings.Cut(name, "_WITH_")
	if !with {
		rest, kx = name, ""
	}
	if v == tlswarden.TLS13 {
		kx = ""
	}
	for cipher, info := range gnutlsCiphers {
		tail, ok := strings.CutPrefix(rest, cipher)
		if !ok || tail != "" && tail[0] != '_' {
			continue
		}
		mac := "AEAD"
		if !info.aead {
			if mac, ok = gnutlsMACs[strings.TrimPrefix(tail, "_")]; !ok {
				return nil, false
			}
		}
		items := []string{"+" + info.name, "+" + mac}
		if kx != "" {
			gkx, ok := gnutlsKx[kx]
			if !ok {
				return nil, false
			}
			items = append(items, "+"+gkx)
		}
		return items, true
	}
	return nil, false
}

// gnutlsArgs returns gnutls-cli's priority for a check of r, and whether
// GnuTLS can make it: a connecting answer pins the version, suite and
// group; a no_common_version answer offers the client's versions with
// GnuTLS's usual suites. Answers that depend on the rest of the offer are
// left to s_client and curl.
func gnutlsArgs(c *Client, r tlswarden.ClientResult) (string, bool) {
	switch {
	case r.Method == tlswarden.ClientEstimated:
		return "", false
	case !r.Connects && r.Reason == tlswarden.ClientNoVersion:
		var vs []string
		for v, name := range gnutlsVersions {
			if v >= c.MinVersion && v <= c.MaxVersion {
				vs = append(vs, "+"+name)
			}
		}
		slices.Sort(vs)
		if len(vs) == 0 {
			return "", false
		}
		return "NORMAL:%COMPAT:-VERS-ALL:" + strings.Join(vs, ":"), true
	case !r.Connects || r.Suite == nil:
		return "", false
	case r.DHBits > 0 && r.DHBits < 2048:
		return "", false // GnuTLS refuses primes that small; the simulated client does not
	}
	vers, ok := gnutlsVersions[r.Version]
	items, ok2 := gnutlsSuite(r.Suite.Code, r.Version)
	if !ok || !ok2 {
		return "", false
	}
	prio := append([]string{"NONE", "+" + vers}, items...)
	if r.Group != "" {
		g, ok := gnutlsGroups[r.Group]
		if !ok {
			return "", false
		}
		prio = append(prio, "+GROUP-"+g)
	}
	prio = append(prio, "+SIGN-ALL", "+COMP-NULL", "+CTYPE-X509", "%COMPAT")
	return strings.Join(prio, ":"), true
}

var gnutlsDescription = regexp.MustCompile(`(?m)^- Description: \((.*)\)$`)

// checkWithGnuTLS runs gnutls-cli as gnutlsArgs pins it and compares:
// the simulated version, cipher and group, or a refusal.
func checkWithGnuTLS(t *testing.T, addr netip.AddrPort, c *Client, r tlswarden.ClientResult) int {
	t.Helper()
	prio, ok := gnutlsArgs(c, r)
	if !ok {
		return 0
	}
	bin := testenv.Binary(t, "gnutls-cli")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	args := []string{"--insecure", "--sni-hostname", "localhost", "-p", strconvPort(addr), "--priority", prio, addr.Addr().String()}
	out, _ := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	m := gnutlsDescription.FindStringSubmatch(string(out))
	if !r.Connects {
		if m != nil {
			t.Errorf("%s: simulated %s, but gnutls-cli --priority %s connected: %s", c.ID, r.Reason, prio, m[1])
		}
		return 1
	}
	if m == nil {
		t.Errorf("%s: simulated %v %s %s, gnutls-cli --priority %s did not connect:\n%s", c.ID, r.Version, r.Suite.Name, r.Group, prio, out)
		return 1
	}
	parts := strings.Split(m[1], ")-(")
	wantVersion := strings.ReplaceAll(strings.TrimPrefix(r.Version.String(), "TLSv"), "v", "")
	items, _ := gnutlsSuite(r.Suite.Code, r.Version)
	cipher := strings.TrimPrefix(items[0], "+")
	switch {
	case parts[0] != "TLS"+wantVersion+"-X.509":
		t.Errorf("%s: simulated %v, gnutls-cli got %s", c.ID, r.Version, m[1])
	case !slices.Contains(parts, cipher):
		t.Errorf("%s: simulated %s, gnutls-cli got %s", c.ID, r.Suite.Name, m[1])
	case r.Group != "" && r.DHBits == 0 && !strings.HasSuffix(parts[1], "-"+gnutlsGroups[r.Group]):
		t.Errorf("%s: simulated group %s, gnutls-cli got %s", c.ID, r.Group, m[1])
	}
	return 1
}

func strconvPort(a netip.AddrPort) string {
	return strings.TrimPrefix(a.String(), a.Addr().String()+":")
}

var curlConnection = regexp.MustCompile(`(?m)^\* SSL connection using (\S+) / (\S+)`)

// checkWithCurl connects with curl pinned to the client's offer as
// checkWithSClient pins s_client (curl can offer no SSLv3: a client whose
// floor is SSLv3 is pinned from TLS 1.0, which decides the same answer
// when the simulated version is TLS 1.0 or later or none is in common).
func checkWithCurl(t *testing.T, addr netip.AddrPort, c *Client, r tlswarden.ClientResult, names map[uint16]string) int {
	t.Helper()
	sargs, ok := sClientArgs(c, r, names)
	if !ok || r.Method == tlswarden.ClientEstimated || r.Suite.Valid() && r.Version < tlswarden.TLS10 {
		return 0
	}
	definite := r.Reason == tlswarden.ClientNoVersion || r.Reason == tlswarden.ClientNoSuite || r.Reason == tlswarden.ClientNoGroup || r.Reason == tlswarden.ClientRefused
	if !r.Connects && !definite || r.Connects && !r.Suite.Valid() {
		return 0
	}
	args := []string{"-sS", "-v", "-k", "-o", "/dev/null", "--max-time", "15",
		"--resolve", "localhost:" + strconvPort(addr) + ":" + addr.Addr().String(), "https://localhost:" + strconvPort(addr) + "/"}
	for i := 0; i+1 < len(sargs); i += 2 {
		switch sargs[i] {
		case "-cipher":
			args = append(args, "--ciphers", sargs[i+1])
		case "-ciphersuites":
			if sargs[i+1] != "" {
				args = append(args, "--tls13-ciphers", sargs[i+1])
			}
		case "-groups":
			args = append(args, "--curves", sargs[i+1])
		}
	}
	minFlag := map[tlswarden.Version]string{tlswarden.TLS10: "--tlsv1.0", tlswarden.TLS11: "--tlsv1.1", tlswarden.TLS12: "--tlsv1.2", tlswarden.TLS13: "--tlsv1.3"}
	args = append(args, minFlag[max(c.MinVersion, tlswarden.TLS10)], "--tls-max", strings.TrimPrefix(c.MaxVersion.String(), "TLSv"))
	bin := testenv.Binary(t, "curl")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	m := curlConnection.FindStringSubmatch(string(out))
	switch {
	case !r.Connects && m != nil:
		t.Errorf("%s: simulated %s, but curl %v connected with %s %s", c.ID, r.Reason, args, m[1], m[2])
	case r.Connects && m == nil:
		t.Errorf("%s: simulated %v %s, curl %v did not connect:\n%s", c.ID, r.Version, r.Suite.Name, args, out)
	case r.Connects && (m[1] != r.Version.String() && !(m[1] == "TLSv1" && r.Version == tlswarden.TLS10) || m[2] != names[r.Suite.Code]):
		t.Errorf("%s: simulated %v %s, curl %v got %s %s", c.ID, r.Version, names[r.Suite.Code], args, m[1], m[2])
	}
	return 1
}
