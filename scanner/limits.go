package scanner

import (
	"math"
	"syscall"
)

// Bounds of DefaultMaxInFlight.
const (
	// connBytes is what one connection in flight costs the process, about:
	// goroutines, the hello and answer buffers, a probe's partial facts.
	// The kernel's socket buffers come on top and are not counted.
	connBytes = 64 << 10
	// reservedFiles are kept for what is not a probe connection: the
	// store, the listener, the resolver, files.
	reservedFiles = 128
	// ceilingInFlight bounds the default whatever the machine: beyond it
	// a single process's scheduling, not the network, is what limits.
	ceilingInFlight = 4096
)

// DefaultMaxInFlight is the cap on connections in flight when
// Config.MaxInFlight is zero: what the open-file limit allows (Go raises
// the soft limit to the hard one at start) less a reserve, what an eighth
// of the memory limit (GOMEMLIMIT) or, without one, of the machine's RAM
// holds at about 64 KiB a connection, and at most 4096.
func DefaultMaxInFlight() int {
	n := ceilingInFlight
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < math.MaxInt32 {
		n = min(n, int(lim.Cur)-reservedFiles)
	}
	if mem := memoryBytes(); mem > 0 {
		n = min(n, int(mem/8/connBytes))
	}
	return max(n, minWindow)
}
