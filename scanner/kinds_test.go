package scanner

import (
	"context"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// TestScanProbesByKind: a probe runs only on the kinds it concerns, and a
// probe the user skipped is listed as skipped without failing the endpoint.
func TestScanProbesByKind(t *testing.T) {
	srv := newCountingServer(t)
	ran := func(name string, kinds ...tlswarden.Kind) tlswarden.Probe {
		return tlswarden.Probe{Name: name, Kinds: kinds, Run: func(ctx context.Context, _ tlswarden.Endpoint, _ tlswarden.DialFunc) (tlswarden.Observation, error) {
			return tlswarden.Observation{}, nil
		}}
	}
	skipped := ran("skipped")
	skipped.Skipped = "skipped at the user's request"
	sc, err := New(Config{Probes: []tlswarden.Probe{ran("every"), ran("web", tlswarden.KindHTTPS), skipped}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind tlswarden.Kind
		want []string
	}{
		{tlswarden.KindHTTPS, []string{"every ok", "web ok", "skipped skipped"}},
		{"", []string{"every ok", "web ok", "skipped skipped"}},
		{tlswarden.KindTLS, []string{"every ok", "skipped skipped"}},
	} {
		r := sc.Scan(t.Context(), tlswarden.Target{Host: "127.0.0.1", Port: int(srv.addr.Port()), Kind: tc.kind})
		ep := r.Endpoints[0]
		var got []string
		for _, p := range ep.Probes {
			got = append(got, p.Name+" "+string(p.Status))
		}
		if ep.Status != tlswarden.StatusOK || len(got) != len(tc.want) {
			t.Fatalf("kind %q: endpoint %s, probes %v; want ok, %v", tc.kind, ep.Status, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("kind %q: probes %v, want %v", tc.kind, got, tc.want)
			}
		}
	}
}
