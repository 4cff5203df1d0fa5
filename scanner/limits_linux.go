package scanner

import (
	"math"
	"runtime/debug"
	"syscall"
)

// memoryBytes is the Go memory limit when one is set, else the machine's
// RAM, else 0.
func memoryBytes() uint64 {
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		return uint64(l)
	}
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
