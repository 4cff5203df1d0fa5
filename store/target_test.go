package store

import (
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// TestNormalizeMailTarget: a mail target names a domain; an address is
// refused whichever way the kind was given.
func TestNormalizeMailTarget(t *testing.T) {
	got, err := Target{Target: tlswarden.Target{Host: "Example.ORG", Port: 25, Kind: tlswarden.KindMail}}.Normalize()
	if err != nil || got.Host != "example.org" || got.Kind != tlswarden.KindMail {
		t.Errorf("mail domain: %+v, %v; want example.org, kind mail", got.Target, err)
	}
	_, err = Target{Target: tlswarden.Target{Host: "192.0.2.1", Port: 25, Kind: tlswarden.KindMail}}.Normalize()
	if err == nil || !strings.Contains(err.Error(), "mail domain") {
		t.Errorf("mail target on an address: %v, want refused", err)
	}
}
