//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
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

// scanVerdict runs `tlswarden scan --json` with args and returns the one
// report's first endpoint and its evaluation.
func scanVerdict(t *testing.T, args ...string) (tlswarden.EndpointReport, tlswarden.EndpointEvaluation, int) {
	t.Helper()
	code, stdout, stderr := runCmd(t, "", append([]string{"scan", "--json", "--progress=false", "--timeout", "10s"}, args...)...)
	var r struct {
		tlswarden.Report
		Evaluation *tlswarden.Evaluation `json:"evaluation"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r.Evaluation == nil || len(r.Endpoints) != 1 || len(r.Evaluation.Endpoints) != 1 {
		t.Fatalf("scan %v: exit %d, %v\n%s\n%s", args, code, err, stdout, stderr)
	}
	ev := r.Evaluation.Endpoints[0]
	for _, f := range ev.Findings {
		if f.Outcome != tlswarden.RulePass {
			t.Logf("%s %s %s: %s", f.Severity, f.Outcome, f.RuleID, f.Message)
		}
	}
	return r.Endpoints[0], ev, code
}

func finding(ev tlswarden.EndpointEvaluation, rule string) (tlswarden.Finding, bool) {
	i := slices.IndexFunc(ev.Findings, func(f tlswarden.Finding) bool { return f.RuleID == rule })
	if i < 0 {
		return tlswarden.Finding{}, false
	}
	return ev.Findings[i], true
}

// goodHeaders are the security headers of a well-run HTTPS site.
var goodHeaders = []tlstest.Header{
	{Name: "Strict-Transport-Security", Value: "max-age=63072000; includeSubDomains", Always: true},
	{Name: "Content-Security-Policy", Value: "default-src 'none'; frame-ancestors 'none'", Always: true},
	{Name: "X-Content-Type-Options", Value: "nosniff", Always: true},
	{Name: "Referrer-Policy", Value: "no-referrer", Always: true},
}

// TestPrivatePKICompliant: an organisation's own CA, given with --ca-file,
// anchors a 10-year leaf on a TLS 1.3-only nginx with good headers. The
// CA/Browser Forum's rules are for publicly trusted certificates, so the
// endpoint is compliant under the default profile and the chain is
// reported as anchored in the organisation's store. Without --ca-file it
// is untrusted; with --ca-file-only it is trusted the same way.
func TestPrivatePKICompliant(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Add(-time.Hour).Truncate(time.Second)
	ca := tlstest.NewCAValid(t, "Example Trust Internal Root", now, now.AddDate(20, 0, 0))
	leaf := ca.Issue(t, tlstest.CertSpec{NotBefore: now, NotAfter: now.AddDate(10, 0, 0)})
	caFile, _ := ca.WritePEM(t, dir)
	addr := tlstest.NginxServer(t, tlstest.NginxConfig{Cert: leaf, Versions: []tlswarden.Version{tlswarden.TLS13}, Headers: goodHeaders})
	target := addr.String()
	for _, tc := range []struct {
		name string
		args []string
	}{{"ca-file", []string{"--ca-file", caFile}}, {"ca-file-only", []string{"--ca-file", caFile, "--ca-file-only"}}} {
		t.Run(tc.name, func(t *testing.T) {
			ep, ev, code := scanVerdict(t, append(tc.args, "--http-port", "1", target)...)
			if ep.Cert == nil || !ep.Cert.Trusted || ep.Cert.Anchor != tlswarden.AnchorOrganisation {
				t.Fatalf("certificate facts %+v: want trusted, anchored in the organisation's store", ep.Cert)
			}
			if ev.Compliance != tlswarden.Compliant || code != exitOK {
				t.Errorf("%s (exit %d), want compliant", ev.Compliance, code)
			}
			if f, _ := finding(ev, "cert.lifespan_br"); f.Outcome != tlswarden.RuleNotApplicable || !strings.Contains(f.Message, "organisation") {
				t.Errorf("cert.lifespan_br: %s %q, want not_applicable for the organisation's root", f.Outcome, f.Message)
			}
		})
	}
	t.Run("without ca-file", func(t *testing.T) {
		ep, ev, _ := scanVerdict(t, "--http-port", "1", target)
		if ep.Cert == nil || ep.Cert.Trusted || ep.Cert.Anchor != "" || ev.Compliance != tlswarden.NonCompliant {
			t.Errorf("without --ca-file: %s, certificate %+v; want untrusted, no anchor, non-compliant", ev.Compliance, ep.Cert)
		}
	})
}
