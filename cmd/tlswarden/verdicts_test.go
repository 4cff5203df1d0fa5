//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/probes"
)

// Verdicts on real servers: each case scans a server from Go, OpenSSL,
// nginx or GnuTLS on loopback with the real probes and checks what the
// policy makes of it (issue 11).

// gradeTLSOnly runs the TLS probe against addr and grades its facts alone.
func gradeTLSOnly(t *testing.T, addr netip.AddrPort) *tlswarden.Grade {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	obs, err := probes.TLS(probes.TLSConfig{Timeout: 10 * time.Second}).Run(ctx,
		tlswarden.Endpoint{Host: "localhost", Addr: addr}, tlstest.NewDialer(addr).Dial)
	if err != nil || obs.TLS == nil {
		t.Fatalf("TLS probe of %v: %v", addr, err)
	}
	for _, v := range obs.TLS.Versions {
		if v.Supported {
			t.Logf("%s (%s): %v", v.Version, v.Preference, v.Suites)
		}
	}
	return policy.GradeTLS(&tlswarden.EndpointReport{Status: tlswarden.StatusOK, TLS: obs.TLS}, time.Now())
}

func hasCap(g *tlswarden.Grade, reason string) bool {
	return slices.ContainsFunc(g.Caps, func(c tlswarden.GradeCap) bool { return strings.Contains(c.Reason, reason) })
}

// TestGrade3DESOnlyWhenNegotiated: SSL Labs caps 3DES at C only when a
// modern client would negotiate it; servers that keep it after every suite
// such a client prefers are not capped.
func TestGrade3DESOnlyWhenNegotiated(t *testing.T) {
	const block64 = "64-bit block cipher"
	t.Run("go server, 3DES last in its own order", func(t *testing.T) {
		addr := tlstest.GoServer(t, &tls.Config{
			Certificates: []tls.Certificate{tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()},
			MaxVersion:   tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
		})
		g := gradeTLSOnly(t, addr)
		if hasCap(g, block64) || g.Letter == "C" {
			t.Errorf("grade %s, caps %+v: 3DES capped though the server puts it last", g.Letter, g.Caps)
		}
	})
	gnutls := func(priority string) *tlswarden.Grade {
		t.Helper()
		return gradeTLSOnly(t, tlstest.GnuTLSServer(t, tlstest.GnuTLSConfig{Priority: priority}))
	}
	t.Run("gnutls server order, 3DES after every AES suite", func(t *testing.T) {
		g := gnutls("NORMAL:-VERS-ALL:+VERS-TLS1.2:+3DES-CBC:%SERVER_PRECEDENCE")
		if hasCap(g, block64) || g.Letter == "C" {
			t.Errorf("grade %s, caps %+v: 3DES capped though the server puts it after AES", g.Letter, g.Caps)
		}
	})
	t.Run("gnutls client order, 3DES and AES", func(t *testing.T) {
		g := gnutls("NORMAL:-VERS-ALL:+VERS-TLS1.2:+3DES-CBC")
		if hasCap(g, block64) || g.Letter == "C" {
			t.Errorf("grade %s, caps %+v: 3DES capped though a modern client picks AES", g.Letter, g.Caps)
		}
	})
	t.Run("gnutls server order, 3DES first", func(t *testing.T) {
		g := gnutls("NONE:+VERS-TLS1.2:+3DES-CBC:+AES-128-CBC:+SHA1:+ECDHE-RSA:+RSA:+COMP-NULL:+SIGN-ALL:+CURVE-ALL:%SERVER_PRECEDENCE")
		if !hasCap(g, block64) {
			t.Errorf("grade %s, caps %+v: no 3DES cap though a modern client gets 3DES", g.Letter, g.Caps)
		}
	})
	t.Run("gnutls client order, 3DES beside Camellia only", func(t *testing.T) {
		g := gnutls("NONE:+VERS-TLS1.2:+CAMELLIA-128-CBC:+3DES-CBC:+SHA1:+RSA:+COMP-NULL:+SIGN-ALL:+CURVE-ALL")
		if !hasCap(g, block64) {
			t.Errorf("grade %s, caps %+v: no 3DES cap though a modern client gets 3DES", g.Letter, g.Caps)
		}
	})
}
