package dnstest

import (
	"time"

	"github.com/miekg/dns"
)

// maxChain bounds the CNAMEs followed in one answer, so that a loop in the
// zone gives a finite answer.
const maxChain = 16

func (s *Server) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		reply(w, req, new(dns.Msg).SetRcode(req, dns.RcodeFormatError))
		return
	}
	q := req.Question[0]
	r := s.received(canonical(q.Name), q.Qtype)
	if r.silent || !s.wait(r.delay) {
		return
	}
	resp := new(dns.Msg).SetReply(req)
	resp.RecursionAvailable = true
	s.mu.Lock()
	resp.AuthenticatedData = s.ad
	s.mu.Unlock()
	if r.rcode != 0 {
		resp.Rcode = r.rcode
	} else {
		s.answer(resp, canonical(q.Name), q.Qtype)
	}
	reply(w, req, resp)
}

// received counts a query and returns the rule for it.
func (s *Server) received(name string, qtype uint16) rule {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[key{name, qtype}]++
	if r, ok := s.rules[key{name, qtype}]; ok {
		return r
	}
	return s.rules[key{name, dns.TypeNone}]
}

// wait sleeps d, and reports false if the server is shut down meanwhile.
func (s *Server) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-s.done:
		return false
	}
}

// answer fills resp from the zone, following CNAMEs when recursive.
func (s *Server) answer(resp *dns.Msg, name string, qtype uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{name: true}
	for range maxChain {
		rrs, ok := s.zone[name]
		if !ok {
			resp.Rcode = dns.RcodeNameError
			resp.Ns = []dns.RR{dns.Copy(s.soa)}
			return
		}
		if cname := find(rrs, dns.TypeCNAME); len(cname) > 0 && qtype != dns.TypeCNAME {
			resp.Answer = append(resp.Answer, cname[0])
			name = canonical(cname[0].(*dns.CNAME).Target)
			if !s.recursive || seen[name] {
				return
			}
			seen[name] = true
			continue
		}
		found := find(rrs, qtype)
		resp.Answer = append(resp.Answer, found...)
		if len(found) == 0 {
			resp.Ns = []dns.RR{dns.Copy(s.soa)}
		}
		return
	}
}

func find(rrs []dns.RR, qtype uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	return out
}

// reply writes resp, with EDNS0 if the client used it, truncated to what
// the client can take over UDP.
func reply(w dns.ResponseWriter, req, resp *dns.Msg) {
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = int(opt.UDPSize())
		resp.SetEdns0(opt.UDPSize(), false)
	}
	if w.LocalAddr().Network() == "udp" {
		resp.Truncate(size)
	}
	_ = w.WriteMsg(resp) // the client may be gone; nothing to do about it
}
