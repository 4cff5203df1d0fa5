package scope

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

func prefixes(t *testing.T, list string) []netip.Prefix {
	t.Helper()
	p, err := ParsePrefixes(list)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckDefault walks every refused block of the default policy and the
// public addresses next to them. want is "" for in scope, else a substring
// of the reason.
func TestCheckDefault(t *testing.T) {
	tests := []struct {
		addr string
		want string
	}{
		// Public unicast.
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"9.255.255.255", ""},
		{"11.0.0.0", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.0.1.255", ""},
		{"192.0.3.0", ""},
		{"192.167.255.255", ""},
		{"192.169.0.0", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"223.255.255.255", ""},
		{"2606:4700:4700::1111", ""},
		{"2a00:1450:4009::200e", ""},
		{"2001:db9::1", ""},
		// IPv4 special blocks.
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "this network"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"100.64.0.1", "CGNAT"},
		{"100.127.255.255", "CGNAT"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.1.1", "link-local"},
		{"192.0.0.8", "IETF protocol assignments"},
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.255", "documentation"},
		{"192.88.99.1", "6to4 relay"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.254", "reserved"},
		{"255.255.255.255", "broadcast"},
		// Cloud metadata.
		{"169.254.169.254", "metadata"},
		{"169.254.170.2", "metadata"},
		{"fd00:ec2::254", "metadata"},
		{"100.100.100.200", "metadata"},
		{"168.63.129.16", "metadata"},
		{"169.254.169.253", "metadata"},
		{"fd00:ec2::253", "metadata"},
		{"192.0.0.192", "metadata"},
		// IPv6 special blocks.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf:ffff::1", "link-local"},
		{"fec0::1", "site-local"},
		{"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"},
		{"ff02::1", "multicast"},
		{"ff0e::1", "multicast"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"2001:2::1", "benchmarking"},
		{"2001:10::1", "ORCHID"},
		{"100::1", "discard-only"},
		{"64:ff9b:1::a00:1", "local-use NAT64"},
		{"4000::1", "not global unicast"},
		{"::2", "not global unicast"},
		// IPv4-mapped: judged as the IPv4 address.
		{"::ffff:8.8.8.8", ""},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:169.254.169.254", "metadata"},
		// IPv4-translated (SIIT): never routable.
		{"::ffff:0:8.8.8.8", "IPv4-translated address"},
		{"::ffff:0:127.0.0.1", "IPv4-translated form of 127.0.0.1, which is loopback"},
		// IPv4-compatible: deprecated, never routable.
		{"::8.8.8.8", "deprecated IPv4-compatible"},
		{"::127.0.0.1", "IPv4-compatible form of 127.0.0.1, which is loopback"},
		{"::192.168.0.1", "private"},
		// NAT64 well-known prefix: the IPv4 address decides.
		{"64:ff9b::8.8.8.8", ""},
		{"64:ff9b::127.0.0.1", "NAT64 form of 127.0.0.1, which is loopback"},
		{"64:ff9b::10.0.0.1", "private"},
		{"64:ff9b::169.254.169.254", "metadata"},
		{"64:ff9b::100.64.0.1", "CGNAT"},
		// 6to4: bits 16-47.
		{"2002:808:808::1", ""},
		{"2002:c0a8:101::1", "6to4 form of 192.168.1.1, which is private"},
		{"2002:7f00:1::", "loopback"},
		{"2002:a9fe:a9fe::1", "metadata"},
		// Teredo: server in bits 32-63, client inverted in the last 32.
		// RFC 4380's example: server 65.54.227.120, client 192.0.2.45.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo form of 192.0.2.45, which is documentation"},
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", ""},                    // client 8.8.8.8
		{"2001:0:a00:1:8000:63bf:f7f7:f7f7", "Teredo form of 10.0.0.1"}, // private server
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"},            // client 127.0.0.1
	}
	var p Policy
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			checkWant(t, &p, tt.addr, tt.want)
		})
	}
}

func checkWant(t *testing.T, p *Policy, addr, want string) {
	t.Helper()
	err := p.Check(netip.MustParseAddr(addr))
	switch {
	case want == "" && err != nil:
		t.Errorf("Check(%s) = %v, want in scope", addr, err)
	case want != "" && err == nil:
		t.Errorf("Check(%s) = nil, want refused (%s)", addr, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("Check(%s) = %v, want reason containing %q", addr, err, want)
	}
}

func TestCheckAllowDeny(t *testing.T) {
	tests := []struct {
		name, allow, deny string
		addr, want        string
	}{
		{"allow loopback", "127.0.0.0/8", "", "127.0.0.1", ""},
		{"allow loopback, mapped form", "127.0.0.0/8", "", "::ffff:127.0.0.1", ""},
		{"allow loopback v4, not v6", "127.0.0.0/8", "", "::1", "loopback"},
		{"allow loopback v4, NAT64 of it follows", "127.0.0.0/8", "", "64:ff9b::127.0.0.1", ""},
		{"allow one address only", "10.0.0.5", "", "10.0.0.6", "private"},
		{"allow one address", "10.0.0.5", "", "10.0.0.5", ""},
		{"allow ULA", "fc00::/7", "", "fd12::1", ""},
		{"allow link-local with zone", "fe80::/10", "", "fe80::1%eth0", ""},
		{"allow link-local, not metadata", "169.254.0.0/16", "", "169.254.169.254", "metadata"},
		{"allow link-local, other address", "169.254.0.0/16", "", "169.254.1.1", ""},
		{"allow ULA, not AWS v6 metadata", "fc00::/7", "", "fd00:ec2::254", "metadata"},
		{"allow metadata by name", "169.254.169.254/32", "", "169.254.169.254", ""},
		{"allow metadata by address", "169.254.169.254", "", "169.254.169.254", ""},
		{"allow 6to4 block", "2002::/16", "", "2002:c0a8:101::1", ""},
		{"deny public", "", "8.8.8.0/24", "8.8.8.8", "deny-listed (8.8.8.0/24)"},
		{"deny public, others fine", "", "8.8.8.0/24", "8.8.4.4", ""},
		{"deny public, mapped form", "", "8.8.8.0/24", "::ffff:8.8.8.8", "deny-listed"},
		{"deny public, NAT64 form", "", "8.8.8.0/24", "64:ff9b::8.8.8.8", "NAT64 form of 8.8.8.8, which is deny-listed"},
		{"deny public, 6to4 form", "", "8.8.8.0/24", "2002:808:808::1", "deny-listed"},
		{"deny public, Teredo form", "", "8.8.8.0/24", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "deny-listed"},
		{"deny wins over allow", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.3", "deny-listed"},
		{"deny wins over allow, rest allowed", "10.0.0.0/8", "10.1.0.0/16", "10.2.0.1", ""},
		{"deny v6", "", "2606:4700::/32", "2606:4700:4700::1111", "deny-listed"},
		{"deny embedded wins over allowed outer", "2002::/16", "192.168.0.0/16", "2002:c0a8:101::1", "deny-listed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Allow: prefixes(t, tt.allow), Deny: prefixes(t, tt.deny)}
			checkWant(t, &p, tt.addr, tt.want)
		})
	}
}

func TestCheckError(t *testing.T) {
	var p Policy
	addr := netip.MustParseAddr("127.0.0.1")
	err := fmt.Errorf("dial: %w", p.Check(addr))
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("Check error %v is not a *scope.Error", err)
	}
	want := &Error{Addr: addr, Reason: "loopback (127.0.0.0/8)"}
	if diff := cmp.Diff(want, se, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if got := tlswarden.StatusOf(err); got != tlswarden.StatusOutOfScope {
		t.Errorf("StatusOf = %s, want %s", got, tlswarden.StatusOutOfScope)
	}
	if err := p.Check(netip.Addr{}); err == nil {
		t.Error("the zero Addr is in scope")
	}
}

func TestIsPublic(t *testing.T) {
	for addr, want := range map[string]bool{"8.8.8.8": true, "127.0.0.1": false, "::1": false, "2a00:1450::1": true, "10.0.0.1": false} {
		if got := IsPublic(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsPublic(%s) = %t, want %t", addr, got, want)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr []string
	}{
		{"", nil, nil},
		{" , ", nil, nil},
		{"127.0.0.0/8", []string{"127.0.0.0/8"}, nil},
		{"10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1", []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "::1/128"}, nil},
		{"10.0.0.1/8", nil, []string{`"10.0.0.1/8" has bits set after the first 8; did you mean 10.0.0.0/8?`}},
		{"10.0.0.0/33", nil, []string{`"10.0.0.0/33" is not a valid CIDR prefix`}},
		{"example.com", nil, []string{`"example.com" is neither a CIDR prefix nor an IP address`}},
		{"fe80::1%eth0", nil, []string{"cannot have a zone"}},
		{"::ffff:10.0.0.0/104", nil, []string{"IPv4-mapped IPv6 prefix; write the IPv4 prefix instead"}},
		// Every bad entry is named at once.
		{"10.0.0.0/8,bogus,1.2.3.4/99", nil, []string{`"bogus"`, `"1.2.3.4/99"`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParsePrefixes(%q) = %v, want an error", tt.in, got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePrefixes(%q): %v", tt.in, err)
			}
			var gotS []string
			for _, p := range got {
				gotS = append(gotS, p.String())
			}
			if diff := cmp.Diff(tt.want, gotS); diff != "" {
				t.Errorf("ParsePrefixes(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestPrefixesFlag(t *testing.T) {
	var p Prefixes
	if err := p.Set("10.0.0.0/8,127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Set("::1"); err != nil {
		t.Fatal(err)
	}
	if err := p.Set("nope"); err == nil {
		t.Error("Set accepted a bad entry")
	}
	if got, want := p.String(), "10.0.0.0/8,127.0.0.1/32,::1/128"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestWarnOnly(t *testing.T) {
	var warned []string
	w := &WarnOnly{Warn: func(a netip.Addr, err error) { warned = append(warned, a.String()+": "+err.Error()) }}
	for _, s := range []string{"127.0.0.1", "8.8.8.8", "127.0.0.1", "10.0.0.1"} {
		if err := w.Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("WarnOnly.Check(%s) = %v, want nil", s, err)
		}
	}
	want := []string{
		"127.0.0.1: address 127.0.0.1 is out of scope: loopback (127.0.0.0/8)",
		"10.0.0.1: address 10.0.0.1 is out of scope: private (RFC 1918) (10.0.0.0/8)",
	}
	if diff := cmp.Diff(want, warned); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
