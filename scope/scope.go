// Package scope decides which addresses the scanner may connect to. A
// registry that anyone can write to must never become a way to probe an
// internal network, so by default only public unicast addresses are in
// scope: loopback, private, shared (CGNAT), link-local, multicast,
// documentation, benchmarking, reserved and cloud-metadata addresses are
// refused unless an allow list names them, and so are the IPv6 forms that
// embed such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4,
// Teredo).
//
// The package is pure: it looks at addresses and never touches the
// network. The scanner checks the very address it is about to dial, after
// resolution, so a name that re-resolves to another address between check
// and connect (DNS rebinding) gains nothing.
package scope

import (
	"fmt"
	"net/netip"

	"github.com/tlswarden/tlswarden"
)

// Policy says which addresses are in scope. The zero value allows public
// unicast addresses only.
//
// Deny wins over everything: an address in Deny, or an IPv6 address that
// embeds an IPv4 address in Deny, is refused. Otherwise an address in Allow
// is in scope, with one exception: a cloud-metadata address (such as
// 169.254.169.254) is allowed only by an entry naming that single address,
// so that allowing link-local or unique-local space does not open the
// metadata service as well. Any other address is in scope when it is
// public unicast. Prefixes are matched as written: an IPv4 prefix matches
// IPv4 addresses and the IPv4-mapped IPv6 forms of them, an IPv6 prefix
// matches IPv6 addresses only.
type Policy struct {
	Allow []netip.Prefix
	Deny  []netip.Prefix
}

// Error reports an address that a Policy refuses. Its Status is
// out_of_scope, so the scanner reports the endpoint as such.
type Error struct {
	Addr   netip.Addr
	Reason string // why, e.g. "loopback (127.0.0.0/8)"
}

func (e *Error) Error() string {
	return fmt.Sprintf("address %s is out of scope: %s", e.Addr, e.Reason)
}

// Status returns tlswarden.StatusOutOfScope.
func (e *Error) Status() tlswarden.Status { return tlswarden.StatusOutOfScope }

// Check returns nil if the policy allows connecting to addr, or an *Error
// saying why not. A zone (fe80::1%eth0) is ignored.
func (p *Policy) Check(addr netip.Addr) error {
	if !addr.IsValid() {
		return &Error{Addr: addr, Reason: "not a valid address"}
	}
	if reason := p.refusal(addr.WithZone("").Unmap()); reason != "" {
		return &Error{Addr: addr, Reason: reason}
	}
	return nil
}

// refusal returns why a (unmapped, zoneless) is out of scope, or "".
func (p *Policy) refusal(a netip.Addr) string {
	if reason := p.denied(a); reason != "" {
		return reason
	}
	if isMetadata(a) {
		if p.allowsExactly(a) {
			return ""
		}
		return "cloud metadata address (allow it only by naming it alone)"
	}
	if _, ok := match(p.Allow, a); ok {
		return ""
	}
	if e, ok := embedded(a); ok {
		return p.embeddedRefusal(e)
	}
	return special(a)
}

// denied says whether a, or an IPv4 address it embeds, is in Deny.
func (p *Policy) denied(a netip.Addr) string {
	if pfx, ok := match(p.Deny, a); ok {
		return fmt.Sprintf("deny-listed (%s)", pfx)
	}
	if e, ok := embedded(a); ok {
		for _, v4 := range e.addrs {
			if pfx, ok := match(p.Deny, v4); ok {
				return fmt.Sprintf("%s form of %s, which is deny-listed (%s)", e.form, v4, pfx)
			}
		}
	}
	return ""
}

// embeddedRefusal judges an IPv6 address by the IPv4 addresses it embeds.
func (p *Policy) embeddedRefusal(e embedding) string {
	for _, v4 := range e.addrs {
		if reason := p.refusal(v4); reason != "" {
			return fmt.Sprintf("%s form of %s, which is %s", e.form, v4, reason)
		}
	}
	return e.refuse
}

// allowsExactly reports whether Allow names a alone.
func (p *Policy) allowsExactly(a netip.Addr) bool {
	for _, pfx := range p.Allow {
		if pfx.IsSingleIP() && pfx.Addr().WithZone("").Unmap() == a {
			return true
		}
	}
	return false
}

// match returns the first prefix of list that contains a.
func match(list []netip.Prefix, a netip.Addr) (netip.Prefix, bool) {
	for _, pfx := range list {
		if pfx.Contains(a) {
			return pfx, true
		}
	}
	return netip.Prefix{}, false
}

// IsPublic reports whether the default policy (public unicast only)
// allows a. The scan command uses it to warn about what it was told to
// scan without a scope.
func IsPublic(a netip.Addr) bool {
	var p Policy
	return p.Check(a) == nil
}
