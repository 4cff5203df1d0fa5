package tlswarden

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    Target
		wantErr string
	}{
		{"example.org", Target{Host: "example.org", Port: 443, Kind: KindHTTPS}, ""},
		{"Example.ORG.:8443", Target{Host: "example.org", Port: 8443, Kind: KindHTTPS}, ""},
		{"bücher.example", Target{Host: "xn--bcher-kva.example", Port: 443, Kind: KindHTTPS}, ""},
		{"127.0.0.1", Target{Host: "127.0.0.1", Port: 443, Kind: KindHTTPS}, ""},
		{"[::1]:8443", Target{Host: "::1", Port: 8443, Kind: KindHTTPS}, ""},
		{"[2001:db8::1]", Target{Host: "2001:db8::1", Port: 443, Kind: KindHTTPS}, ""},
		{"::ffff:192.0.2.1", Target{Host: "192.0.2.1", Port: 443, Kind: KindHTTPS}, ""},
		{"_dmarc.example.org", Target{Host: "_dmarc.example.org", Port: 443, Kind: KindHTTPS}, ""},
		{"", Target{}, "empty hostname"},
		{"example.org:0", Target{}, "port must be"},
		{"example.org:http", Target{}, "port must be"},
		{"https://example.org", Target{}, "not a URL"},
		{"exa mple.org", Target{}, "not a letter"},
		{"-bad.example", Target{}, "hyphen"},
		{"a..b", Target{}, "empty label"},
		{"xn--a.example", Target{}, "invalid internationalised"},
		{"xn--zz-1234567.example", Target{}, "invalid internationalised"},
		{"xn--bcher-kva.example", Target{Host: "xn--bcher-kva.example", Port: 443, Kind: KindHTTPS}, ""},
		{strings.Repeat("a", 64) + ".example", Target{}, "longer than 63"},
		{strings.Repeat("abcdefghi.", 26) + "com", Target{}, "longer than 253"},
		{"[fe80::1%eth0]:443", Target{}, "zones"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTarget(tt.in, DefaultPort)
			if tt.wantErr != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTarget(%q) error = %v, want a ParseError containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget(%q): %v", tt.in, err)
			}
			if got.Host != tt.want.Host || got.Port != tt.want.Port || got.Kind != tt.want.Kind {
				t.Errorf("ParseTarget(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestVersionText(t *testing.T) {
	for _, v := range AllVersions {
		b, _ := v.MarshalText()
		var back Version
		if err := back.UnmarshalText(b); err != nil || back != v {
			t.Errorf("round trip of %s gave %s, %v", v, back, err)
		}
	}
	var v Version
	if err := v.UnmarshalText([]byte("TLSv9")); err == nil {
		t.Error("unknown version accepted")
	}
}

func TestReportScanned(t *testing.T) {
	r := Report{Status: StatusOK, Endpoints: []EndpointReport{{Status: StatusOK}, {Status: StatusTimeout}}}
	if r.Scanned() {
		t.Error("report with a timed-out endpoint counted as scanned")
	}
	r.Endpoints = r.Endpoints[:1]
	if !r.Scanned() {
		t.Error("report with every endpoint ok not counted as scanned")
	}
}

// FuzzParseTarget feeds arbitrary command-line and file input to
// ParseTarget: it never panics, and whatever it accepts is a valid,
// normalised target that parses to itself again.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"example.org", "bücher.example:8443", "[::1]:443", "127.0.0.1", "xn--a.example", "a..b", "_x.example", "https://x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s, DefaultPort)
		if err != nil {
			return
		}
		if tg.Port < 1 || tg.Port > 65535 || tg.Host == "" {
			t.Fatalf("ParseTarget(%q) accepted %+v", s, tg)
		}
		again, err := ParseTarget(tg.String(), DefaultPort)
		if err != nil || again.Host != tg.Host || again.Port != tg.Port {
			t.Fatalf("ParseTarget(%q) = %+v, but its String %q parses to %+v, %v", s, tg, tg.String(), again, err)
		}
	})
}
