package fleetbench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// memWatch records the scanning process's peak heap (sampled) and peak
// RSS (the kernel's high-water mark, reset when the watch starts, so that
// setup does not count).
type memWatch struct {
	stop chan struct{}
	peak chan uint64
}

func watchMemory(tb testing.TB) *memWatch {
	tb.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Logf("peak RSS includes setup: resetting it: %v", err)
	}
	w := &memWatch{stop: make(chan struct{}), peak: make(chan uint64, 1)}
	go w.sample(10 * time.Millisecond)
	return w
}

// sample reads HeapInuse's parts (live and unswept objects, and the unused
// rest of their spans) every tick; runtime/metrics does not stop the world.
func (w *memWatch) sample(every time.Duration) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	t := time.NewTicker(every)
	defer t.Stop()
	var peak uint64
	for {
		metrics.Read(s)
		peak = max(peak, s[0].Value.Uint64()+s[1].Value.Uint64())
		select {
		case <-w.stop:
			w.peak <- peak
			return
		case <-t.C:
		}
	}
}

// done stops the watch and returns the peak heap and peak RSS in bytes.
func (w *memWatch) done(tb testing.TB) (heap, rss uint64) {
	tb.Helper()
	close(w.stop)
	heap = <-w.peak
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	rss, err = vmHWM(status)
	if err != nil {
		tb.Fatal(err)
	}
	return heap, rss
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// logLoad logs the load average: the machine's other work skews wall
// times, and this says how much there was.
func logLoad(tb testing.TB, when string) {
	tb.Helper()
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		tb.Logf("load average %s: %s", when, strings.TrimSpace(string(b)))
	}
}

// vmHWM reads the peak resident set size from /proc/PID/status.
func vmHWM(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmHWM %q: %w", v, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmHWM line in /proc/self/status")
}

func mb(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// phase is what a measured step cost: its wall time, the CPU time of
// whoever did the work (this process, or a peer's), and the servers'
// counters, over runs repetitions of the step.
type phase struct {
	wall, cpu time.Duration
	servers   counters
	runs      int
}

// meter measures a phase from start to stop. Reading the counters walks
// /proc, so a benchmark stops its timer around start and stop.
type meter struct {
	servers counters
	cpu     time.Duration
	start   time.Time
}

func startMeter(tb testing.TB) meter {
	tb.Helper()
	m := meter{servers: readCounters(tb), cpu: cpuTime(tb)}
	m.start = time.Now()
	return m
}

// stop returns the phase since start, with this process's CPU time, as one
// run.
func (m meter) stop(tb testing.TB) phase {
	tb.Helper()
	wall := time.Since(m.start)
	return phase{wall: wall, cpu: cpuTime(tb) - m.cpu, servers: readCounters(tb).sub(m.servers), runs: 1}
}

// measure runs f as one phase.
func measure(tb testing.TB, f func()) phase {
	tb.Helper()
	m := startMeter(tb)
	f()
	return m.stop(tb)
}

// phases are repeated runs of one step.
type phases []phase

func (ps phases) medianWall() time.Duration {
	w := make([]time.Duration, len(ps))
	for i, p := range ps {
		w[i] = p.wall
	}
	slices.Sort(w)
	return w[len(w)/2]
}

// ratio is the median of a[i].wall / b[i].wall over runs made in pairs.
func ratio(a, b phases) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = a[i].wall.Seconds() / b[i].wall.Seconds()
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// report adds the mean CPU time and counters per run as metrics named with
// prefix; endpoints is how many endpoints one run covers.
func (ps phases) report(b *testing.B, prefix string, endpoints int) {
	var (
		cpu  time.Duration
		sum  counters
		runs int
	)
	for _, p := range ps {
		cpu += p.cpu
		sum = sum.add(p.servers)
		runs += p.runs
	}
	b.ReportMetric(cpu.Seconds()/float64(runs), prefix+"cpu-s/op")
	sum.report(b, prefix, endpoints, runs)
}

func (ps phases) String() string {
	w := make([]string, len(ps))
	for i, p := range ps {
		w[i] = fmt.Sprintf("%.2fs", p.wall.Seconds())
	}
	return strings.Join(w, " ")
}
