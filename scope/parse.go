package scope

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParsePrefixes parses a comma-separated list of CIDR prefixes or single
// addresses ("10.0.0.0/8, 192.0.2.7, 2001:db8::/32"), as --allow-cidr and
// --deny-cidr take them. A single address becomes a /32 or /128. It
// reports every bad entry at once; an empty list is no prefixes.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var (
		out  []netip.Prefix
		errs []error
	)
	for entry := range strings.SplitSeq(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		pfx, err := ParsePrefix(entry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, pfx)
	}
	return out, errors.Join(errs...)
}

// ParsePrefix parses one CIDR prefix or single address. It refuses a
// prefix with host bits set (10.0.0.1/8), which is more often a typo than
// a wish, and IPv4-mapped IPv6 prefixes, which would silently match
// nothing: it asks for the IPv4 form instead.
func ParsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR prefix nor an IP address", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: a scope entry cannot have a zone", s)
		}
		s = netip.PrefixFrom(a, a.BitLen()).String()
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a valid CIDR prefix: %w", s, err)
	}
	if pfx.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write the IPv4 prefix instead", s)
	}
	if m := pfx.Masked(); m != pfx {
		return netip.Prefix{}, fmt.Errorf("%q has bits set after the first %d; did you mean %s?", s, pfx.Bits(), m)
	}
	return pfx, nil
}

// Prefixes is a list of prefixes usable as a repeatable flag.Value: each
// use of the flag adds a comma-separated list.
type Prefixes []netip.Prefix

// String returns the prefixes, comma-separated.
func (p *Prefixes) String() string {
	if p == nil {
		return ""
	}
	s := make([]string, len(*p))
	for i, pfx := range *p {
		s[i] = pfx.String()
	}
	return strings.Join(s, ",")
}

// Set adds the prefixes of a comma-separated list.
func (p *Prefixes) Set(list string) error {
	pfxs, err := ParsePrefixes(list)
	if err != nil {
		return err
	}
	*p = append(*p, pfxs...)
	return nil
}
