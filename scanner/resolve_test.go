package scanner

import (
	"fmt"
	"net"
	"testing"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/dnstest"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/resolve"
)

// TestScanEveryAddressIsAnEndpoint resolves a name with an A and an AAAA
// record through a real DNS server and expects two endpoints, each probed.
func TestScanEveryAddressIsAnEndpoint(t *testing.T) {
	srv4 := newCountingServer(t)
	ln6, err := net.Listen("tcp", "[::1]:0")
	testenv.Need(t, "IPv6 loopback", err)
	ln6.Close()
	dns := dnstest.New(t)
	dns.Add("www.example.test. 300 IN CNAME lb.example.test.",
		"lb.example.test. 60 IN A 127.0.0.1",
		"lb.example.test. 60 IN AAAA ::1")
	res, err := resolve.New(resolve.Config{Servers: []string{dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Resolver: res, Probes: []tlswarden.Probe{burstProbe(1)}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), tlswarden.Target{Host: "www.example.test", Port: int(srv4.addr.Port())})
	if len(r.Endpoints) != 2 {
		t.Fatalf("got %d endpoints, want 2: %+v", len(r.Endpoints), r.Endpoints)
	}
	if r.Resolution == nil || len(r.Resolution.Chain) != 1 || r.Resolution.Chain[0].Target != "lb.example.test" {
		t.Errorf("resolution chain not kept: %+v", r.Resolution)
	}
	got := map[string]tlswarden.Status{}
	for _, e := range r.Endpoints {
		if e.Endpoint.Host != "www.example.test" {
			t.Errorf("endpoint %s lost the hostname for SNI", e.Endpoint)
		}
		got[e.Endpoint.Addr.Addr().String()] = e.Status
	}
	// The IPv4 address has a listener; nothing listens on ::1 at that port.
	if got["127.0.0.1"] != tlswarden.StatusOK || got["::1"] != tlswarden.StatusRefused {
		t.Errorf("endpoint statuses %v, want 127.0.0.1 ok and ::1 refused", got)
	}

	r = s.Scan(t.Context(), tlswarden.Target{Host: "missing.example.test", Port: 443})
	if r.Status != tlswarden.StatusDNSError || len(r.Endpoints) != 0 {
		t.Errorf("NXDOMAIN target: status %s, %d endpoints; want dns_error and none", r.Status, len(r.Endpoints))
	}
}

// TestScanCapsAddressesPerName: a name resolving to more addresses than the
// cap gets that many endpoints; the rest are counted in the resolution.
func TestScanCapsAddressesPerName(t *testing.T) {
	srv := newCountingServer(t)
	dns := dnstest.New(t)
	var records []string
	for i := 1; i <= 5; i++ {
		records = append(records, fmt.Sprintf("many.example.test. 60 IN A 127.0.0.%d", i))
	}
	dns.Add(records...)
	res, err := resolve.New(resolve.Config{Servers: []string{dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Resolver: res, MaxAddresses: 3, Probes: []tlswarden.Probe{burstProbe(1)}})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Scan(t.Context(), tlswarden.Target{Host: "many.example.test", Port: int(srv.addr.Port())})
	if len(r.Endpoints) != 3 {
		t.Errorf("got %d endpoints, want the cap's 3", len(r.Endpoints))
	}
	if r.Resolution == nil || len(r.Resolution.Addresses) != 5 || r.Resolution.AddressesOmitted != 2 {
		t.Errorf("resolution %+v: want 5 addresses listed and 2 omitted", r.Resolution)
	}
}
