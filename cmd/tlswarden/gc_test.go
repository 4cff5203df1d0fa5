package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// gcSettings reads the collector's percent and memory limit.
func gcSettings() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

// TestTuneGC: the scan command sets its collector only where the
// environment does not, and puts back what it found.
func TestTuneGC(t *testing.T) {
	wantPercent, wantLimit := gcSettings()
	env := func(vars map[string]string) func(string) string {
		return func(k string) string { return vars[k] }
	}
	for _, tc := range []struct {
		name        string
		env         map[string]string
		tunePercent bool
		tuneLimit   bool
	}{
		{"defaults", nil, true, true},
		{"GOGC set", map[string]string{"GOGC": "50"}, false, true},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, true, false},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore := tuneGC(env(tc.env))
			percent, limit := gcSettings()
			restore()
			if want := map[bool]int{true: scanGCPercent, false: wantPercent}[tc.tunePercent]; percent != want {
				t.Errorf("GC percent %d, want %d", percent, want)
			}
			if want := map[bool]int64{true: scanMemoryLimit, false: wantLimit}[tc.tuneLimit]; limit != want {
				t.Errorf("memory limit %d, want %d", limit, want)
			}
			if p, l := gcSettings(); p != wantPercent || l != wantLimit {
				t.Errorf("after restore: percent %d, limit %d; want %d, %d", p, l, wantPercent, wantLimit)
			}
		})
	}
	if wantLimit != math.MaxInt64 {
		t.Logf("the test binary runs with a memory limit of %d", wantLimit)
	}
}
