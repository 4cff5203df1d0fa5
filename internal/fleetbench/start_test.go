package fleetbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkStart times `tlswarden version`, the command's start-up and
// nothing else, as hyperfine would: built as the Makefile builds it, run
// once untimed (the page cache), then once per iteration, reporting the
// median wall and CPU time with the fastest and slowest run. Then one run
// with GODEBUG=inittrace=1 says what package initialisation cost, in all
// and in this module's own packages, and logs the costliest packages.
//
//	go test -run '^$' -bench Start -benchtime 31x ./internal/fleetbench
func BenchmarkStart(b *testing.B) {
	cli, err := buildCLI(b.TempDir())
	if err != nil {
		b.Fatalf("building the command: %v", err)
	}
	runVersion(b, cli, nil)
	logLoad(b, "before the runs")
	var walls, cpus []time.Duration
	for b.Loop() {
		wall, cpu, _ := runVersion(b, cli, nil)
		walls, cpus = append(walls, wall), append(cpus, cpu)
	}
	logLoad(b, "after the runs")
	slices.Sort(walls)
	slices.Sort(cpus)
	b.ReportMetric(ms(walls[len(walls)/2]), "median-ms")
	b.ReportMetric(ms(walls[0]), "min-ms")
	b.ReportMetric(ms(walls[len(walls)-1]), "max-ms")
	b.ReportMetric(ms(cpus[len(cpus)/2]), "median-cpu-ms")
	_, _, trace := runVersion(b, cli, []string{"GODEBUG=inittrace=1"})
	inits, err := parseInitTrace(trace)
	if err != nil {
		b.Fatal(err)
	}
	reportInits(b, inits)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runVersion runs `CLI version` with env added and returns its wall and
// CPU time and its standard error.
func runVersion(tb testing.TB, cli string, env []string) (wall, cpu time.Duration, stderr []byte) {
	tb.Helper()
	cmd := exec.Command(cli, "version")
	cmd.Env = append(cmd.Environ(), env...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s version: %v\n%s", cli, err, errBuf.Bytes())
	}
	wall = time.Since(start)
	return wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), errBuf.Bytes()
}

// initCost is one package's line of GODEBUG=inittrace=1.
type initCost struct {
	Pkg   string
	Clock time.Duration
	Bytes int64
}

// parseInitTrace reads lines such as
// "init github.com/x/y @1.2 ms, 0.5 ms clock, 1024 bytes, 3 allocs".
func parseInitTrace(out []byte) ([]initCost, error) {
	var cs []initCost
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 9 || f[0] != "init" || f[6] != "clock," {
			continue
		}
		clock, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return nil, fmt.Errorf("inittrace line %q: %w", sc.Text(), err)
		}
		n, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("inittrace line %q: %w", sc.Text(), err)
		}
		cs = append(cs, initCost{Pkg: f[1], Clock: time.Duration(clock * float64(time.Millisecond)), Bytes: n})
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("no inittrace lines in %q", out)
	}
	return cs, nil
}

// reportInits reports the total and own init cost and logs the ten
// costliest packages.
func reportInits(b *testing.B, cs []initCost) {
	var all, own initCost
	for _, c := range cs {
		all.Clock, all.Bytes = all.Clock+c.Clock, all.Bytes+c.Bytes
		if strings.HasPrefix(c.Pkg, "github.com/tlswarden/tlswarden") {
			own.Clock, own.Bytes = own.Clock+c.Clock, own.Bytes+c.Bytes
		}
	}
	b.ReportMetric(ms(all.Clock), "init-ms")
	b.ReportMetric(float64(all.Bytes)/1024, "init-KiB")
	b.ReportMetric(ms(own.Clock), "own-init-ms")
	b.ReportMetric(float64(own.Bytes)/1024, "own-init-KiB")
	slices.SortFunc(cs, func(x, y initCost) int { return int(y.Clock - x.Clock) })
	for _, c := range cs[:min(10, len(cs))] {
		b.Logf("init %-50s %6.2f ms %8d bytes", c.Pkg, ms(c.Clock), c.Bytes)
	}
}
