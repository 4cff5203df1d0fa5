package probes

import (
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestHTTPMD5Certificate: nginx serving only an MD5-signed certificate
// refuses the handshake of a client that offers no MD5 signature algorithm
// (crypto/tls, as browsers), while a handshake that offers it completes
// (the certificate probe's). The headers are read through that handshake,
// and the result says the modern one failed and why.
func TestHTTPMD5Certificate(t *testing.T) {
	addr := tlstest.NginxServer(t, tlstest.NginxConfig{
		Cert:     tlstest.SelfSignedMD5(t, tlstest.CertSpec{}),
		Versions: []tlswarden.Version{tlswarden.TLS12, tlswarden.TLS13},
		Ciphers:  "DEFAULT:@SECLEVEL=0",
		Headers:  []tlstest.Header{{Name: "Strict-Transport-Security", Value: "max-age=63072000"}},
	})
	res, err := runHTTP(t, HTTPConfig{SkipPlainHTTP: true}, tlswarden.Endpoint{Host: "localhost", Addr: addr})
	if err != nil {
		t.Fatalf("http probe: %v (result %+v)", err, res)
	}
	if res.StatusCode != 200 || res.HSTS == nil || res.HSTS.MaxAge != 63072000 {
		t.Errorf("status %d, HSTS %+v; want 200 with the server's HSTS", res.StatusCode, res.HSTS)
	}
	if res.ModernHandshakeError == "" {
		t.Errorf("the result does not say the modern handshake failed")
	}
	t.Logf("modern handshake: %s; connections %d", res.ModernHandshakeError, res.Connections)
}
