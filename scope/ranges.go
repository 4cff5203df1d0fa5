package scope

import (
	"fmt"
	"net/netip"
)

// specialRange is a block of addresses that is not public unicast, with a
// reason a person can read. More specific blocks come first.
type specialRange struct {
	prefix netip.Prefix
	reason string
}

func rng(cidr, reason string) specialRange {
	return specialRange{prefix: netip.MustParsePrefix(cidr), reason: reason}
}

// specialRanges are the IANA special-purpose blocks (RFC 6890 and its
// updates) that are not globally reachable unicast, IPv4 then IPv6.
var specialRanges = []specialRange{
	rng("0.0.0.0/32", "unspecified"),
	rng("0.0.0.0/8", `"this network" (RFC 791)`),
	rng("10.0.0.0/8", "private (RFC 1918)"),
	rng("100.64.0.0/10", "shared address space, CGNAT (RFC 6598)"),
	rng("127.0.0.0/8", "loopback"),
	rng("169.254.0.0/16", "link-local"),
	rng("172.16.0.0/12", "private (RFC 1918)"),
	rng("192.0.0.0/24", "IETF protocol assignments (RFC 6890)"),
	rng("192.0.2.0/24", "documentation (RFC 5737)"),
	rng("192.88.99.0/24", "deprecated 6to4 relay anycast (RFC 7526)"),
	rng("192.168.0.0/16", "private (RFC 1918)"),
	rng("198.18.0.0/15", "benchmarking (RFC 2544)"),
	rng("198.51.100.0/24", "documentation (RFC 5737)"),
	rng("203.0.113.0/24", "documentation (RFC 5737)"),
	rng("224.0.0.0/4", "multicast"),
	rng("255.255.255.255/32", "limited broadcast"),
	rng("240.0.0.0/4", "reserved (RFC 1112)"),

	rng("::/128", "unspecified"),
	rng("::1/128", "loopback"),
	rng("64:ff9b:1::/48", "local-use NAT64 (RFC 8215)"),
	rng("100::/64", "discard-only (RFC 6666)"),
	rng("2001:2::/48", "benchmarking (RFC 5180)"),
	rng("2001:10::/28", "deprecated ORCHID (RFC 4843)"),
	rng("2001:db8::/32", "documentation (RFC 3849)"),
	rng("3fff::/20", "documentation (RFC 9637)"),
	rng("fc00::/7", "unique-local (RFC 4193)"),
	rng("fe80::/10", "link-local"),
	rng("fec0::/10", "deprecated site-local (RFC 3879)"),
	rng("ff00::/8", "multicast"),
}

// globalUnicast6 is the only IPv6 block IANA allocates for global unicast.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// special returns why a is not public unicast, or "" if it is.
func special(a netip.Addr) string {
	for _, r := range specialRanges {
		if r.prefix.Contains(a) {
			return fmt.Sprintf("%s (%s)", r.reason, r.prefix)
		}
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return fmt.Sprintf("not global unicast (outside %s)", globalUnicast6)
	}
	return ""
}

// metadataAddrs are the instance-metadata services of the big clouds: a
// scanner that reaches one can leak the credentials of the machine it runs
// on.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, DigitalOcean, ...
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task metadata
	netip.MustParseAddr("fd00:ec2::254"),   // AWS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud
	// Azure's WireServer (the VM agent's channel, and its DNS and DHCP):
	// a public address, so the public-only rule alone would let it
	// through.
	netip.MustParseAddr("168.63.129.16"),
	netip.MustParseAddr("169.254.169.253"), // AWS's DNS resolver
	netip.MustParseAddr("169.254.169.123"), // AWS's time service
	netip.MustParseAddr("fd00:ec2::253"),   // AWS's DNS resolver over IPv6
	netip.MustParseAddr("fd00:ec2::123"),   // AWS's time service over IPv6
}

func isMetadata(a netip.Addr) bool {
	for _, m := range metadataAddrs {
		if a == m {
			return true
		}
	}
	return false
}

// embedding is an IPv6 address that carries IPv4 addresses inside it.
type embedding struct {
	form  string       // "NAT64", "6to4", ...
	addrs []netip.Addr // the embedded IPv4 addresses
	// refuse, when set, refuses the address even if every embedded
	// address is in scope: the form itself is not routable.
	refuse string
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
	compat    = netip.MustParsePrefix("::/96")
	siit      = netip.MustParsePrefix("::ffff:0:0:0/96")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
)

// embedded finds the IPv4 addresses an IPv6 address carries: NAT64 (RFC
// 6052) and IPv4-compatible and -translated addresses in their last 32
// bits, 6to4 (RFC 3056) in bits 16–47, Teredo (RFC 4380) the server in
// bits 32–63 and the client, inverted, in the last 32. IPv4-mapped
// addresses are unmapped before they get here.
func embedded(a netip.Addr) (embedding, bool) {
	if !a.Is6() {
		return embedding{}, false
	}
	b := a.As16()
	last := netip.AddrFrom4([4]byte(b[12:16]))
	switch {
	case nat64.Contains(a):
		return embedding{form: "NAT64", addrs: []netip.Addr{last}}, true
	case sixToFour.Contains(a):
		return embedding{form: "6to4", addrs: []netip.Addr{netip.AddrFrom4([4]byte(b[2:6]))}}, true
	case teredo.Contains(a):
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return embedding{form: "Teredo", addrs: []netip.Addr{netip.AddrFrom4([4]byte(b[4:8])), netip.AddrFrom4(client)}}, true
	case siit.Contains(a):
		return embedding{form: "IPv4-translated", addrs: []netip.Addr{last}, refuse: "an IPv4-translated address (RFC 2765), not routable"}, true
	case compat.Contains(a) && !thisNet.Contains(last):
		// :: and ::1 are not IPv4-compatible addresses; special names them.
		return embedding{form: "IPv4-compatible", addrs: []netip.Addr{last}, refuse: "a deprecated IPv4-compatible address (RFC 4291)"}, true
	}
	return embedding{}, false
}
