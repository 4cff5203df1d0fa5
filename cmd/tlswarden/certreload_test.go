package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// TestServeReloadsTLSCertificate: replacing the files of --tls-cert and
// --tls-key (as a renewal does) changes the certificate serve presents,
// without a restart; a broken replacement keeps the one before in service.
func TestServeReloadsTLSCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "reload CA")
	certFile, keyFile := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).WritePEM(t, dir)

	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	if err := m.ParseFlags([]string{"--listen", "127.0.0.1:0", "--data-dir", dir, "--schedule", "off",
		"--tls-cert", certFile, "--tls-key", keyFile, "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() { m.Close() })
	addr := m.ln.Addr().String()
	served := func() *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	first := served()

	// A renewal writes new files elsewhere and moves them into place.
	newCert, newKey := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).WritePEM(t, t.TempDir())
	replace := func(from, to string) {
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Minute)
		if err := os.Chtimes(to, later, later); err != nil {
			t.Fatal(err)
		}
	}
	replace(newKey, keyFile)
	replace(newCert, certFile)
	var now *x509.Certificate
	for range 100 {
		if now = served(); !now.Equal(first) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if now.Equal(first) {
		t.Fatal("serve still presents the certificate it started with after its files were replaced")
	}

	// A broken file is logged and the certificate before stays in service.
	if err := os.WriteFile(certFile, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := served(); !got.Equal(now) {
		t.Errorf("after a broken replacement serve presents %v, want the renewed certificate", got.Subject)
	}
}
