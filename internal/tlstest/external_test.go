//go:build linux

package tlstest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// The self-tests of the servers started from binaries check each one with
// a client: Go's crypto/tls where it can, `openssl s_client` for what Go
// will not do (DHE, Camellia, choosing the client's suite order).

// recordingTB stands in for a test to see whether RequireBinary skips or
// fails; unlike the real ones, its Skipf and Fatalf return.
type recordingTB struct {
	testing.TB
	skipped, failed bool
}

func (r *recordingTB) Helper()               {}
func (r *recordingTB) Skipf(string, ...any)  { r.skipped = true }
func (r *recordingTB) Fatalf(string, ...any) { r.failed = true }

func TestRequireBinary(t *testing.T) {
	const missing = "tlstest-no-such-binary"
	tests := []struct {
		name, bin, ci       string
		wantPath            bool
		wantSkip, wantFatal bool
	}{
		{name: "present", bin: "sh", ci: "true", wantPath: true},
		{name: "missing", bin: missing, ci: "", wantSkip: true},
		{name: "missing-ci-false", bin: missing, ci: "false", wantSkip: true},
		{name: "missing-ci", bin: missing, ci: "true", wantFatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recordingTB{TB: t}
			path := tlstest.RequireBinary(r, tt.bin)
			if (path != "") != tt.wantPath || r.skipped != tt.wantSkip || r.failed != tt.wantFatal {
				t.Errorf("RequireBinary(%q) with CI=%q: path %q, skipped %v, failed %v; want a path %v, skipped %v, failed %v",
					tt.bin, tt.ci, path, r.skipped, r.failed, tt.wantPath, tt.wantSkip, tt.wantFatal)
			}
		})
	}
}

func TestDHParams(t *testing.T) {
	// 512 bits is generated; the others are well-known groups.
	for _, bits := range []int{512, 1024, 2048, 3072} {
		f := tlstest.DHParams(t, bits)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "DH PARAMETERS" {
			t.Fatalf("DHParams(%d) wrote no DH PARAMETERS block:\n%s", bits, b)
		}
		var params struct {
			P, G *big.Int
			Rest asn1.RawValue `asn1:"optional"`
		}
		if _, err := asn1.Unmarshal(blk.Bytes, &params); err != nil {
			t.Fatalf("DHParams(%d): parse PKCS #3: %v", bits, err)
		}
		if got := params.P.BitLen(); got != bits {
			t.Errorf("DHParams(%d): prime has %d bits", bits, got)
		}
		again, err := os.ReadFile(tlstest.DHParams(t, bits))
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(b) {
			t.Errorf("DHParams(%d) made new parameters on a second call; want them made once", bits)
		}
	}
}

// handshake is what a client saw of one handshake.
type handshake struct {
	Version string // "TLSv1.2"
	Suite   string // OpenSSL's name, or Go's for goHandshake
	TempKey string // s_client's "Server Temp Key", e.g. "DH, 1024 bits"
}

// sClient connects to addr with `openssl s_client` and the given arguments
// and returns what it negotiated, or ok false when the handshake failed.
func sClient(t *testing.T, addr netip.AddrPort, args ...string) (h handshake, ok bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	args = append([]string{"s_client", "-connect", addr.String(), "-servername", "localhost", "-brief"}, args...)
	out, err := exec.CommandContext(ctx, tlstest.RequireBinary(t, "openssl"), args...).CombinedOutput()
	if err != nil {
		t.Logf("openssl %v: %v\n%s", args, err, out)
		return handshake{}, false
	}
	field := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `: (.+)$`).FindSubmatch(out)
		if m == nil {
			return ""
		}
		return string(m[1])
	}
	return handshake{Version: field("Protocol version"), Suite: field("Ciphersuite"), TempKey: field("Server Temp Key")}, true
}

// goClient returns a crypto/tls client configuration that trusts cert.
func goClient(cert *tlstest.Cert) *tls.Config {
	roots := x509.NewCertPool()
	roots.AddCert(cert.Cert)
	return &tls.Config{RootCAs: roots, ServerName: "localhost"}
}

// goHandshake completes a crypto/tls handshake with addr.
func goHandshake(t *testing.T, addr netip.AddrPort, cfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	c, err := d.DialContext(t.Context(), "tcp", addr.String())
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	return c.(*tls.Conn).ConnectionState(), nil
}

func TestOpenSSLServer(t *testing.T) {
	tlstest.RequireBinary(t, "openssl")
	t.Run("versions-and-rsa-kx", func(t *testing.T) {
		t.Parallel()
		cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
		addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: cert,
			Versions: []tlswarden.Version{tlswarden.TLS12}, Cipher: "AES128-GCM-SHA256"})
		cfg := goClient(cert)
		cfg.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
		st, err := goHandshake(t, addr, cfg)
		if err != nil {
			t.Fatalf("TLS 1.2 handshake: %v", err)
		}
		if st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_RSA_WITH_AES_128_GCM_SHA256 {
			t.Errorf("negotiated %s %s; want TLS 1.2 TLS_RSA_WITH_AES_128_GCM_SHA256",
				tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
		}
		cfg = goClient(cert)
		cfg.MinVersion = tls.VersionTLS13
		if _, err := goHandshake(t, addr, cfg); err == nil {
			t.Error("a TLS 1.3 handshake succeeded with Versions TLS 1.2 only")
		}
	})
	t.Run("tls10-and-12-without-11", func(t *testing.T) {
		t.Parallel()
		addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{
			Versions: []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS12}, Cipher: "AES128-SHA:@SECLEVEL=0"})
		for flag, want := range map[string]bool{"-tls1": true, "-tls1_1": false, "-tls1_2": true, "-tls1_3": false} {
			if _, ok := sClient(t, addr, flag, "-cipher", "AES128-SHA:@SECLEVEL=0"); ok != want {
				t.Errorf("s_client %s: handshake %v, want %v", flag, ok, want)
			}
		}
	})
	t.Run("server-preference", func(t *testing.T) {
		t.Parallel()
		for _, pref := range []bool{true, false} {
			addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{ServerPref: pref,
				Versions: []tlswarden.Version{tlswarden.TLS12}, Cipher: "ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA:@SECLEVEL=0"})
			h, _ := sClient(t, addr, "-cipher", "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0")
			want := map[bool]string{true: "ECDHE-RSA-AES256-GCM-SHA384", false: "AES128-SHA"}[pref]
			if h.Suite != want {
				t.Errorf("ServerPref %v: chose %q, want %q", pref, h.Suite, want)
			}
		}
	})
	t.Run("dh-params", func(t *testing.T) {
		t.Parallel()
		for _, bits := range []int{1024, 2048} {
			addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{DHBits: bits,
				Versions: []tlswarden.Version{tlswarden.TLS12}, Cipher: "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"})
			h, _ := sClient(t, addr, "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
			want := handshake{Version: "TLSv1.2", Suite: "DHE-RSA-AES128-GCM-SHA256", TempKey: "DH, " + strconv.Itoa(bits) + " bits"}
			if diff := cmp.Diff(want, h); diff != "" {
				t.Errorf("DHBits %d (-want +got):\n%s", bits, diff)
			}
		}
	})
	t.Run("tls13-suites-and-groups", func(t *testing.T) {
		t.Parallel()
		addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS13},
			Ciphersuites: "TLS_CHACHA20_POLY1305_SHA256", Groups: "secp384r1"})
		h, _ := sClient(t, addr)
		want := handshake{Version: "TLSv1.3", Suite: "TLS_CHACHA20_POLY1305_SHA256", TempKey: "ECDH, secp384r1, 384 bits"}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("chain", func(t *testing.T) {
		t.Parallel()
		ca := tlstest.NewCA(t, "tlstest root")
		mid := ca.Intermediate(t, "tlstest intermediate")
		leaf := mid.Issue(t, tlstest.CertSpec{})
		addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cert: leaf, Chain: []*tlstest.Cert{&mid.Cert}})
		st, err := goHandshake(t, addr, goClient(&ca.Cert))
		if err != nil {
			t.Fatalf("handshake verifying the chain: %v", err)
		}
		if got := len(st.PeerCertificates); got != 2 {
			t.Errorf("server sent %d certificates, want leaf and intermediate", got)
		}
	})
}

func TestNginxServer(t *testing.T) {
	tlstest.RequireBinary(t, "nginx")
	tlstest.RequireBinary(t, "openssl")
	t.Run("http-and-headers", func(t *testing.T) {
		t.Parallel()
		cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
		addr := tlstest.NginxServer(t, tlstest.NginxConfig{Cert: cert,
			Versions: []tlswarden.Version{tlswarden.TLS12},
			Headers: []tlstest.Header{
				{Name: "Strict-Transport-Security", Value: "max-age=63072000; includeSubDomains"},
				{Name: "Content-Security-Policy", Value: `default-src 'self'; report-uri "/csp"`, Always: true},
			},
			Directives: []string{`location = /teapot { return 418; }`},
		})
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: goClient(cert)}}
		get := func(path string) *http.Response {
			resp, err := client.Get("https://" + addr.String() + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			t.Cleanup(func() { resp.Body.Close() })
			return resp
		}
		resp := get("/")
		body, _ := io.ReadAll(resp.Body)
		got := []string{resp.Status, string(body), tls.VersionName(resp.TLS.Version),
			resp.Header.Get("Strict-Transport-Security"), resp.Header.Get("Content-Security-Policy")}
		want := []string{"200 OK", "tlswarden test\n", "TLS 1.2",
			"max-age=63072000; includeSubDomains", `default-src 'self'; report-uri "/csp"`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET / (-want +got):\n%s", diff)
		}
		// On an error only the header added "always" is sent.
		resp = get("/teapot")
		got = []string{strconv.Itoa(resp.StatusCode), resp.Header.Get("Strict-Transport-Security"), resp.Header.Get("Content-Security-Policy")}
		want = []string{"418", "", `default-src 'self'; report-uri "/csp"`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET /teapot (-want +got):\n%s", diff)
		}
	})
	t.Run("ciphers-preference-dh", func(t *testing.T) {
		t.Parallel()
		addr := tlstest.NginxServer(t, tlstest.NginxConfig{
			Versions:            []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13},
			Ciphers:             "DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256",
			Ciphersuites:        "TLS_AES_128_GCM_SHA256",
			PreferServerCiphers: true, DHBits: 2048, ECDHCurve: "secp384r1",
		})
		h, _ := sClient(t, addr, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384")
		want := handshake{Version: "TLSv1.2", Suite: "DHE-RSA-AES256-GCM-SHA384", TempKey: "DH, 2048 bits"}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Errorf("TLS 1.2 with the client preferring ECDHE (-want +got):\n%s", diff)
		}
		h, _ = sClient(t, addr, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
		if want := "ECDH, secp384r1, 384 bits"; h.TempKey != want {
			t.Errorf("ECDHE key %q, want %q", h.TempKey, want)
		}
		h, _ = sClient(t, addr, "-tls1_3")
		if want := "TLS_AES_128_GCM_SHA256"; h.Suite != want {
			t.Errorf("TLS 1.3 suite %q, want %q", h.Suite, want)
		}
	})
}

func TestGnuTLSServer(t *testing.T) {
	tlstest.RequireBinary(t, "gnutls-serv")
	tlstest.RequireBinary(t, "openssl")
	t.Run("camellia-tls12", func(t *testing.T) {
		t.Parallel()
		cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
		addr := tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Cert: cert,
			Priority: "NORMAL:-VERS-ALL:+VERS-TLS1.2:+CAMELLIA-128-CBC"})
		if !addr.Addr().IsLoopback() {
			t.Fatalf("GnuTLSServer returned %v, not a loopback address", addr)
		}
		h, _ := sClient(t, addr, "-cipher", "CAMELLIA128-SHA")
		if diff := cmp.Diff(handshake{Version: "TLSv1.2", Suite: "CAMELLIA128-SHA"}, h); diff != "" {
			t.Errorf("Camellia (-want +got):\n%s", diff)
		}
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: goClient(cert)}}
		resp, err := client.Get("https://" + addr.String() + "/")
		if err != nil {
			t.Fatalf("GET /: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.TLS.Version != tls.VersionTLS12 {
			t.Errorf("GET /: %s over %s, want 200 over TLS 1.2", resp.Status, tls.VersionName(resp.TLS.Version))
		}
	})
	t.Run("dh-params", func(t *testing.T) {
		t.Parallel()
		cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
		addr := tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Cert: cert, Echo: true, DHBits: 1536,
			Priority: "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+DHE-RSA"})
		// Without ffdhe groups offered, the server uses its --dhparams.
		h, _ := sClient(t, addr, "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0", "-groups", "X25519")
		if want := "DH, 1536 bits"; h.TempKey != want {
			t.Errorf("DHE key %q, want %q", h.TempKey, want)
		}
		c, err := tls.Dial("tcp", addr.String(), goClient(cert))
		if err == nil {
			c.Close()
			t.Error("crypto/tls, which has no DHE, completed a handshake with a DHE-only server")
		}
	})
	t.Run("echo", func(t *testing.T) {
		t.Parallel()
		cert := tlstest.SelfSigned(t, tlstest.CertSpec{})
		addr := tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Cert: cert, Echo: true})
		c, err := tls.Dial("tcp", addr.String(), goClient(cert))
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "ping\n"); err != nil {
			t.Fatalf("write: %v", err)
		}
		got := make([]byte, 5)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping\n" {
			t.Errorf("echo: read %q, %v; want %q", got, err, "ping\n")
		}
	})
}
