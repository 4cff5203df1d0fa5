package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

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

// writeMemProfile writes the memory profile pprof names ("heap" or
// "allocs") to file when one is named, after a collection: for "heap"
// (TLSWARDEN_HEAPPROFILE) what the command still holds at that point, for
// "allocs" (TLSWARDEN_ALLOCSPROFILE) what it allocated over its life
// (sampled, as runtime.MemProfileRate sets): what the garbage collector
// had to clear. The scan command writes the heap once every target is
// done, while its scanner is still live, so that what a scan keeps per
// endpoint for the process's life shows there and the scan's garbage does
// not.
func writeMemProfile(name, file string, stderr io.Writer) {
	if file == "" {
		return
	}
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintf(stderr, "tlswarden: %s profile: %v\n", name, err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		fmt.Fprintf(stderr, "tlswarden: %s profile: %v\n", name, err)
	}
}
