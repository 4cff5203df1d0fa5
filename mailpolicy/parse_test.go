package mailpolicy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

func TestParsePolicy(t *testing.T) {
	p, err := parsePolicy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.Example.NET\r\nmax_age: 604800\r\nextension: ignored\r\n")
	want := &tlswarden.MTASTSPolicy{Version: "STSv1", Mode: "enforce", MaxAge: 604800, MX: []string{"mail.example.org", "*.example.net"}}
	if err != nil || !cmp.Equal(p, want) {
		t.Fatalf("parsePolicy = %+v, %v; want %+v", p, err, want)
	}
	for _, tc := range []struct{ text, want string }{
		{"version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", "version"},
		{"version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n", "mode"},
		{"version: STSv1\nmode: enforce\nmx: a\n", "max_age"},
		{"version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n", "max_age"},
		{"version: STSv1\nmode: testing\nmax_age: 1\n", "no mx"},
		{"<html>not a policy</html>", "key: value"},
	} {
		if _, err := parsePolicy(tc.text); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parsePolicy(%q) error %v, want one naming %q", tc.text, err, tc.want)
		}
	}
}

func TestMXMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"mail.example.org", "mail.example.org", true},
		{"mail.example.org", "MAIL.example.org.", true},
		{"*.example.org", "mx1.example.org", true},
		{"*.example.org", "a.b.example.org", false},
		{"*.example.org", "example.org", false},
		{"mail.example.org", "mx.example.org", false},
	} {
		if got := mxMatches(tc.pattern, tc.host); got != tc.want {
			t.Errorf("mxMatches(%q, %q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}

func TestRecords(t *testing.T) {
	if id, err := stsRecord("v=STSv1; id=20240101T000000;"); err != nil || id != "20240101T000000" {
		t.Errorf("stsRecord = %q, %v", id, err)
	}
	for _, rec := range []string{"v=STSv1;", "v=STSv1; id=bad-id", "id=1; v=STSv1"} {
		if _, err := stsRecord(rec); err == nil {
			t.Errorf("stsRecord(%q) accepted a broken record", rec)
		}
	}
	rua, err := tlsrptRecord("v=TLSRPTv1; rua=mailto:tls@example.org, https://r.example.org/tls")
	if err != nil || !cmp.Equal(rua, []string{"mailto:tls@example.org", "https://r.example.org/tls"}) {
		t.Errorf("tlsrptRecord = %q, %v", rua, err)
	}
	if _, err := tlsrptRecord("v=TLSRPTv1;"); err == nil {
		t.Error("tlsrptRecord accepted a record without rua")
	}
}
