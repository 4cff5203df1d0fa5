package vuln

import (
	"crypto/tls"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestPatchedServers checks that Debian's OpenSSL, nginx and GnuTLS come
// out clean: no heartbeat, the early ChangeCipherSpec refused, no
// compression, secure renegotiation, no CBC padding oracle, and TLS_FALLBACK_SCSV honoured where
// a lower version is enabled.
func TestPatchedServers(t *testing.T) {
	tls11and12 := []tlswarden.Version{tlswarden.TLS11, tlswarden.TLS12}
	tests := []struct {
		name     string
		start    func(t *testing.T) netip.AddrPort
		fallback bool // a lower version is enabled, so the SCSV must be refused
		rsaKex   bool // RSA key exchange is enabled (OpenSSL's DEFAULT has it), so ROBOT is tested
		reneg    bool // client-initiated renegotiation is allowed (GnuTLS's default)
	}{
		{"openssl defaults", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{})
		}, false, true, false},
		{"openssl RSA key exchange", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cipher: "AES128-GCM-SHA256:AES128-SHA:@SECLEVEL=0"})
		}, false, true, false},
		{"go RSA key exchange", func(t *testing.T) netip.AddrPort {
			return goServer(t, []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_CBC_SHA})
		}, false, true, false},
		{"openssl TLS 1.1 and 1.2", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: tls11and12, Cipher: "DEFAULT:@SECLEVEL=0"})
		}, true, true, false},
		{"nginx TLS 1.1 and 1.2", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Versions: tls11and12, Ciphers: "DEFAULT:@SECLEVEL=0"})
		}, true, true, false},
		{"gnutls", func(t *testing.T) netip.AddrPort {
			return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:+VERS-TLS1.1:+RSA"})
		}, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(t, Config{AnswerWait: time.Second}, tc.start(t))
			f := r.Features
			if f.Status != tlswarden.StatusOK || f.Heartbeat || f.Compression != "null" || !f.SecureRenegotiation {
				t.Errorf("features %+v", f)
			}
			if r.Heartbleed != nil {
				t.Errorf("heartbleed tested without the extension: %+v", r.Heartbleed)
			}
			if c := r.CCSInjection; c == nil || c.Status != tlswarden.StatusOK || c.EarlyCCSAccepted {
				t.Errorf("ccs injection %+v", c)
			}
			fb := r.FallbackSCSV
			if fb == nil || fb.Status != tlswarden.StatusOK || tc.fallback && !fb.Rejected {
				t.Errorf("fallback %+v", fb)
			}
			if rb := r.ROBOT; rb == nil || rb.Status != tlswarden.StatusOK || rb.Oracle || rb.Tested != tc.rsaKex {
				t.Errorf("ROBOT %+v, want tested %v and no oracle", rb, tc.rsaKex)
			}
			if rs := r.Resumption; rs == nil || rs.Status != tlswarden.StatusOK || !rs.TicketIssued || !rs.ResumedWithTicket {
				t.Errorf("resumption %+v", rs)
			}
			if rn := r.ClientRenegotiation; rn == nil || rn.Status != tlswarden.StatusOK || !rn.Tested || !rn.Secure || rn.Accepted != tc.reneg {
				t.Errorf("client-initiated renegotiation %+v, want accepted %v", rn, tc.reneg)
			}
			// every one of them accepts AES-CBC suites Go's client has
			if po := r.PaddingOracle; po == nil || po.Status != tlswarden.StatusOK || !po.Tested || po.Oracle {
				t.Errorf("padding oracle %+v, want tested and no oracle", po)
			}
			t.Logf("padding oracle %+v; %d connections", r.PaddingOracle, r.Connections)
			t.Logf("resumption %+v", r.Resumption)
			t.Logf("features %+v; ccs %+v; fallback %+v; robot %+v", f, r.CCSInjection, fb, r.ROBOT)
		})
	}
}

// goServer is an in-process crypto/tls server with the given TLS 1.2
// suites, RSA key exchange among them if asked (Go's RSA decryption is
// constant time).
func goServer(t *testing.T, suites []uint16) netip.AddrPort {
	t.Helper()
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert}, CipherSuites: suites, MaxVersion: tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if c.(*tls.Conn).Handshake() == nil {
					// wait for a request, as a web server does: the
					// padding oracle check's record gets Go's answer,
					// not a race with the close
					_, _ = io.Copy(io.Discard, c)
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestTicketsAndClientCertificates checks the facts that need a completed
// handshake against servers configured to decide them.
func TestTicketsAndClientCertificates(t *testing.T) {
	t.Run("ticket lifetime", func(t *testing.T) {
		addr := tlstest.NginxServer(t, tlstest.NginxConfig{Directives: []string{"ssl_session_timeout 17m;"}})
		rs := scan(t, Config{NoIntrusive: true}, addr).Resumption
		if rs == nil || !rs.TicketIssued || rs.TicketLifetimeHint != 17*60 || !rs.ResumedWithTicket {
			t.Errorf("resumption %+v, want a ticket for 1020 s that resumes", rs)
		}
	})
	t.Run("no tickets", func(t *testing.T) {
		addr := tlstest.NginxServer(t, tlstest.NginxConfig{Directives: []string{"ssl_session_tickets off;"}})
		r := scan(t, Config{NoIntrusive: true}, addr)
		if rs := r.Resumption; rs == nil || rs.Status != tlswarden.StatusOK || rs.TicketIssued || r.Features.SessionTicket {
			t.Errorf("resumption %+v, session_ticket %v; want no ticket", rs, r.Features.SessionTicket)
		}
	})
	for _, tc := range []struct {
		flag     string
		optional bool
	}{{"-verify", true}, {"-Verify", false}} {
		t.Run("client certificate "+tc.flag, func(t *testing.T) {
			addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{tc.flag, "1"}})
			r := scan(t, Config{NoIntrusive: true}, addr)
			if r.Features.ClientCertificate == nil {
				t.Fatalf("no client certificate request in %+v", r.Features)
			}
			rs := r.Resumption
			if rs.ClientCertificateOptional != tc.optional || (rs.Status == tlswarden.StatusOK) != tc.optional {
				t.Errorf("resumption %+v, want optional %v", rs, tc.optional)
			}
		})
	}
}

// TestSignatureSchemes enumerates the TLS 1.2 schemes of a server limited
// to two.
func TestSignatureSchemes(t *testing.T) {
	addr := tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{"-sigalgs", "RSA-PSS+SHA256:RSA+SHA384"}})
	ss := scan(t, Config{NoIntrusive: true}, addr).SignatureSchemes
	if ss == nil {
		t.Fatal("no signature schemes")
	}
	got := slices.Sorted(slices.Values(ss.Schemes))
	if !ss.Tested || !ss.Complete || ss.Status != tlswarden.StatusOK || !slices.Equal(got, []string{"rsa_pkcs1_sha384", "rsa_pss_rsae_sha256"}) {
		t.Errorf("signature schemes %+v", ss)
	}
}

// TestSessionIDResumption checks resumption by session ID against servers
// whose session cache decides it.
func TestSessionIDResumption(t *testing.T) {
	tests := []struct {
		name            string
		start           func(t *testing.T) netip.AddrPort
		issued, resumed bool
	}{
		{"openssl cache", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{})
		}, true, true},
		{"openssl -no_cache", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{"-no_cache"}})
		}, false, false},
		{"nginx shared cache", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Directives: []string{"ssl_session_cache shared:SSL:1m;"}})
		}, true, true},
		{"nginx cache off", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Directives: []string{"ssl_session_cache off;"}})
		}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := scan(t, Config{NoIntrusive: true}, tc.start(t)).Resumption
			if rs == nil || rs.Status != tlswarden.StatusOK || rs.SessionIDError != "" ||
				rs.SessionIDIssued != tc.issued || rs.ResumedWithSessionID != tc.resumed {
				t.Errorf("resumption %+v, want session ID issued %v, resumed %v", rs, tc.issued, tc.resumed)
			}
		})
	}
}

// TestSignatureSchemesTLS13 enumerates the schemes of the encrypted
// CertificateVerify from Go servers whose keys decide them and OpenSSL
// servers limited with -sigalgs; a server without TLS 1.3 is not tested.
func TestSignatureSchemesTLS13(t *testing.T) {
	rsaCert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	ecCert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA384}).TLSCertificate()
	edCert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.Ed25519}).TLSCertificate()
	limited := rsaCert
	limited.SupportedSignatureAlgorithms = []tls.SignatureScheme{tls.PSSWithSHA512, tls.PSSWithSHA256}
	goTLS := func(max uint16, certs ...tls.Certificate) func(t *testing.T) netip.AddrPort {
		return func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: certs, MaxVersion: max})
		}
	}
	tests := []struct {
		name   string
		start  func(t *testing.T) netip.AddrPort
		tested bool
		want   []string
	}{
		{"go RSA", goTLS(tls.VersionTLS13, rsaCert), true, []string{"rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512"}},
		{"go RSA limited", goTLS(tls.VersionTLS13, limited), true, []string{"rsa_pss_rsae_sha256", "rsa_pss_rsae_sha512"}},
		{"go ECDSA P-384 and Ed25519", goTLS(tls.VersionTLS13, ecCert, edCert), true, []string{"ecdsa_secp384r1_sha384", "ed25519"}},
		{"go TLS 1.2 only", goTLS(tls.VersionTLS12, rsaCert), false, []string{}},
		{"openssl -sigalgs", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS13},
				Args: []string{"-sigalgs", "RSA-PSS+SHA384:RSA+SHA256"}})
		}, true, []string{"rsa_pss_rsae_sha384"}},
		{"openssl defaults", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{})
		}, true, []string{"rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(t, Config{NoIntrusive: true}, tc.start(t))
			ss := r.SignatureSchemesTLS13
			if ss == nil {
				t.Fatalf("no TLS 1.3 signature schemes; features %+v", r.Features)
			}
			got := slices.Sorted(slices.Values(ss.Schemes))
			if ss.Status != tlswarden.StatusOK || ss.Version != tlswarden.TLS13 || ss.Tested != tc.tested || ss.Complete != tc.tested ||
				!slices.Equal(got, slices.Sorted(slices.Values(tc.want))) {
				t.Errorf("TLS 1.3 signature schemes %+v, want tested %v with %v", ss, tc.tested, tc.want)
			}
		})
	}
}

// TestClientRenegotiation checks the client-initiated renegotiation check
// against servers that allow it and servers that refuse it, as each really
// answers `openssl s_client`'s R command.
func TestClientRenegotiation(t *testing.T) {
	tests := []struct {
		name     string
		start    func(t *testing.T) netip.AddrPort
		accepted bool
		answer   string
	}{
		{"openssl -client_renegotiation", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{"-client_renegotiation"}})
		}, true, "ServerHello"},
		{"openssl defaults", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{})
		}, false, "alert no_renegotiation (warning)"},
		{"openssl ChaCha20", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Cipher: "ECDHE-RSA-CHACHA20-POLY1305", Args: []string{"-client_renegotiation"}})
		}, true, "ServerHello"},
		// nginx never sees it: OpenSSL 3 refuses before its callback would.
		{"nginx", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{})
		}, false, "alert no_renegotiation (warning)"},
		// GnuTLS allows a secure renegotiation from the client by default
		// (gnutls-serv renegotiates on s_client's R too).
		{"gnutls", func(t *testing.T) netip.AddrPort {
			return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{})
		}, true, "ServerHello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(t, Config{AnswerWait: time.Second}, tc.start(t))
			rn := r.ClientRenegotiation
			if rn == nil || rn.Status != tlswarden.StatusOK || !rn.Tested || !rn.Secure || rn.Accepted != tc.accepted || rn.Answer != tc.answer {
				t.Errorf("client renegotiation %+v, want accepted %v with %q", rn, tc.accepted, tc.answer)
			}
		})
	}
}

// TestResumption13 checks TLS 1.3 resumption and 0-RTT against servers
// configured to decide them.
func TestResumption13(t *testing.T) {
	tls12and13 := []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13}
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	tests := []struct {
		name                   string
		start                  func(t *testing.T) netip.AddrPort
		tested, resumed, early bool
	}{
		{"openssl -early_data", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Interactive: true, Args: []string{"-early_data"}})
		}, true, true, true},
		{"openssl defaults", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{})
		}, true, true, false},
		{"openssl TLS 1.3 only -early_data", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: []tlswarden.Version{tlswarden.TLS13}, Interactive: true, Args: []string{"-early_data"}})
		}, true, true, true},
		{"openssl ChaCha20", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Interactive: true, Args: []string{"-early_data", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}})
		}, true, true, true},
		{"openssl AES-256", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Args: []string{"-ciphersuites", "TLS_AES_256_GCM_SHA384"}})
		}, true, true, false},
		{"nginx ssl_early_data on", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Versions: tls12and13, Directives: []string{"ssl_early_data on;"}})
		}, true, true, true},
		{"nginx defaults", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Versions: tls12and13})
		}, true, true, false},
		{"gnutls", func(t *testing.T) netip.AddrPort {
			return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{})
		}, true, true, false},
		{"gnutls --earlydata", func(t *testing.T) netip.AddrPort {
			return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Args: []string{"--earlydata"}})
		}, true, true, true},
		{"go", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
		}, true, true, false},
		// Keeps the connection open without a ticket: the wait ends it.
		{"nginx NumTickets 0", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Versions: tls12and13, Directives: []string{"ssl_conf_command NumTickets 0;"}})
		}, false, false, false},
		{"go without tickets", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: true})
		}, false, false, false},
		{"go TLS 1.2", func(t *testing.T) netip.AddrPort {
			return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12})
		}, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := scan(t, Config{NoIntrusive: true, AnswerWait: time.Second}, tc.start(t))
			rs := r.TLS13Resumption
			if rs == nil || rs.Status != tlswarden.StatusOK || rs.Tested != tc.tested || rs.TicketIssued != tc.tested ||
				rs.Resumed != tc.resumed || rs.EarlyDataAccepted != tc.early || (rs.MaxEarlyData > 0) != tc.early {
				t.Errorf("TLS 1.3 resumption %+v, want tested %v, resumed %v, early data %v", rs, tc.tested, tc.resumed, tc.early)
				t.Logf("sig13 %+v", r.SignatureSchemesTLS13)
			}
		})
	}
}
