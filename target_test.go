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
		{"https://example.org", Target{Host: "example.org", Port: 443, Kind: KindHTTPS}, ""},
		{"HTTPS://example.org:8443/", Target{Host: "example.org", Port: 8443, Kind: KindHTTPS}, ""},
		{"tls://[::1]:8443", Target{Host: "::1", Port: 8443, Kind: KindTLS}, ""},
		{"tls://example.org", Target{}, "tls:// has no default port"},
		{"smtp://mx.example.org", Target{Host: "mx.example.org", Port: 25, Kind: KindSMTP}, ""},
		{"submission://mx.example.org", Target{Host: "mx.example.org", Port: 587, Kind: KindSubmission}, ""},
		{"smtps://mx.example.org", Target{Host: "mx.example.org", Port: 465, Kind: KindSMTPS}, ""},
		{"imap://mail.example.org:1143", Target{Host: "mail.example.org", Port: 1143, Kind: KindIMAP}, ""},
		{"imaps://mail.example.org", Target{Host: "mail.example.org", Port: 993, Kind: KindIMAPS}, ""},
		{"pop3://mail.example.org", Target{Host: "mail.example.org", Port: 110, Kind: KindPOP3}, ""},
		{"pop3s://mail.example.org", Target{Host: "mail.example.org", Port: 995, Kind: KindPOP3S}, ""},
		{"ftp://files.example.org", Target{Host: "files.example.org", Port: 21, Kind: KindFTP}, ""},
		{"ftps://files.example.org", Target{Host: "files.example.org", Port: 990, Kind: KindFTPS}, ""},
		{"ldap://dir.example.org", Target{Host: "dir.example.org", Port: 389, Kind: KindLDAP}, ""},
		{"ldaps://dir.example.org", Target{Host: "dir.example.org", Port: 636, Kind: KindLDAPS}, ""},
		{"xmpp://chat.example.org", Target{Host: "chat.example.org", Port: 5222, Kind: KindXMPP}, ""},
		{"xmpp-server://chat.example.org", Target{Host: "chat.example.org", Port: 5269, Kind: KindXMPPServer}, ""},
		{"postgresql://db.example.org", Target{Host: "db.example.org", Port: 5432, Kind: KindPostgres}, ""},
		{"mysql://db.example.org", Target{Host: "db.example.org", Port: 3306, Kind: KindMySQL}, ""},
		{"mail://example.org", Target{Host: "example.org", Port: 25, Kind: KindMail}, ""},
		{"example.org:25", Target{Host: "example.org", Port: 25, Kind: KindSMTP}, ""},
		{"mail://192.0.2.1", Target{}, "mail domain, not an address"},
		{"mx.example.org:25", Target{Host: "mx.example.org", Port: 25, Kind: KindSMTP}, ""},
		{"192.0.2.1:993", Target{Host: "192.0.2.1", Port: 993, Kind: KindIMAPS}, ""},
		{"gopher://example.org", Target{}, "unknown URL scheme"},
		{"https://example.org/path", Target{}, "without a path"},
		{"https://user@example.org", Target{}, "without a path"},
		{"https://https://example.org", Target{}, "without a path"},
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
	for _, s := range []string{"example.org", "bücher.example:8443", "[::1]:443", "127.0.0.1", "xn--a.example", "a..b", "_x.example", "https://x/", "smtp://mx.example:2525", "tls://[::1]:8443", "x:993"} {
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
		again, err = ParseTarget(tg.URL(), DefaultPort)
		if err != nil || again.Host != tg.Host || again.Port != tg.Port || again.Kind != tg.Kind {
			t.Fatalf("ParseTarget(%q) = %+v, but its URL %q parses to %+v, %v", s, tg, tg.URL(), again, err)
		}
	})
}

func TestParseTargetSpecSource(t *testing.T) {
	for in, want := range map[string]KindSource{
		"example.org":            KindDefault,
		"example.org:8443":       KindDefault,
		"example.org:443":        KindDefault,
		"example.org:465":        KindFromPort,
		"smtps://example.org":    KindFromScheme,
		"https://example.org:25": KindFromScheme,
	} {
		_, got, err := ParseTargetSpec(in, DefaultPort)
		if err != nil || got != want {
			t.Errorf("ParseTargetSpec(%q) source = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestKinds(t *testing.T) {
	for _, ki := range Kinds() {
		k, err := ParseKind(strings.ToUpper(string(ki.Kind)))
		if err != nil || k != ki.Kind {
			t.Errorf("ParseKind(%q) = %q, %v", ki.Kind, k, err)
		}
		if ki.Port == 0 {
			continue
		}
		// A mail domain shares 25 with smtp: a bare host:25 is a host.
		if got, ok := KindOfPort(ki.Port); ki.Kind != KindHTTPS && ki.Kind != KindMail && (!ok || got != ki.Kind) {
			t.Errorf("KindOfPort(%d) = %q, %v; want %q", ki.Port, got, ok, ki.Kind)
		}
	}
	if _, err := ParseKind("gopher"); err == nil {
		t.Error("ParseKind accepted an unknown kind")
	}
	if !KindHTTPS.SpeaksHTTP() || !Kind("").SpeaksHTTP() || KindTLS.SpeaksHTTP() || KindIMAPS.SpeaksHTTP() {
		t.Error("only https (or the empty kind) speaks HTTP")
	}
	if !KindSMTP.StartTLS() || KindSMTPS.StartTLS() || KindTLS.StartTLS() {
		t.Error("StartTLS wrong for smtp, smtps or tls")
	}
}
