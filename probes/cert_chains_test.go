package probes

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestCertProbeLeafUsage: a certificate that verifies to a trusted root
// but may not authenticate a TLS server is not trusted for the hostname,
// and verification_error says why.
func TestCertProbeLeafUsage(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ca := tlstest.NewCA(t, "Test CA")
	inter := ca.Intermediate(t, "Test Intermediate")
	leaf := inter.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	clientOnly := ca.IssueTemplate(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, tlstest.ECDSA256)
	signOnly := ca.IssueTemplate(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "localhost"},
		DNSNames:  []string{"localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCRLSign,
	}, tlstest.ECDSA256)
	roots := []*x509.Certificate{ca.Cert.Cert}

	t.Run("reversed chain, openssl", func(t *testing.T) {
		// The intermediate first, with its own key: it verifies to the
		// root, but it is a CA certificate with keyCertSign and cRLSign.
		addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: &inter.Cert, Chain: []*tlstest.Cert{leaf}})
		got, err := runCert(t, CertConfig{Roots: roots}, "localhost", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got.Trusted || !strings.Contains(got.VerificationError, "CA certificate") {
			t.Errorf("trusted = %v, verification_error = %q; want untrusted, the leaf is a CA", got.Trusted, got.VerificationError)
		}
	})
	for _, tc := range []struct {
		name string
		cert *tlstest.Cert
		want string
	}{
		{"client auth only", clientOnly, "serverAuth"},
		{"key usage cRLSign only", signOnly, "key usage"},
		{"server leaf", leaf, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{tc.cert.TLSCertificate(&inter.Cert)}})
			got, err := runCert(t, CertConfig{Roots: roots}, "localhost", addr)
			if err != nil {
				t.Fatal(err)
			}
			if got.Trusted != (tc.want == "") || !strings.Contains(got.VerificationError, tc.want) {
				t.Errorf("trusted = %v, verification_error = %q; want it to say %q", got.Trusted, got.VerificationError, tc.want)
			}
		})
	}
}

// chainIDs returns the identities of every chain in a result, primary
// first.
func chainIDs(r *tlswarden.CertResult) []string {
	var out []string
	for _, c := range r.Chains() {
		out = append(out, c.ChainID())
	}
	return out
}

func chainID(keyType string, c *tlstest.Cert) string { return keyType + ":" + fingerprint(c.DER) }

// TestCertProbeEveryChain: a server with an RSA and an ECDSA certificate
// (openssl s_server -cert/-dcert, Go) shows both, over TLS 1.2 and 1.3,
// each with its own facts; a chain that is expired is recorded as such.
func TestCertProbeEveryChain(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	day := 24 * time.Hour
	ca := tlstest.NewCA(t, "Test CA")
	rsaLeaf := ca.Issue(t, tlstest.CertSpec{})
	ecLeaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256})
	expiredEC := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA384, NotBefore: now.Add(-100 * day), NotAfter: now.Add(-10 * day)})
	edLeaf := ca.Issue(t, tlstest.CertSpec{Key: tlstest.Ed25519})
	roots := []*x509.Certificate{ca.Cert.Cert}

	dual := func(t *testing.T, second *tlstest.Cert, versions ...tlswarden.Version) netip.AddrPort {
		certFile, keyFile := second.WritePEM(t, t.TempDir())
		return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: rsaLeaf, Versions: versions,
			Args: []string{"-dcert", certFile, "-dkey", keyFile}})
	}
	tests := []struct {
		name string
		addr func(t *testing.T) netip.AddrPort
		want []string // chain identities, in any order
		// expired names the chain that must be recorded expired and
		// untrusted.
		expired string
	}{
		{"openssl RSA and ECDSA, TLS 1.2 and 1.3", func(t *testing.T) netip.AddrPort { return dual(t, ecLeaf) },
			[]string{chainID("RSA", rsaLeaf), chainID("ECDSA", ecLeaf)}, ""},
		{"openssl RSA and ECDSA, TLS 1.2", func(t *testing.T) netip.AddrPort { return dual(t, ecLeaf, tlswarden.TLS12) },
			[]string{chainID("RSA", rsaLeaf), chainID("ECDSA", ecLeaf)}, ""},
		{"openssl RSA and ECDSA, TLS 1.3", func(t *testing.T) netip.AddrPort { return dual(t, ecLeaf, tlswarden.TLS13) },
			[]string{chainID("RSA", rsaLeaf), chainID("ECDSA", ecLeaf)}, ""},
		{"openssl RSA and an expired ECDSA", func(t *testing.T) netip.AddrPort { return dual(t, expiredEC) },
			[]string{chainID("RSA", rsaLeaf), chainID("ECDSA", expiredEC)}, chainID("ECDSA", expiredEC)},
		{"Go RSA, ECDSA and Ed25519", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{
				rsaLeaf.TLSCertificate(), ecLeaf.TLSCertificate(), edLeaf.TLSCertificate()}})
		}, []string{chainID("RSA", rsaLeaf), chainID("ECDSA", ecLeaf), chainID("Ed25519", edLeaf)}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCert(t, CertConfig{Roots: roots}, "localhost", tc.addr(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.OtherChainsError != "" {
				t.Errorf("other_chains_error %q, want none: every hello was answered", got.OtherChainsError)
			}
			ids := chainIDs(got)
			if diff := cmp.Diff(tc.want, ids, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("chains (-want +got):\n%s", diff)
			}
			for _, c := range got.Chains() {
				isExpired := c.ChainID() == tc.expired
				if c.Leaf().Expired != isExpired || c.Trusted == isExpired || !c.HostnameMatches {
					t.Errorf("chain %s: expired %v, trusted %v, hostname %v", c.ChainID(), c.Leaf().Expired, c.Trusted, c.HostnameMatches)
				}
				if c != got && (c.Source != "server_flight" || c.Offered == "" || c.MessageBytes == 0 || c.Version == 0) {
					t.Errorf("chain %s: source %q, offered %q, message %d bytes, version %v", c.ChainID(), c.Source, c.Offered, c.MessageBytes, c.Version)
				}
			}
			for i := 1; i < len(got.OtherChains); i++ {
				if got.OtherChains[i-1].ChainID() > got.OtherChains[i].ChainID() {
					t.Errorf("other chains not sorted by identity: %v", ids)
				}
			}
		})
	}
}

// TestCertProbeLibraryLimits: servers whose chain the handshake library
// cannot reach (DHE-only and NULL-only suites, a Certificate message over
// its 64 KiB limit) still get certificate facts, read from the server's
// flight, and the report says so.
func TestCertProbeLibraryLimits(t *testing.T) {
	ca := tlstest.NewCA(t, "Test CA")
	leaf := ca.Issue(t, tlstest.CertSpec{})
	names := []string{"localhost"}
	for i := range 10000 {
		names = append(names, fmt.Sprintf("host-%05d.example.test", i))
	}
	huge := ca.Issue(t, tlstest.CertSpec{DNSNames: names})
	roots := []*x509.Certificate{ca.Cert.Cert}
	tests := []struct {
		name     string
		addr     func(t *testing.T) netip.AddrPort
		leaf     *tlstest.Cert
		version  tlswarden.Version
		minBytes int
	}{
		{"DHE only", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: leaf, Versions: []tlswarden.Version{tlswarden.TLS12},
				Cipher: "DHE-RSA-AES128-GCM-SHA256"})
		}, leaf, tlswarden.TLS12, 0},
		{"NULL only", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: leaf, Versions: []tlswarden.Version{tlswarden.TLS12},
				Cipher: "NULL-SHA256:@SECLEVEL=0"})
		}, leaf, tlswarden.TLS12, 0},
		{"10,000 SANs over TLS 1.2", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{huge.TLSCertificate()}, MaxVersion: tls.VersionTLS12})
		}, huge, tlswarden.TLS12, 200 << 10},
		{"10,000 SANs over TLS 1.3", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{huge.TLSCertificate()}})
		}, huge, tlswarden.TLS13, 200 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runCert(t, CertConfig{Roots: roots}, "localhost", tc.addr(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.Leaf().SHA256 != fingerprint(tc.leaf.DER) || !got.Trusted || !got.HostnameMatches {
				t.Errorf("leaf %s trusted %v hostname %v; want the served leaf, trusted, matching", got.Leaf().SHA256, got.Trusted, got.HostnameMatches)
			}
			if spki := sha256.Sum256(tc.leaf.Cert.RawSubjectPublicKeyInfo); got.Leaf().SPKISHA256 != hex.EncodeToString(spki[:]) {
				t.Errorf("leaf SPKI SHA-256 %q, want the served key's (DANE selector 1)", got.Leaf().SPKISHA256)
			}
			if got.Source != "server_flight" || got.HandshakeError == "" || got.Version != tc.version {
				t.Errorf("source %q, handshake error %q, version %v; want server_flight, the library's error, %v", got.Source, got.HandshakeError, got.Version, tc.version)
			}
			if got.WithoutSNIError != "" || got.LeafSHA256WithoutSNI != got.Leaf().SHA256 || got.DiffersWithoutSNI {
				t.Errorf("without SNI: leaf %s, error %q; want the same leaf from the flight", got.LeafSHA256WithoutSNI, got.WithoutSNIError)
			}
			if got.MessageBytes < tc.minBytes || got.MessageBytes < got.ChainBytes {
				t.Errorf("certificate message of %d bytes (chain %d bytes), want at least %d", got.MessageBytes, got.ChainBytes, tc.minBytes)
			}
		})
	}
}

// TestChainHelloPlan: what the full handshake showed decides which key
// types are asked for, over which versions.
func TestChainHelloPlan(t *testing.T) {
	names := func(hs []chainHello) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.offer.kind+" "+h.versionName())
		}
		return out
	}
	tests := []struct {
		name    string
		shown   shownBy
		found13 map[string]bool
		first   []string
		second  []string
	}{
		{"TLS 1.3, RSA leaf, ECDSA found", shownBy{0x0304, OfferRSA}, map[string]bool{OfferECDSA: true},
			[]string{"ECDSA TLS 1.3", "EdDSA TLS 1.3", "DSA TLS 1.2 and older"}, []string{"EdDSA TLS 1.2 and older"}},
		{"TLS 1.2, ECDSA leaf", shownBy{0x0303, OfferECDSA}, nil,
			[]string{"RSA TLS 1.2 and older", "EdDSA TLS 1.2 and older", "DSA TLS 1.2 and older"}, nil},
		{"no handshake", shownBy{}, nil,
			[]string{"ECDSA TLS 1.3", "ECDSA TLS 1.2 and older", "RSA TLS 1.3", "RSA TLS 1.2 and older",
				"EdDSA TLS 1.3", "EdDSA TLS 1.2 and older", "DSA TLS 1.2 and older"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.first, names(firstHellos(tc.shown))); diff != "" {
				t.Errorf("first hellos (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.second, names(secondHellos(tc.shown, tc.found13))); diff != "" {
				t.Errorf("second hellos (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCertProbeDSAChain: an OpenSSL server with an RSA certificate and a
// DSA one (DHE-DSS suites, TLS 1.2) shows the DSA chain too.
func TestCertProbeDSAChain(t *testing.T) {
	bin := tlstest.RequireBinary(t, "openssl")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	// Go cannot mint DSA certificates; OpenSSL can.
	run("dsaparam", "-out", "params.pem", "2048")
	run("req", "-x509", "-newkey", "dsa:params.pem", "-keyout", "dsa.key", "-out", "dsa.crt", "-nodes",
		"-subj", "/CN=localhost", "-days", "30", "-addext", "subjectAltName=DNS:localhost")
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS12},
		Cipher: "ALL:@SECLEVEL=0",
		Args:   []string{"-dcert", filepath.Join(dir, "dsa.crt"), "-dkey", filepath.Join(dir, "dsa.key")}})
	got, err := runCert(t, CertConfig{}, "localhost", addr)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, c := range got.Chains() {
		types = append(types, c.Leaf().KeyType)
	}
	if diff := cmp.Diff([]string{"DSA", "RSA"}, types, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("chains' key types (-want +got):\n%s", diff)
	}
}
