package scanner

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/tlswarden/tlswarden"
)

// MailResolver finds a mail domain's exchangers; *resolve.Resolver is
// one. A Resolver without it cannot scan targets of kind mail.
type MailResolver interface {
	MX(ctx context.Context, domain string) (*tlswarden.MailResult, error)
}

// mailEndpoints turns a mail domain into the endpoints of its mail
// servers: every address of every MX host (by preference), or of the
// domain itself when it has no MX. A null MX gives no endpoint and no
// error: the domain accepts no mail. Each address still meets the scope
// check when its endpoint is scanned.
func (s *Scanner) mailEndpoints(ctx context.Context, t tlswarden.Target, r *tlswarden.Report) ([]tlswarden.Endpoint, error) {
	mr, ok := s.cfg.Resolver.(MailResolver)
	if t.IsIP() {
		return nil, fmt.Errorf("target %s: a mail domain is a name, not an address", t.URL())
	}
	if !ok || t.Port < 1 || t.Port > 65535 {
		return nil, fmt.Errorf("target %s: a mail domain needs a resolver that looks up MX records and a port", t.URL())
	}
	mail, err := mr.MX(ctx, t.Host)
	r.Mail = mail
	switch {
	case err != nil:
		return nil, &dnsError{err: fmt.Errorf("MX of %s: %w", t.Host, err)}
	case mail.NullMX:
		s.log.Info("mail domain accepts no mail (null MX)", "target", t.URL())
		return nil, nil
	case mail.MXOutcome == tlswarden.OutcomeNXDomain:
		return nil, &dnsError{err: fmt.Errorf("MX of %s: the domain does not exist (NXDOMAIN)", t.Host)}
	case len(mail.MX) == 0:
		// No MX: the domain's own addresses receive its mail.
		mail.ImplicitMX = true
		mail.MX = append(mail.MX, tlswarden.MXHost{Host: t.Host})
	}
	return s.mxEndpoints(ctx, mail, t.Port)
}

// mxEndpoints resolves each MX host in turn; a host that does not resolve
// is recorded and skipped, and only a domain none of whose hosts resolved
// fails.
func (s *Scanner) mxEndpoints(ctx context.Context, mail *tlswarden.MailResult, port int) ([]tlswarden.Endpoint, error) {
	var eps []tlswarden.Endpoint
	var errs []error
	for i := range mail.MX {
		mx := &mail.MX[i]
		res, err := s.cfg.Resolver.Resolve(ctx, mx.Host)
		mx.Resolution = res
		if err != nil {
			mx.Error = err.Error()
			errs = append(errs, err)
			continue
		}
		eps = append(eps, s.hostEndpoints(mx.Host, res, port)...)
	}
	if len(eps) == 0 {
		return nil, &dnsError{err: fmt.Errorf("no MX host of %s resolved: %w", mail.Domain, errors.Join(errs...))}
	}
	return eps, nil
}

// hostEndpoints returns an MX host's endpoints, one per distinct address,
// at most MaxAddresses (the rest counted in its resolution). Two names on
// one address stay two endpoints: each is checked against its own name.
func (s *Scanner) hostEndpoints(host string, res *tlswarden.Resolution, port int) []tlswarden.Endpoint {
	var eps []tlswarden.Endpoint
	seen := make(map[netip.Addr]bool)
	for _, a := range res.Addresses {
		addr := a.Addr.Unmap()
		if !seen[addr] {
			seen[addr] = true
			eps = append(eps, tlswarden.Endpoint{Host: host, Addr: netip.AddrPortFrom(addr, uint16(port))})
		}
	}
	if len(eps) > s.cfg.MaxAddresses {
		res.AddressesOmitted = len(eps) - s.cfg.MaxAddresses
		eps = eps[:s.cfg.MaxAddresses]
	}
	return eps
}
