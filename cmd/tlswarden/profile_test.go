package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfiles: the CPU, allocations and heap profiles named by the environment
// are written as pprof's gzipped protocol buffers, and a profile that cannot
// be written is said on stderr without stopping the command.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, allocs, heap := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "allocs.prof"), filepath.Join(dir, "heap.prof")
	var stderr bytes.Buffer
	stop := startCPUProfile(cpu, &stderr)
	if code, _, errOut := runCmd(t, "", "profiles"); code != exitOK {
		t.Fatalf("profiles: exit %d: %s", code, errOut)
	}
	stop()
	writeMemProfile("allocs", allocs, &stderr)
	writeMemProfile("heap", heap, &stderr)
	if stderr.Len() > 0 {
		t.Fatalf("stderr: %s", stderr.String())
	}
	for _, f := range []string{cpu, allocs, heap} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s: %d bytes, not a gzipped profile", filepath.Base(f), len(b))
		}
	}

	missing := filepath.Join(dir, "no", "such", "dir", "cpu.prof")
	startCPUProfile(missing, &stderr)()
	writeMemProfile("allocs", missing, &stderr)
	writeMemProfile("heap", missing, &stderr)
	if got := strings.Count(stderr.String(), "no such file or directory"); got != 3 {
		t.Errorf("stderr for unwritable profiles: %q", stderr.String())
	}
	startCPUProfile("", &stderr)() // none named: nothing to do
}
