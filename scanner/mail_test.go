package scanner

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/preamble"
	"github.com/tlswarden/tlswarden/resolve"
	"github.com/tlswarden/tlswarden/scope"
)

// mailScanner returns a scanner whose resolver asks zone's server, with
// SMTP preambles and a scope allowing only 127.0.0.1, and the names the
// probe was run with (the MX name each endpoint names).
func mailScanner(t *testing.T, zone *dnstest.Server) (*Scanner, *recordingScope, func() []string) {
	t.Helper()
	res, err := resolve.New(resolve.Config{Servers: []string{zone.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var hosts []string
	probe := tlswarden.Probe{Name: "host", Run: func(ctx context.Context, ep tlswarden.Endpoint, dial tlswarden.DialFunc) (tlswarden.Observation, error) {
		c, err := dial(ctx)
		if err != nil {
			return tlswarden.Observation{}, err
		}
		c.Close()
		mu.Lock()
		defer mu.Unlock()
		hosts = append(hosts, ep.Host+" "+ep.Addr.String())
		return tlswarden.Observation{}, nil
	}}
	sc := &recordingScope{policy: scope.Policy{Allow: mustPrefixes(t, "127.0.0.1/32")}}
	// The mail policy hook sees the MX hosts found.
	mailPolicy := func(_ context.Context, m *tlswarden.MailResult) {
		m.TLSRPT = &tlswarden.TLSRPTResult{Record: strconv.Itoa(len(m.MX)) + " MX"}
	}
	s, err := New(Config{Resolver: res, Probes: []tlswarden.Probe{probe}, Preambles: preamble.For, Scope: sc, MailPolicy: mailPolicy, MaxAddresses: 2,
		KindSpacing: map[tlswarden.Kind]time.Duration{}})
	if err != nil {
		t.Fatal(err)
	}
	return s, sc, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), hosts...) }
}

// TestScanMailDomain: a mail domain's MX hosts are resolved by preference,
// every address is its own SMTP STARTTLS endpoint named by its MX host,
// each goes through the scope check, and an MX host that does not
// resolve is recorded without failing the others.
func TestScanMailDomain(t *testing.T) {
	ap, _, _ := smtpGate(t, 100)
	port := strconv.Itoa(int(ap.Port()))
	zone := dnstest.New(t)
	zone.Add("example.test. 300 IN MX 20 mx2.example.test.",
		"example.test. 300 IN MX 10 mx1.example.test.",
		"example.test. 300 IN MX 30 gone.example.test.",
		"mx1.example.test. 300 IN A 127.0.0.1",
		"mx2.example.test. 300 IN A 127.0.0.2",
		"mx2.example.test. 300 IN A 127.0.0.1",
		"mx2.example.test. 300 IN A 127.0.0.3") // past MaxAddresses: counted, not scanned
	s, sc, hosts := mailScanner(t, zone)
	tg, err := tlswarden.ParseTarget("mail://example.test:"+port, 443)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), tg)
	if r.Status != tlswarden.StatusOK || r.Mail == nil {
		t.Fatalf("status %s (%s), mail %+v; want ok with mail facts", r.Status, r.Error, r.Mail)
	}
	var got []string
	for _, e := range r.Endpoints {
		got = append(got, e.Endpoint.Host+" "+e.Endpoint.Addr.String()+" "+string(e.Status))
		if e.Status == tlswarden.StatusOK && (e.Service == nil || e.Service.Kind != tlswarden.KindSMTP || !e.Service.StartTLS) {
			t.Errorf("endpoint %s: service %+v, want SMTP STARTTLS offered", e.Endpoint, e.Service)
		}
	}
	want := []string{
		"mx1.example.test 127.0.0.1:" + port + " ok",
		"mx2.example.test 127.0.0.2:" + port + " out_of_scope",
		"mx2.example.test 127.0.0.1:" + port + " ok",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"mx1.example.test 127.0.0.1:" + port, "mx2.example.test 127.0.0.1:" + port}, sortedCopy(hosts())); diff != "" {
		t.Errorf("probe ran on (-want +got):\n%s", diff)
	}
	if n := len(sc.addrs()); n != 2 {
		t.Errorf("scope asked about %v, want 127.0.0.1 and 127.0.0.2", sc.addrs())
	}
	var mx []string
	for _, h := range r.Mail.MX {
		mx = append(mx, strconv.Itoa(int(h.Preference))+" "+h.Host+" "+strconv.FormatBool(h.Error != ""))
	}
	if diff := cmp.Diff([]string{"10 mx1.example.test false", "20 mx2.example.test false", "30 gone.example.test true"}, mx); diff != "" {
		t.Errorf("MX hosts (-want +got):\n%s", diff)
	}
	if r.Mail.MX[1].Resolution == nil || r.Mail.MX[1].Resolution.AddressesOmitted != 1 {
		t.Errorf("mx2's third address not counted as omitted: %+v", r.Mail.MX[1].Resolution)
	}
	if r.Mail.TLSRPT == nil || r.Mail.TLSRPT.Record != "3 MX" {
		t.Errorf("mail policy hook: %+v, want it run with the 3 MX hosts", r.Mail.TLSRPT)
	}
	if r.Mail.NullMX || r.Mail.ImplicitMX || r.Mail.MXOutcome != tlswarden.OutcomeOK {
		t.Errorf("mail facts %+v, want MX found, neither null nor implicit", r.Mail)
	}
}

// TestScanMailDomainWithoutMX: a null MX is the answer "accepts no mail",
// with no endpoint and no error; a domain without MX is its own mail
// server; a domain that does not exist is a DNS error.
func TestScanMailDomainWithoutMX(t *testing.T) {
	ap, _, _ := smtpGate(t, 100)
	port := int(ap.Port())
	zone := dnstest.New(t)
	zone.Add("nomail.test. 300 IN MX 0 .",
		"nomail.test. 300 IN A 127.0.0.1",
		"plain.test. 300 IN A 127.0.0.1")
	s, _, _ := mailScanner(t, zone)

	r := s.Scan(t.Context(), tlswarden.Target{Host: "nomail.test", Port: port, Kind: tlswarden.KindMail})
	if !r.AcceptsNoMail() || !r.Scanned() || len(r.Endpoints) != 0 || r.Endpoints == nil {
		t.Errorf("null MX: status %s (%s), mail %+v, endpoints %v; want ok, accepts no mail, an empty list", r.Status, r.Error, r.Mail, r.Endpoints)
	}
	if r.Mail.TLSRPT != nil {
		t.Error("the mail policy hook ran for a domain that accepts no mail")
	}

	r = s.Scan(t.Context(), tlswarden.Target{Host: "plain.test", Port: port, Kind: tlswarden.KindMail})
	if r.Status != tlswarden.StatusOK || !r.Mail.ImplicitMX || r.Mail.MXOutcome != tlswarden.OutcomeNoData || len(r.Endpoints) != 1 {
		t.Fatalf("no MX: status %s (%s), mail %+v, %d endpoints; want the domain's own address", r.Status, r.Error, r.Mail, len(r.Endpoints))
	}
	if e := r.Endpoints[0]; e.Status != tlswarden.StatusOK || e.Endpoint.Host != "plain.test" || e.Service == nil || !e.Service.StartTLS {
		t.Errorf("implicit MX endpoint %s: %s %s, service %+v", e.Endpoint, e.Status, e.Error, e.Service)
	}

	r = s.Scan(t.Context(), tlswarden.Target{Host: "missing.test", Port: port, Kind: tlswarden.KindMail})
	if r.Status != tlswarden.StatusDNSError || r.AcceptsNoMail() || r.Scanned() {
		t.Errorf("NXDOMAIN: status %s (%s), want dns_error", r.Status, r.Error)
	}
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
