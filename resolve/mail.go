package resolve

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"github.com/tlswarden/tlswarden"
)

// records returns the records of type qtype in the answer for name (after
// any CNAME the resolver followed), with how the query ended. The error
// is set only for a query that got no final answer.
func (r *Resolver) records(ctx context.Context, name string, qtype uint16) ([]dns.RR, tlswarden.Outcome, error) {
	rrs, outcome, _, err := r.recordsAD(ctx, name, qtype)
	return rrs, outcome, err
}

// recordsAD is records, also returning the answer's AD bit.
func (r *Resolver) recordsAD(ctx context.Context, name string, qtype uint16) ([]dns.RR, tlswarden.Outcome, bool, error) {
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return nil, tlswarden.OutcomeError, false, &Error{Name: name, Outcome: tlswarden.OutcomeError, Err: errInvalidName}
	}
	ans, err := r.lookup(ctx, fqdn(name), qtype)
	if err != nil {
		c := chased{qtype: qtype}
		c.fail(err)
		return nil, c.outcome, false, &Error{Name: name, Outcome: c.outcome, Err: err}
	}
	var out []dns.RR
	for _, rr := range ans.records {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	switch {
	case len(out) > 0:
		return out, tlswarden.OutcomeOK, ans.ad, nil
	case ans.rcode == dns.RcodeNameError:
		return nil, tlswarden.OutcomeNXDomain, ans.ad, nil
	}
	return nil, tlswarden.OutcomeNoData, ans.ad, nil
}

// MX returns a mail domain's exchangers, by preference (ties by name), at
// most tlswarden.MaxMXHosts of them, and whether the domain publishes a
// null MX (RFC 7505). Addresses are left to Resolve. The result is always
// filled in; the error is set when the MX query got no final answer.
func (r *Resolver) MX(ctx context.Context, domain string) (*tlswarden.MailResult, error) {
	res := &tlswarden.MailResult{Domain: domain, MX: []tlswarden.MXHost{}}
	rrs, outcome, err := r.records(ctx, domain, dns.TypeMX)
	res.MXOutcome = outcome
	if err != nil {
		res.MXError = err.Error()
		return res, err
	}
	hosts := mxHosts(rrs)
	if len(hosts) > 0 && hosts[0].Host == "" && len(hosts) == 1 {
		res.NullMX = true
		return res, nil
	}
	// A "." among real exchangers breaks RFC 7505; senders skip it.
	hosts = slices.DeleteFunc(hosts, func(h tlswarden.MXHost) bool { return h.Host == "" })
	if len(hosts) > tlswarden.MaxMXHosts {
		res.MXOmitted = len(hosts) - tlswarden.MaxMXHosts
		hosts = hosts[:tlswarden.MaxMXHosts]
	}
	res.MX = append(res.MX, hosts...)
	return res, nil
}

// mxHosts turns MX records into hosts sorted by preference, then name,
// without duplicates; the root "." becomes the empty host.
func mxHosts(rrs []dns.RR) []tlswarden.MXHost {
	var hosts []tlswarden.MXHost
	seen := make(map[string]bool)
	for _, rr := range rrs {
		mx := rr.(*dns.MX)
		h := bare(fqdn(mx.Mx))
		if seen[h] {
			continue
		}
		seen[h] = true
		hosts = append(hosts, tlswarden.MXHost{Preference: mx.Preference, Host: h})
	}
	slices.SortFunc(hosts, func(a, b tlswarden.MXHost) int {
		return cmp.Or(cmp.Compare(a.Preference, b.Preference), cmp.Compare(a.Host, b.Host))
	})
	return hosts
}

// TXT returns the TXT records of name, each record's strings joined as
// RFC 7208 §3.3 and RFC 8461 §3.1 read them, with how the query ended.
// The error is set only when the query got no final answer.
func (r *Resolver) TXT(ctx context.Context, name string) ([]string, tlswarden.Outcome, error) {
	rrs, outcome, err := r.records(ctx, name, dns.TypeTXT)
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, outcome, err
}

// TLSA returns the TLSA records at name (such as _25._tcp.mx.example.org)
// and the answer's AD bit. The result is always filled in; the error is
// set when the query got no final answer.
func (r *Resolver) TLSA(ctx context.Context, name string) (*tlswarden.TLSAResult, error) {
	rrs, outcome, ad, err := r.recordsAD(ctx, name, dns.TypeTLSA)
	res := &tlswarden.TLSAResult{Outcome: outcome, AD: ad}
	if err != nil {
		res.Error = err.Error()
	}
	for _, rr := range rrs {
		t := rr.(*dns.TLSA)
		res.Records = append(res.Records, tlswarden.TLSARecord{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: strings.ToLower(t.Certificate)})
	}
	return res, err
}
