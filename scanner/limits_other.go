//go:build !linux

package scanner

import (
	"math"
	"runtime/debug"
)

// memoryBytes is the Go memory limit when one is set, else 0.
func memoryBytes() uint64 {
	if l := debug.SetMemoryLimit(-1); l > 0 && l < math.MaxInt64 {
		return uint64(l)
	}
	return 0
}
