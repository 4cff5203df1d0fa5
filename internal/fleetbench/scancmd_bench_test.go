package fleetbench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// BenchmarkScanCommand runs the tlswarden command as people run it over
// an estate, `tlswarden scan --json -f FILE` with default flags apart from
// the scope (--allow-cidr 127.0.0.0/8), over TLSWARDEN_BENCH_SCAN_ENDPOINTS
// endpoints (default 2,000), each on a loopback address of its own behind
// the latency proxy at TLSWARDEN_BENCH_SCAN_RTT milliseconds (default 50),
// in front of the eight Go server configurations. The JSON Lines go to a
// file. It reports the wall time, endpoints per second, the command's CPU
// time and its peak RSS (the kernel's ru_maxrss of the child), and checks
// that the output holds one report per endpoint.
// TLSWARDEN_BENCH_SCAN_ARGS adds flags (such as --no-vulns), and
// TLSWARDEN_BENCH_SCAN_CLI names prebuilt commands to run instead of one
// built from this tree, each as a sub-benchmark, TLSWARDEN_BENCH_SCAN_ROUNDS
// times in turn over the same servers and proxy: two commits' binaries
// alternately in one call. TLSWARDEN_CPUPROFILE reaches the command (its
// CPU profile).
//
//	TLSWARDEN_BENCH_SCAN_ENDPOINTS=20000 go test -v -run '^$' -bench ScanCommand -benchtime 1x -timeout 60m ./internal/fleetbench
func BenchmarkScanCommand(b *testing.B) {
	n := envInt(b, "TLSWARDEN_BENCH_SCAN_ENDPOINTS", 2000)
	rtt := time.Duration(envInt(b, "TLSWARDEN_BENCH_SCAN_RTT", 50)) * time.Millisecond
	if n > maxLatencyEndpoints {
		b.Fatalf("TLSWARDEN_BENCH_SCAN_ENDPOINTS=%d: at most %d (127.1.0.1 onwards, one address each)", n, maxLatencyEndpoints)
	}
	raiseOpenFiles(b)
	dir := b.TempDir()
	clis := scanCLIs(b, dir)
	extra := strings.Fields(os.Getenv("TLSWARDEN_BENCH_SCAN_ARGS"))
	pki := writePKI(b, dir)
	var listen []goListen
	for _, s := range goServers {
		listen = append(listen, goListen{Config: s.Name, Addr: "127.0.0.1:0"})
	}
	backends := startGoServers(b, dir, pki, listen)
	eps := make([]endpoint, n)
	for i := range eps {
		eps[i] = backends[i%len(backends)]
	}
	front := startLatencyProxy(b, dir, rtt, 0, eps)
	var list strings.Builder
	for _, e := range front {
		fmt.Fprintf(&list, "tls://%s\n", e.Addr)
	}
	targets := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(targets, []byte(list.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	rounds := envInt(b, "TLSWARDEN_BENCH_SCAN_ROUNDS", 1)
	for range rounds {
		for i, cli := range clis {
			name := fmt.Sprintf("endpoints=%d/rtt=%dms", n, rtt.Milliseconds())
			if len(clis) > 1 {
				name += fmt.Sprintf("/cli=%d", i)
			}
			b.Run(name, func(b *testing.B) { benchScanCommand(b, cli, targets, extra, n) })
		}
	}
}

// scanCLIs returns the tlswarden commands to run: the prebuilt binaries
// TLSWARDEN_BENCH_SCAN_CLI names (comma-separated, each its own
// sub-benchmark, so that binaries of two commits run alternately in one
// call with -count), or one built from this module.
func scanCLIs(b *testing.B, dir string) []string {
	b.Helper()
	if list := os.Getenv("TLSWARDEN_BENCH_SCAN_CLI"); list != "" {
		return strings.Split(list, ",")
	}
	cli, err := buildCLI(dir)
	if err != nil {
		b.Skipf("needs the tlswarden command: %v", err)
	}
	return []string{cli}
}

// benchScanCommand runs one scan command over the n targets per
// iteration, with the extra flags (TLSWARDEN_BENCH_SCAN_ARGS, such as
// --no-vulns), and reports what it cost.
func benchScanCommand(b *testing.B, cli, targets string, extra []string, n int) {
	for b.Loop() {
		out := filepath.Join(b.TempDir(), "reports.jsonl")
		logLoad(b, "before the scan")
		socks := watchSockets(b)
		wall, ru := runScanCommand(b, cli, targets, out, extra)
		socks.done(b)
		logLoad(b, "after the scan")
		sum := summarise(b, out)
		if sum.reports != n {
			b.Errorf("%d reports for %d endpoints", sum.reports, n)
		}
		b.Logf("report statuses %v; endpoint statuses %v; %d connections", sum.statuses, sum.endpoints, sum.conns)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		rss := float64(ru.Maxrss) / 1024 // Linux reports kilobytes
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(n)/wall.Seconds(), "endpoints/s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(cpu.Seconds()*1000/float64(n), "cpu-ms/endpoint")
		b.ReportMetric(float64(sum.conns)/float64(n), "conns/endpoint")
		b.ReportMetric(rss, "peak-rss-MB")
		b.ReportMetric(float64(n-sum.statuses[string(tlswarden.StatusOK)]), "reports-not-ok")
		b.ReportMetric(float64(ru.Stime.Nano())/1e6/float64(n), "sys-ms/endpoint")
		b.Logf("%d endpoints in %.1f s, %.1f s CPU (%.1f ms an endpoint, %.0f µs a connection; %.1f s of it in the kernel), peak RSS %.0f MB",
			n, wall.Seconds(), cpu.Seconds(), cpu.Seconds()*1000/float64(n), cpu.Seconds()*1e6/float64(max(sum.conns, 1)), float64(ru.Stime.Nano())/1e9, rss)
	}
}

// runScanCommand runs tlswarden scan over the targets file, its JSON Lines
// into out, and returns its wall time and resource usage. Exit statuses 1
// (non-compliant: the fleet's CA is not trusted) and 2 (some endpoint not
// fully judged) are scans done.
func runScanCommand(b *testing.B, cli, targets, out string, extra []string) (time.Duration, *syscall.Rusage) {
	b.Helper()
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	args := append([]string{"scan", "--json", "--allow-cidr", "127.0.0.0/8", "-f", targets}, extra...)
	cmd := exec.Command(cli, args...)
	cmd.Stdout = f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatalf("tlswarden scan: %v", err)
	}
	mem := watchProcess(cmd.Process.Pid, start)
	err = cmd.Wait()
	wall := time.Since(start)
	mem.done(b)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && (exit.ExitCode() == 1 || exit.ExitCode() == 2)) {
		b.Fatalf("tlswarden scan: %v\n%s", err, stderr.String())
	}
	return wall, cmd.ProcessState.SysUsage().(*syscall.Rusage)
}

// processWatch samples a process's resident memory and open files every
// quarter second: when its peak RSS came, and with how many connections
// open (the work in flight, which the budget bounds) compared with the
// peak of open files, say whether memory follows the work in flight or
// the estate.
type processWatch struct {
	pid            int
	start          time.Time
	stop, stopped  chan struct{}
	rss, fds       uint64        // peaks; rss in kB
	rssAt          time.Duration // when the RSS peaked
	fdsAtRSS, last uint64        // open files then; RSS at the last sample
}

func watchProcess(pid int, start time.Time) *processWatch {
	w := &processWatch{pid: pid, start: start, stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(w.stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *processWatch) sample() {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", w.pid))
	if err != nil {
		return
	}
	rss, err := statusKB(st, "VmRSS:")
	if err != nil {
		return
	}
	fds := uint64(0)
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", w.pid)); err == nil {
		fds = uint64(len(ents))
	}
	w.fds, w.last = max(w.fds, fds), rss
	if rss > w.rss {
		w.rss, w.rssAt, w.fdsAtRSS = rss, time.Since(w.start), fds
	}
}

func (w *processWatch) done(b *testing.B) {
	close(w.stop)
	<-w.stopped
	b.ReportMetric(float64(w.fds), "peak-open-files")
	b.Logf("sampled RSS peaked at %.0f MB %.0f s into the scan, with %d files open (their peak: %d); %.0f MB at the last sample",
		float64(w.rss)/1024, w.rssAt.Seconds(), w.fdsAtRSS, w.fds, float64(w.last)/1024)
}

// statusKB reads one kB field of /proc/PID/status.
func statusKB(status []byte, field string) (uint64, error) {
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, field); ok {
			return strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in the process status", field)
}

// reportSummary counts what a JSON Lines file of reports holds.
type reportSummary struct {
	reports   int
	statuses  map[string]int // of the reports
	endpoints map[string]int // of their endpoints
	conns     int            // connections the endpoints took
}

// summarise reads the reports one line at a time (a 100,000-endpoint run
// writes gigabytes), keeping only the statuses and connection counts.
func summarise(b *testing.B, file string) reportSummary {
	b.Helper()
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sum := reportSummary{statuses: map[string]int{}, endpoints: map[string]int{}}
	dec := json.NewDecoder(bufio.NewReaderSize(f, 1<<20))
	for {
		var r struct {
			Status    string `json:"status"`
			Endpoints []struct {
				Status      string `json:"status"`
				Connections int    `json:"connections"`
			} `json:"endpoints"`
		}
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return sum
		} else if err != nil {
			b.Fatalf("report %d: %v", sum.reports+1, err)
		}
		sum.reports++
		sum.statuses[r.Status]++
		for _, e := range r.Endpoints {
			sum.endpoints[e.Status]++
			sum.conns += e.Connections
		}
	}
}

// socketWatch samples the kernel's TCP socket counts (/proc/net/sockstat,
// of this network namespace) while a scan runs: connections in use and in
// TIME_WAIT, whose peaks say whether the proxy or the scanner came near
// running out of ports or sockets.
type socketWatch struct {
	stop           chan struct{}
	stopped        chan struct{}
	inuse, tw, mem int // peaks; mem in pages
}

func watchSockets(b *testing.B) *socketWatch {
	w := &socketWatch{stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(w.stopped)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if raw, err := os.ReadFile("/proc/net/sockstat"); err == nil {
				inuse, tw, mem := sockstatTCP(raw)
				w.inuse, w.tw, w.mem = max(w.inuse, inuse), max(w.tw, tw), max(w.mem, mem)
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *socketWatch) done(b *testing.B) {
	close(w.stop)
	<-w.stopped
	b.ReportMetric(float64(w.tw), "peak-time-wait")
	b.Logf("TCP sockets at their peaks: %d in use, %d in TIME_WAIT, %d pages of socket memory", w.inuse, w.tw, w.mem)
}

// sockstatTCP reads the TCP line of /proc/net/sockstat:
// "TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1".
func sockstatTCP(raw []byte) (inuse, tw, mem int) {
	for line := range strings.Lines(string(raw)) {
		rest, ok := strings.CutPrefix(line, "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		for i := 0; i+1 < len(f); i += 2 {
			v, _ := strconv.Atoi(f[i+1])
			switch f[i] {
			case "inuse":
				inuse = v
			case "tw":
				tw = v
			case "mem":
				mem = v
			}
		}
	}
	return inuse, tw, mem
}
