package clients

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
)

// TestListMatchesHellos checks that the facts the list states of each
// client are what its recorded hello offers, so that the data file and the
// bytes sent can never disagree.
func TestListMatchesHellos(t *testing.T) {
	l := Load()
	if len(l.Clients) < 150 || l.Source == "" {
		t.Fatalf("list has %d clients, source %q", len(l.Clients), l.Source)
	}
	seen := map[string]bool{}
	for _, c := range l.Clients {
		if seen[c.ID] || c.ID == "" || c.Name == "" {
			t.Errorf("client %q (%q): empty or repeated id", c.ID, c.Name)
		}
		seen[c.ID] = true
		raw, err := c.HelloBytes()
		if err != nil {
			t.Fatal(err)
		}
		h, err := ParseHello(raw)
		if err != nil {
			t.Fatalf("%s: %v", c.ID, err)
		}
		got := Client{Suites: Codes(h.Suites), Groups: Codes(h.Groups), GroupsSent: h.GroupsSent, KeyShares: Codes(h.KeyShares),
			SignatureAlgorithms: Codes(h.SignatureAlgorithms), SNI: h.SNI}
		want := Client{Suites: c.Suites, Groups: c.Groups, GroupsSent: c.GroupsSent, KeyShares: c.KeyShares,
			SignatureAlgorithms: c.SignatureAlgorithms, SNI: c.SNI}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: list and hello differ (-list +hello):\n%s", c.ID, d)
		}
		if max := tlswarden.Version(h.MaxVersion()); !h.SSLv2 && max != c.MaxVersion {
			t.Errorf("%s: hello offers up to %v, list says %v", c.ID, max, c.MaxVersion)
		}
		if min := tlswarden.Version(h.MinVersion()); min > c.MinVersion {
			t.Errorf("%s: hello offers from %v, list says %v", c.ID, min, c.MinVersion)
		}
	}
	for _, id := range append(DefaultClients(), healthEstate...) {
		if l.Client(id) == nil {
			t.Errorf("default client %q is not in the list", id)
		}
	}
}

func TestForServer(t *testing.T) {
	l := Load()
	for _, id := range []string{"ie_11_win7", "chrome_101_win10", "android_442", "firefox_100_win10", "java_8u161"} {
		c := l.Client(id)
		raw, _ := c.HelloBytes()
		for _, name := range []string{"a.example", "a-much-longer-name.of.a.service.example.org", ""} {
			out, err := ForServer(raw, name)
			if err != nil {
				t.Fatalf("%s %q: %v", id, name, err)
			}
			h, err := ParseHello(out)
			if err != nil {
				t.Fatalf("%s %q: rewritten hello: %v", id, name, err)
			}
			if h.SNI != (name != "") || !slicesEqual(Codes(h.Suites), c.Suites) || !slicesEqual(Codes(h.Groups), c.Groups) {
				t.Errorf("%s %q: rewritten hello offers %+v", id, name, h)
			}
			if name != "" && !bytes.Contains(out, []byte(name)) {
				t.Errorf("%s: name %q not in the hello", id, name)
			}
			if bytes.Equal(out[11:43], raw[11:43]) {
				t.Errorf("%s: random not renewed", id)
			}
		}
	}
	// Chrome pads its hello: the rewritten one keeps its length.
	c := l.Client("chrome_101_win10")
	raw, _ := c.HelloBytes()
	if out, _ := ForServer(raw, "x.example"); len(out) != len(raw) {
		t.Errorf("padded hello: %d bytes, recorded %d", len(out), len(raw))
	}
}

func slicesEqual(a, b []Code) bool {
	return cmp.Equal(a, b, cmp.Comparer(func(x, y Code) bool { return x == y }))
}
