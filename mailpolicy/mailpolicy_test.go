package mailpolicy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/resolve"
	"github.com/tlswarden/tlswarden/scope"
)

const goodPolicy = "version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmx: *.backup.test\r\nmax_age: 86400\r\n"

// policyServer serves an MTA-STS policy per domain on loopback, with a
// certificate for each mta-sts name, and returns its port and the roots.
func policyServer(t *testing.T) (int, *x509.CertPool) {
	ca := tlstest.NewCA(t, "mta-sts test CA")
	names := []string{"mta-sts.good.test", "mta-sts.redirect.test", "mta-sts.huge.test", "mta-sts.gone.test", "mta-sts.far.test"}
	leaf := ca.Issue(t, tlstest.CertSpec{CommonName: names[0], DNSNames: names, Key: tlstest.ECDSA256})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		host, _, _ := net.SplitHostPort(r.Host)
		switch host {
		case "mta-sts.good.test", "mta-sts.far.test":
			io.WriteString(w, goodPolicy)
		case "mta-sts.redirect.test":
			http.Redirect(w, r, "https://mta-sts.good.test/.well-known/mta-sts.txt", http.StatusFound)
		case "mta-sts.huge.test":
			io.WriteString(w, goodPolicy+strings.Repeat("x: y\r\n", 20000))
		default:
			http.NotFound(w, r)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert.Cert)
	return srv.Listener.Addr().(*net.TCPAddr).Port, roots
}

// TestCheck fetches policies from a local HTTPS server named through a
// test DNS server, under a scope allowing only 127.0.0.1.
func TestCheck(t *testing.T) {
	port, roots := policyServer(t)
	zone := dnstest.New(t)
	// far.test's first address is refused by the scope, its second not.
	zone.Add("mta-sts.far.test. 300 IN A 127.0.0.2")
	for _, d := range []string{"good", "redirect", "huge", "gone", "far", "broken"} {
		zone.Add("_mta-sts." + d + ".test. 300 IN TXT \"v=STSv1; id=20240101\"")
		zone.Add("mta-sts." + d + ".test. 300 IN A 127.0.0.1")
	}
	zone.Add("_mta-sts.broken.test. 300 IN TXT \"v=STSv1; id=2\"")
	zone.Add("_smtp._tls.good.test. 300 IN TXT \"v=TLSRPTv1; \" \"rua=mailto:tls@good.test\"")
	zone.Add("_mta-sts.none.test. 300 IN TXT \"v=spf1 -all\"")
	res, err := resolve.New(resolve.Config{Servers: []string{zone.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	pol := &scope.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	var asked []string
	dial := func(ctx context.Context, a netip.AddrPort) (net.Conn, error) {
		asked = append(asked, a.String())
		if err := pol.Check(a.Addr()); err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", a.String())
	}
	c := New(Config{Resolver: res, Dial: dial, RootCAs: roots, Port: port})
	check := func(domain string, mx ...string) *tlswarden.MailResult {
		m := &tlswarden.MailResult{Domain: domain}
		for _, h := range mx {
			m.MX = append(m.MX, tlswarden.MXHost{Host: h})
		}
		c.Check(t.Context(), m)
		return m
	}

	m := check("good.test", "mx1.good.test", "mx.backup.test", "other.good.test")
	want := &tlswarden.MTASTSResult{RecordOutcome: tlswarden.OutcomeOK, Record: "v=STSv1; id=20240101", ID: "20240101",
		PolicyURL:   "https://mta-sts.good.test/.well-known/mta-sts.txt",
		Policy:      &tlswarden.MTASTSPolicy{Version: "STSv1", Mode: "enforce", MaxAge: 86400, MX: []string{"mx1.good.test", "*.backup.test"}},
		MXUnmatched: []string{"other.good.test"}}
	if diff := cmp.Diff(want, m.MTASTS); diff != "" {
		t.Errorf("good.test MTA-STS (-want +got):\n%s", diff)
	}
	if !m.MTASTS.Enforced() {
		t.Error("an enforce policy is not Enforced")
	}
	wantRPT := &tlswarden.TLSRPTResult{RecordOutcome: tlswarden.OutcomeOK, Record: "v=TLSRPTv1; rua=mailto:tls@good.test", RUA: []string{"mailto:tls@good.test"}}
	if diff := cmp.Diff(wantRPT, m.TLSRPT); diff != "" {
		t.Errorf("good.test TLS-RPT (-want +got):\n%s", diff)
	}

	for domain, wantErr := range map[string]string{
		"redirect.test": "redirect",
		"huge.test":     "longer than",
		"gone.test":     "404",
	} {
		m := check(domain, "mx1.good.test")
		if m.MTASTS.Policy != nil || !strings.Contains(m.MTASTS.PolicyError, wantErr) {
			t.Errorf("%s: policy %+v, error %q; want none, an error naming %q", domain, m.MTASTS.Policy, m.MTASTS.PolicyError, wantErr)
		}
	}
	asked = nil
	if m := check("far.test", "mx1.good.test"); m.MTASTS.Policy == nil {
		t.Errorf("far.test: no policy (%s), want the one at 127.0.0.1", m.MTASTS.PolicyError)
	}
	if !cmp.Equal(asked, []string{"127.0.0.2:" + itoa(port), "127.0.0.1:" + itoa(port)}) {
		t.Errorf("dialed %v, want both addresses through the scoped dialer", asked)
	}
	if m := check("broken.test"); !strings.Contains(m.MTASTS.RecordError, "2 records") || m.MTASTS.PolicyURL != "" {
		t.Errorf("two STS records: %+v, want a record error and no fetch", m.MTASTS)
	}
	if m := check("none.test"); m.MTASTS.Record != "" || m.MTASTS.Policy != nil || m.TLSRPT.RecordOutcome != tlswarden.OutcomeNXDomain {
		t.Errorf("no MTA-STS: %+v, TLS-RPT %+v; want neither", m.MTASTS, m.TLSRPT)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestTLSA: each MX host's TLSA records are looked up, and counted as
// authenticated only when the answer has the AD bit and the resolver is
// declared validating.
func TestTLSA(t *testing.T) {
	zone := dnstest.New(t)
	zone.Add("_25._tcp.mx1.dane.test. 300 IN TLSA 3 1 1 AABBCCDD",
		"_25._tcp.mx1.dane.test. 300 IN TLSA 2 0 1 EEFF0011")
	res, err := resolve.New(resolve.Config{Servers: []string{zone.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	noDial := func(context.Context, netip.AddrPort) (net.Conn, error) { return nil, errors.New("no dial expected") }
	mail := func() *tlswarden.MailResult {
		return &tlswarden.MailResult{Domain: "dane.test", MX: []tlswarden.MXHost{{Host: "mx1.dane.test"}, {Host: "mx2.dane.test"}}}
	}
	want := []tlswarden.TLSARecord{{Usage: 3, Selector: 1, MatchingType: 1, Data: "aabbccdd"}, {Usage: 2, Selector: 0, MatchingType: 1, Data: "eeff0011"}}

	m := mail()
	New(Config{Resolver: res, Dial: noDial, Validating: true}).Check(t.Context(), m)
	if got := m.MX[0].TLSA; got == nil || !cmp.Equal(got.Records, want) || got.AD || got.Authenticated {
		t.Errorf("without AD: %+v, want the records, not authenticated", got)
	}
	if got := m.MX[1].TLSA; got == nil || got.Outcome != tlswarden.OutcomeNXDomain || len(got.Records) != 0 {
		t.Errorf("no TLSA: %+v, want nxdomain", got)
	}

	zone.SetAuthenticated(true)
	res, _ = resolve.New(resolve.Config{Servers: []string{zone.Addr}}) // a fresh cache
	for _, validating := range []bool{false, true} {
		m := mail()
		New(Config{Resolver: res, Dial: noDial, Validating: validating}).Check(t.Context(), m)
		if got := m.MX[0].TLSA; !got.AD || got.Authenticated != validating {
			t.Errorf("AD set, resolver declared validating %v: %+v, want authenticated %v", validating, got, validating)
		}
	}
}
