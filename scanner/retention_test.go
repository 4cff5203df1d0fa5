package scanner

import (
	"context"
	"net/netip"
	"runtime"
	"testing"

	"github.com/tlswarden/tlswarden"
)

// What a Scanner keeps per endpoint once the endpoint is scanned bounds
// the memory of a large scan: the reports are streamed out as they
// complete, so a scan of 100,000 endpoints holds its in-flight work and
// this. Measured with a probe that never connects (no packet is sent), so
// that only the Scanner's own bookkeeping counts.
func TestRetainedPerEndpoint(t *testing.T) {
	const n = 20000
	idle := tlswarden.Probe{Name: "idle", Run: func(context.Context, tlswarden.Endpoint, tlswarden.DialFunc) (tlswarden.Observation, error) {
		return tlswarden.Observation{}, nil
	}}
	s, err := New(Config{Probes: []tlswarden.Probe{idle}})
	if err != nil {
		t.Fatal(err)
	}
	targets := make([]tlswarden.Target, n)
	for i := range targets {
		a := netip.AddrFrom4([4]byte{127, 3, byte(i >> 8), byte(i)})
		targets[i] = tlswarden.Target{Host: a.String(), Port: 443, Kind: tlswarden.KindTLS}
	}
	before := heapInUse()
	reports := 0
	s.ScanAll(t.Context(), targets, func(*tlswarden.Report) { reports++ })
	after := heapInUse()
	runtime.KeepAlive(s)
	if reports != n {
		t.Fatalf("%d reports for %d targets", reports, n)
	}
	per := float64(int64(after)-int64(before)) / n
	t.Logf("the Scanner keeps %.0f bytes per scanned endpoint (%d endpoints)", per, n)
	// About 400 bytes today: the endpoint's and the address's connection
	// slots, kept so that one answering one connection at a time is
	// remembered. 100,000 endpoints keep about 40 MB, and under 100 MB at this bound.
	if per > 1000 {
		t.Errorf("the Scanner keeps %.0f bytes per scanned endpoint, want at most 1,000", per)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
