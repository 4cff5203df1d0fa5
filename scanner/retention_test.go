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
	// Nothing, about, today: an endpoint's and its address's connection
	// caps are dropped with their last user (see hold), and only the
	// endpoints that take one connection at a time are remembered. What
	// is left is the capacity of maps sized for the endpoints scanned at
	// once, which the scan's peak bounds, not the estate. They were kept
	// for every endpoint before: about 400 bytes here, more
	// once dialed, 1.7 KB of RSS an endpoint over 100,000.
	if per > 100 {
		t.Errorf("the Scanner keeps %.0f bytes per scanned endpoint, want at most 100", per)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
