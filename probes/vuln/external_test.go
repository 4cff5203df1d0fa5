package vuln

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestPatchedServers checks that Debian's OpenSSL, nginx and GnuTLS come
// out clean: no heartbeat, the early ChangeCipherSpec refused, no
// compression, secure renegotiation, and TLS_FALLBACK_SCSV honoured where
// a lower version is enabled.
func TestPatchedServers(t *testing.T) {
	tls11and12 := []tlswarden.Version{tlswarden.TLS11, tlswarden.TLS12}
	tests := []struct {
		name     string
		start    func(t *testing.T) netip.AddrPort
		fallback bool // a lower version is enabled, so the SCSV must be refused
	}{
		{"openssl defaults", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{})
		}, false},
		{"openssl TLS 1.1 and 1.2", func(t *testing.T) netip.AddrPort {
			return tlstest.OpenSSLServer(t, tlstest.OpenSSLConfig{Versions: tls11and12, Cipher: "DEFAULT:@SECLEVEL=0"})
		}, true},
		{"nginx TLS 1.1 and 1.2", func(t *testing.T) netip.AddrPort {
			return tlstest.NginxServer(t, tlstest.NginxConfig{Versions: tls11and12, Ciphers: "DEFAULT:@SECLEVEL=0"})
		}, true},
		{"gnutls", func(t *testing.T) netip.AddrPort {
			return tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: "NORMAL:+VERS-TLS1.1"})
		}, true},
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
			t.Logf("features %+v; ccs %+v; fallback %+v", f, r.CCSInjection, fb)
		})
	}
}
