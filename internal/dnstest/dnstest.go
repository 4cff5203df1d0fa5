// Package dnstest runs a small DNS server on loopback for tests: a zone
// given as records in presentation format, names that fail with a chosen
// rcode, stay silent or answer late, and a count of the queries received.
//
// By default the server answers like a recursive resolver, with the whole
// CNAME chain in one answer; SetRecursive(false) makes it answer like an
// authoritative server, with only the first CNAME. Names with no records
// answer NXDOMAIN, names without records of the type asked for answer
// NODATA; both carry an SOA in the authority section. UDP answers larger
// than the client's EDNS0 buffer (512 bytes without EDNS0) are truncated.
package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is a DNS server listening on 127.0.0.1, UDP and TCP on one port.
// Its methods may be called while it serves.
type Server struct {
	// Addr is the server's address, "127.0.0.1:port".
	Addr string

	servers []*dns.Server
	done    chan struct{} // closed by Close, releasing delayed answers

	mu        sync.Mutex
	zone      map[string][]dns.RR // by lower-case fully qualified owner
	rules     map[key]rule
	counts    map[key]int
	recursive bool
	ad        bool // set the AD bit on every answer, as a validating resolver does
	soa       *dns.SOA
}

// key is a name and a query type; type 0 (dns.TypeNone) in a rule means
// every type.
type key struct {
	name  string
	qtype uint16
}

// rule says how to answer one name and type instead of from the zone.
type rule struct {
	rcode  int // when non-zero, answer with it and nothing else
	silent bool
	delay  time.Duration
}

// New starts a Server that is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// Start starts a Server; the caller closes it. Tests use New; Start is for
// examples, which have no testing.TB.
func Start() (*Server, error) {
	s := &Server{
		done:      make(chan struct{}),
		zone:      make(map[string][]dns.RR),
		rules:     make(map[key]rule),
		counts:    make(map[key]int),
		recursive: true,
	}
	s.SetNegativeTTL(60)
	pc, ln, err := listen()
	if err != nil {
		return nil, err
	}
	s.Addr = pc.LocalAddr().String()
	mux := dns.NewServeMux()
	mux.HandleFunc(".", s.serveDNS)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: mux}, {Listener: ln, Handler: mux}} {
		if err := start(srv); err != nil {
			s.Close()
			pc.Close()
			ln.Close()
			return nil, err
		}
		s.servers = append(s.servers, srv)
	}
	return s, nil
}

// listen opens UDP and TCP sockets on one free loopback port.
func listen() (net.PacketConn, net.Listener, error) {
	for range 10 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("dnstest: %w", err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close() // the TCP port was taken; try another
	}
	return nil, nil, errors.New("dnstest: no free port for both UDP and TCP")
}

// start serves srv in the background, returning once it is ready.
func start(srv *dns.Server) error {
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	failed := make(chan error, 1)
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return fmt.Errorf("dnstest: serve: %w", err)
	}
}

// Close stops the server, dropping the answers still delayed.
func (s *Server) Close() error {
	close(s.done)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range s.servers {
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("dnstest: shutdown: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Add puts records in the zone, each in presentation format, such as
// "www.example.org. 300 IN A 192.0.2.1". It panics on a malformed record,
// a mistake in the test itself.
func (s *Server) Add(records ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, text := range records {
		rr, err := dns.NewRR(text)
		if err != nil || rr == nil {
			panic(fmt.Sprintf("dnstest: record %q: %v", text, err))
		}
		name := canonical(rr.Header().Name)
		s.zone[name] = append(s.zone[name], rr)
	}
}

// Rcode makes queries for name of type qtype (0: every type) answer with
// rcode, such as dns.RcodeServerFailure, and nothing else.
func (s *Server) Rcode(name string, qtype uint16, rcode int) {
	s.setRule(name, qtype, rule{rcode: rcode})
}

// Silence makes queries for name of type qtype (0: every type) go
// unanswered, so that clients time out.
func (s *Server) Silence(name string, qtype uint16) {
	s.setRule(name, qtype, rule{silent: true})
}

// Delay makes answers to name of type qtype (0: every type) wait d.
func (s *Server) Delay(name string, qtype uint16, d time.Duration) {
	s.setRule(name, qtype, rule{delay: d})
}

func (s *Server) setRule(name string, qtype uint16, r rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules[key{canonical(name), qtype}] = r
}

// SetRecursive chooses whether CNAMEs are followed within one answer, as a
// recursive resolver does (the default), or not, as an authoritative
// server for only the first name does.
func (s *Server) SetRecursive(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recursive = on
}

// SetAuthenticated makes every answer carry the AD bit (RFC 4035 §3.2.3),
// as a validating resolver sets it on answers it verified with DNSSEC.
func (s *Server) SetAuthenticated(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ad = on
}

// SetNegativeTTL sets the TTL and MINIMUM of the SOA sent with negative
// answers, which bound how long they may be cached (RFC 2308); the default
// is 60.
func (s *Server) SetNegativeTTL(ttl uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.soa = &dns.SOA{
		Hdr:     dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: ttl},
		Ns:      "ns.invalid.",
		Mbox:    "hostmaster.invalid.",
		Serial:  1,
		Refresh: 3600, Retry: 600, Expire: 86400,
		Minttl: ttl,
	}
}

// Queries returns how many queries for name of type qtype the server has
// received, over UDP and TCP together.
func (s *Server) Queries(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key{canonical(name), qtype}]
}

func canonical(name string) string { return dns.Fqdn(strings.ToLower(name)) }
