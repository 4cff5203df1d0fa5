package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// writeAllocsProfile writes the allocations the command made (sampled, as
// runtime.MemProfileRate sets) to file when one is named
// (TLSWARDEN_ALLOCSPROFILE): what the garbage collector had to clear.
func writeAllocsProfile(file string, stderr io.Writer) {
	if file == "" {
		return
	}
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden: allocations profile:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		fmt.Fprintln(stderr, "tlswarden: allocations profile:", err)
	}
}

// startCPUProfile writes a CPU profile of the whole command to file when
// one is named (TLSWARDEN_CPUPROFILE, for `go tool pprof`: where a scan of
// an estate spends its CPU), and returns what ends it. An environment
// variable rather than a flag, so that every command has it and no help
// text carries it.
func startCPUProfile(file string, stderr io.Writer) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden: CPU profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(stderr, "tlswarden: CPU profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintln(stderr, "tlswarden: CPU profile:", err)
		}
	}
}

// writeHeapProfile writes the heap in use to file when one is named
// (TLSWARDEN_HEAPPROFILE), after a collection: what the command still
// holds at that point. The scan command writes it once every target is
// done, while its scanner is still live, so that what a scan keeps per
// endpoint for the process's life shows there and the scan's garbage
// does not.
func writeHeapProfile(file string, stderr io.Writer) {
	if file == "" {
		return
	}
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(stderr, "tlswarden: heap profile:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(stderr, "tlswarden: heap profile:", err)
	}
}
