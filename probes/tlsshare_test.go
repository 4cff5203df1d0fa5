package probes

import (
	"crypto/tls"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// runShared runs the TLS and certificate probes at once on addr, sharing
// shared (nil: nothing), judging at now, and returns the certificate facts and the
// connections of each probe.
func runShared(t *testing.T, addr netip.AddrPort, shared *Shared, now time.Time) (cert *tlswarden.CertResult, tlsConns, certConns int) {
	t.Helper()
	ep := tlswarden.Endpoint{Host: "localhost", Addr: addr}
	td, cd := tlstest.NewDialer(addr), tlstest.NewDialer(addr)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := TLS(TLSConfig{Shared: shared}).Run(t.Context(), ep, td.Dial); err != nil {
			t.Errorf("tls probe: %v", err)
		}
	})
	wg.Go(func() {
		obs, err := Cert(CertConfig{Shared: shared, Now: func() time.Time { return now }}).Run(t.Context(), ep, cd.Dial)
		if err != nil && obs.Cert == nil {
			t.Errorf("certificate probe: %v", err)
		}
		cert = obs.Cert
	})
	wg.Wait()
	return cert, td.Count(), cd.Count()
}

// TestSharedSparesChainHellos checks that the certificate probe, told by
// the TLS probe which key exchanges a server refuses at TLS 1.2 and older,
// sends no chain hello that would be refused there, and finds the same
// chains: a server with one RSA certificate spares the ECDSA, EdDSA and
// DSA hellos; one with an ECDSA certificate too still has both chains
// found. The Shared is empty after each scan.
func TestSharedSparesChainHellos(t *testing.T) {
	c := newCerts(t)
	for _, tt := range []struct {
		name  string
		certs []tls.Certificate
		saved int
	}{
		{"RSA", []tls.Certificate{c.rsa}, 3},
		{"RSA and ECDSA", []tls.Certificate{c.ecdsa, c.rsa}, 1}, // DSA only
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := tlstest.GoServer(t, &tls.Config{Certificates: tt.certs})
			now := time.Now()
			alone, _, aloneConns := runShared(t, addr, nil, now)
			shared := NewShared()
			got, _, conns := runShared(t, addr, shared, now)
			if alone == nil || got == nil {
				t.Fatal("no certificate facts")
			}
			if diff := cmp.Diff(alone.OtherChains, got.OtherChains); diff != "" || alone.Leaf().SHA256 != got.Leaf().SHA256 {
				t.Errorf("chains differ when shared (-alone +shared):\n%s", diff)
			}
			if aloneConns-conns != tt.saved {
				t.Errorf("certificate probe: %d connections alone, %d shared; want %d saved", aloneConns, conns, tt.saved)
			}
			if n := len(shared.m); n != 0 {
				t.Errorf("%d entries left in the Shared", n)
			}
		})
	}
}
