package main

import (
	"runtime/debug"
)

// The scan command's garbage collection, unless the environment sets it
// (GOGC, GOMEMLIMIT). A scan allocates about 0.7 MB an endpoint, garbage
// once the endpoint's connections close, over a live heap of some tens of
// MB and thousands of goroutines' stacks, which every cycle scans: at Go's
// default (GOGC=100) the collector took about a tenth of the command's CPU
// in profiles of 1,000 endpoints (marking, stack scanning, assists,
// sweeping). Letting the heap grow to three times the live heap between
// cycles (GOGC=200) took that to about 4%, and half as many cycles
// (GOGC=400 took it to 3%, but its peak came near 400 MB). The soft limit
// bounds what it costs in memory: near it the collector runs as often as
// it must, so the command keeps within the 500 MB an estate of 100,000
// endpoints is allowed whatever the burst of the budget's first round
// trips holds.
const (
	scanGCPercent   = 200
	scanMemoryLimit = 400 << 20
)

// tuneGC sets the scan command's garbage collection where getenv leaves it
// at Go's defaults, and returns what restores the settings it found. It
// runs after the scanner is made: the scanner sizes its default cap on
// connections in flight from the memory limit when one is set, and that
// cap should follow the machine, not this collector setting.
func tuneGC(getenv func(string) string) (restore func()) {
	percent, limit := -2, int64(-1)
	if getenv("GOGC") == "" {
		percent = debug.SetGCPercent(scanGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		limit = debug.SetMemoryLimit(scanMemoryLimit)
	}
	return func() {
		if percent != -2 {
			debug.SetGCPercent(percent)
		}
		if limit >= 0 {
			debug.SetMemoryLimit(limit)
		}
	}
}
