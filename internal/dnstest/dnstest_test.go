package dnstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

// ask sends one query over net and returns the rcode, the answer records
// as text, and whether the reply was truncated.
func ask(t *testing.T, s *Server, net, name string, qtype uint16) (string, []string, bool) {
	t.Helper()
	m := new(dns.Msg).SetQuestion(name, qtype)
	c := &dns.Client{Net: net, Timeout: 500 * time.Millisecond}
	resp, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	var answer []string
	for _, rr := range resp.Answer {
		answer = append(answer, rr.String())
	}
	return dns.RcodeToString[resp.Rcode], answer, resp.Truncated
}

func TestServerAnswers(t *testing.T) {
	s := New(t)
	s.Add(
		"www.example. 300 IN CNAME web.example.",
		"web.example. 60 IN A 192.0.2.1",
		"gone.example. 60 IN CNAME nowhere.example.",
	)
	s.Rcode("broken.example.", dns.TypeAAAA, dns.RcodeServerFailure)
	tests := []struct {
		name      string
		qtype     uint16
		recursive bool
		rcode     string
		answer    []string
	}{
		{"WWW.Example.", dns.TypeA, true, "NOERROR", []string{
			"www.example.\t300\tIN\tCNAME\tweb.example.", "web.example.\t60\tIN\tA\t192.0.2.1"}},
		{"www.example.", dns.TypeA, false, "NOERROR", []string{"www.example.\t300\tIN\tCNAME\tweb.example."}},
		{"web.example.", dns.TypeAAAA, true, "NOERROR", nil},
		{"nope.example.", dns.TypeA, true, "NXDOMAIN", nil},
		{"gone.example.", dns.TypeA, true, "NXDOMAIN", []string{"gone.example.\t60\tIN\tCNAME\tnowhere.example."}},
		{"broken.example.", dns.TypeAAAA, true, "SERVFAIL", nil},
		{"broken.example.", dns.TypeA, true, "NXDOMAIN", nil},
	}
	for _, tt := range tests {
		s.SetRecursive(tt.recursive)
		rcode, answer, _ := ask(t, s, "udp", tt.name, tt.qtype)
		if rcode != tt.rcode || !cmp.Equal(answer, tt.answer) {
			t.Errorf("%s %s (recursive %v) = %s %q, want %s %q",
				tt.name, dns.TypeToString[tt.qtype], tt.recursive, rcode, answer, tt.rcode, tt.answer)
		}
	}
	if got := s.Queries("www.example", dns.TypeA); got != 2 {
		t.Errorf("Queries(www.example, A) = %d, want 2", got)
	}
}

func TestServerTruncatesUDP(t *testing.T) {
	s := New(t)
	for i := range 60 {
		s.Add(fmt.Sprintf("big.example. 60 IN A 192.0.2.%d", i+1))
	}
	_, answer, truncated := ask(t, s, "udp", "big.example.", dns.TypeA)
	if !truncated || len(answer) >= 60 {
		t.Errorf("over UDP: truncated %v with %d records, want truncated with fewer than 60", truncated, len(answer))
	}
	_, answer, truncated = ask(t, s, "tcp", "big.example.", dns.TypeA)
	if truncated || len(answer) != 60 {
		t.Errorf("over TCP: truncated %v with %d records, want 60 records", truncated, len(answer))
	}
}

func TestServerSilence(t *testing.T) {
	s := New(t)
	s.Add("quiet.example. 60 IN A 192.0.2.1")
	s.Silence("quiet.example.", 0)
	c := &dns.Client{Timeout: 50 * time.Millisecond}
	if _, _, err := c.Exchange(new(dns.Msg).SetQuestion("quiet.example.", dns.TypeA), s.Addr); err == nil {
		t.Error("a silenced name was answered")
	}
}
