package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func TestAppendLabelValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"org-a", "org-a"},
		{"", ""},
		{`a "quoted" name`, `a \"quoted\" name`},
		{`C:\path\`, `C:\\path\\`},
		{"two\nlines", `two\nlines`},
		{"tab\tand\rcr", "tab\tand\rcr"},
		{"caf\xc3\xa9", "café"},
		{"bad\xff\xfebytes", "bad\uFFFDbytes"},
		{"\xc3(", "\uFFFD("},
		{`\"` + "\n\xff", `\\\"\n` + "\uFFFD"},
	} {
		if got := string(appendLabelValue([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("appendLabelValue(%q) = %q, want %q", tc.in, got, "x"+tc.want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1, "1"}, {-1, "-1"}, {4, "4"}, {0.3, "0.3"}, {1.7943624e+09, "1.7943624e+09"},
		{1.5e-7, "1.5e-07"},
	} {
		if got := string(appendFloat(nil, tc.in)); got != tc.want {
			t.Errorf("appendFloat(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzLabelValue checks that any string written as a label value parses
// back, with the text format's own parser, as itself with invalid UTF-8
// replaced: no value can break a scrape or another series.
func FuzzLabelValue(f *testing.F) {
	for _, s := range []string{"org-a", `"`, `\`, "\n", `\n`, "\xff", "a\"}\nevil 1\n", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line := `m{l="` + string(appendLabelValue(nil, s)) + `",o="x"} 1` + "\n"
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		m := mfs["m"].GetMetric()
		if len(mfs) != 1 || len(m) != 1 || len(m[0].Label) != 2 {
			t.Fatalf("%q parses as %v", line, mfs)
		}
		if got, want := m[0].Label[0].GetValue(), strings.ToValidUTF8(s, "\uFFFD"); got != want {
			t.Errorf("label value %q parses back as %q, want %q", s, got, want)
		}
	})
}

// FuzzAcceptsGzip checks that any Accept-Encoding value is read without
// panicking, and the same whether its elements come in one header line or
// several.
func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "br, gzip;q=0.5", "*;q=0", "gzip;q=x", ";;,=", "gzip;q=NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if one, many := acceptsGzip([]string{s}), acceptsGzip(strings.Split(s, ",")); one != many {
			t.Errorf("acceptsGzip(%q) = %v, split in lines %v", s, one, many)
		}
	})
}
