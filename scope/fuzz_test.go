package scope

import (
	"net/netip"
	"testing"
)

// FuzzCheck checks the default policy against what net/netip knows of
// special addresses, and that the embedded forms never let a non-public
// IPv4 address through.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"8.8.8.8", "127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:c0a8:101::1",
		"2001:0:4136:e378:8000:63bf:3fff:fdd2", "fe80::1", "fd00:ec2::254", "::8.8.8.8", "2606:4700::1"} {
		b := netip.MustParseAddr(s).As16()
		f.Add(b[:])
	}
	var p Policy
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 16 && len(b) != 4 {
			return
		}
		a, _ := netip.AddrFromSlice(b)
		err := p.Check(a)
		if err == nil && !a.Unmap().IsGlobalUnicast() {
			t.Fatalf("%s is in scope but not global unicast", a)
		}
		if err == nil && (a.Unmap().IsPrivate() || a.Unmap().IsLoopback()) {
			t.Fatalf("%s is in scope but private or loopback", a)
		}
		if a.Is4() {
			if mapped := p.Check(netip.AddrFrom16(a.As16())); (err == nil) != (mapped == nil) {
				t.Fatalf("%s and its IPv4-mapped form disagree: %v, %v", a, err, mapped)
			}
		}
		if e, ok := embedded(a); ok && err == nil {
			for _, v4 := range e.addrs {
				if p.Check(v4) != nil {
					t.Fatalf("%s is in scope but embeds out-of-scope %s", a, v4)
				}
			}
		}
	})
}

// FuzzParsePrefixes checks that the flag parser never panics and that what
// it accepts prints back to the same prefixes.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "127.0.0.1, ::1", "2001:db8::/32", "10.0.0.1/8", "", ",,", "::ffff:1.2.3.4/128", "fe80::%x/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePrefixes(s)
		if err != nil {
			return
		}
		ps := Prefixes(got)
		again, err := ParsePrefixes(ps.String())
		if err != nil {
			t.Fatalf("ParsePrefixes(%q) = %s, which does not parse back: %v", s, ps.String(), err)
		}
		if len(again) != len(got) {
			t.Fatalf("round trip of %q: %v, then %v", s, got, again)
		}
		for i := range got {
			if got[i] != again[i] || got[i].Masked() != got[i] {
				t.Fatalf("round trip of %q: %v, then %v", s, got, again)
			}
		}
	})
}
