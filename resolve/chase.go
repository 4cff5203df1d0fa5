package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/tlswarden/tlswarden"
)

// Cache bounds. A negative answer is kept for its SOA's TTL, at most
// maxNegativeTTL (RFC 2308 §5), so that a name being set up is seen soon; a
// positive one at most maxCacheTTL, so that a long-lived Resolver notices
// changes even behind huge TTLs.
const (
	maxNegativeTTL = 30 * time.Second
	maxCacheTTL    = time.Hour
)

// answer is a final response to one query, NOERROR or NXDOMAIN, reduced to
// what resolution needs. It is shared between callers and never modified.
type answer struct {
	rcode   int
	records []dns.RR // CNAME, A, AAAA, MX, TXT and TLSA records of the answer section
	hasSOA  bool     // the authority section has an SOA: a negative answer
	negTTL  uint32   // min(SOA TTL, SOA MINIMUM), when hasSOA
	age     uint32   // seconds since it was received, for cached answers
	ad      bool     // the resolver said it authenticated the answer (DNSSEC)
}

func newAnswer(m *dns.Msg) answer {
	a := answer{rcode: m.Rcode, ad: m.AuthenticatedData}
	for _, rr := range m.Answer {
		switch rr.(type) {
		case *dns.CNAME, *dns.A, *dns.AAAA, *dns.MX, *dns.TXT, *dns.TLSA:
			a.records = append(a.records, rr)
		}
	}
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			a.hasSOA, a.negTTL = true, min(soa.Hdr.Ttl, soa.Minttl)
		}
	}
	return a
}

// ttl returns what is left of rr's TTL.
func (a answer) ttl(rr dns.RR) uint32 { return rr.Header().Ttl - min(a.age, rr.Header().Ttl) }

// cacheTTL returns how long the answer may be cached: the smallest TTL of
// its records and, for a negative answer, of its SOA. Zero means not at all.
func (a answer) cacheTTL() time.Duration {
	ttl, cacheable := uint32(maxCacheTTL/time.Second), false
	for _, rr := range a.records {
		ttl, cacheable = min(ttl, rr.Header().Ttl), true
	}
	if a.hasSOA {
		ttl, cacheable = min(ttl, a.negTTL, uint32(maxNegativeTTL/time.Second)), true
	}
	if !cacheable {
		return 0
	}
	return time.Duration(ttl) * time.Second
}

// cname returns the CNAME record owned by name, if any.
func (a answer) cname(name string) *dns.CNAME {
	for _, rr := range a.records {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, name) {
			return c
		}
	}
	return nil
}

// addresses returns the records of type qtype owned by name.
func (a answer) addresses(name string, qtype uint16) []tlswarden.Address {
	var out []tlswarden.Address
	for _, rr := range a.records {
		h := rr.Header()
		if h.Rrtype != qtype || !strings.EqualFold(h.Name, name) {
			continue
		}
		var ip netip.Addr
		switch rr := rr.(type) {
		case *dns.A:
			ip, _ = netip.AddrFromSlice(rr.A.To4())
		case *dns.AAAA:
			ip, _ = netip.AddrFromSlice(rr.AAAA.To16())
		}
		if ip.IsValid() {
			out = append(out, tlswarden.Address{Addr: ip, TTL: a.ttl(rr)})
		}
	}
	return out
}

// chased is the result of following one name for one query type.
type chased struct {
	qtype   uint16
	chain   []tlswarden.CNAME
	addrs   []tlswarden.Address
	outcome tlswarden.Outcome
	detail  string // for QueryResult.Error
	err     error  // the cause, for Error.Err
}

func (c chased) result() tlswarden.QueryResult {
	return tlswarden.QueryResult{Type: dns.TypeToString[c.qtype], Outcome: c.outcome, Error: c.detail}
}

// chase asks for host's records of type qtype, following its CNAME chain
// through as many answers as it takes.
func (r *Resolver) chase(ctx context.Context, host string, qtype uint16) chased {
	c := chased{qtype: qtype}
	name := fqdn(host)
	seen := map[string]bool{name: true}
	for {
		ans, err := r.lookup(ctx, name, qtype)
		if err != nil {
			c.fail(err)
			return c
		}
		next, err := c.walk(ans, name, seen, r.maxCNAME)
		if err != nil {
			c.outcome, c.detail, c.err = tlswarden.OutcomeError, err.Error(), err
			return c
		}
		if c.settle(ans, next, next != name) {
			return c
		}
		name = next
	}
}

// walk follows the CNAME records of one answer from name, appending each
// link to the chain, and returns the name where the answer's chain ends.
func (c *chased) walk(ans answer, name string, seen map[string]bool, maxLen int) (string, error) {
	for {
		cn := ans.cname(name)
		if cn == nil {
			return name, nil
		}
		target := fqdn(cn.Target)
		c.chain = append(c.chain, tlswarden.CNAME{Name: bare(name), Target: bare(target), TTL: ans.ttl(cn)})
		if seen[target] {
			return "", fmt.Errorf("%w: %s", ErrCNAMELoop, c.path())
		}
		if len(c.chain) > maxLen {
			return "", fmt.Errorf("%w: more than %d links from %s", ErrCNAMETooLong, maxLen, c.chain[0].Name)
		}
		seen[target] = true
		name = target
	}
}

// path writes the chain as "a -> b -> c".
func (c *chased) path() string {
	var b strings.Builder
	b.WriteString(c.chain[0].Name)
	for _, link := range c.chain {
		b.WriteString(" -> " + link.Target)
	}
	return b.String()
}

// settle sets the outcome from an answer whose chain ends at name. It
// reports false when the answer stopped at a CNAME (moved) without saying
// anything of its target, as an authoritative server does: then the target
// must be asked for. An SOA means the server did follow it and found nothing.
func (c *chased) settle(ans answer, name string, moved bool) bool {
	c.addrs = ans.addresses(name, c.qtype)
	switch {
	case len(c.addrs) > 0:
		c.outcome = tlswarden.OutcomeOK
	case ans.rcode == dns.RcodeNameError:
		c.outcome = tlswarden.OutcomeNXDomain
	case moved && !ans.hasSOA:
		return false
	default:
		c.outcome = tlswarden.OutcomeNoData
	}
	return true
}

// fail records a lookup that got no answer.
func (c *chased) fail(err error) {
	var qe *queryError
	switch {
	case errors.As(err, &qe):
		c.outcome, c.err = qe.outcome, qe.err
	case errors.Is(err, context.DeadlineExceeded):
		c.outcome, c.err = tlswarden.OutcomeTimeout, err
	default:
		c.outcome, c.err = tlswarden.OutcomeError, err
	}
	c.detail = err.Error()
}
