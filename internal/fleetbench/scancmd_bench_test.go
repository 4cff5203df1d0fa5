package fleetbench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
	cli, err := buildCLI(dir)
	if err != nil {
		b.Skipf("needs the tlswarden command: %v", err)
	}
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
	b.Run(fmt.Sprintf("endpoints=%d/rtt=%dms", n, rtt.Milliseconds()), func(b *testing.B) {
		for b.Loop() {
			out := filepath.Join(b.TempDir(), "reports.jsonl")
			logLoad(b, "before the scan")
			wall, ru := runScanCommand(b, cli, targets, out)
			logLoad(b, "after the scan")
			lines := countLines(b, out)
			if lines != n {
				b.Errorf("%d reports for %d endpoints", lines, n)
			}
			cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			b.ReportMetric(wall.Seconds(), "wall-s")
			b.ReportMetric(float64(n)/wall.Seconds(), "endpoints/s")
			b.ReportMetric(cpu.Seconds(), "cpu-s")
			b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MB") // Linux reports kilobytes
			b.Logf("%d endpoints in %.1f s, %.1f s CPU, peak RSS %.0f MB", n, wall.Seconds(), cpu.Seconds(), float64(ru.Maxrss)/1024)
		}
	})
}

// runScanCommand runs tlswarden scan over the targets file, its JSON Lines
// into out, and returns its wall time and resource usage. Exit statuses 1
// (non-compliant: the fleet's CA is not trusted) and 2 (some endpoint not
// fully judged) are scans done.
func runScanCommand(b *testing.B, cli, targets, out string) (time.Duration, *syscall.Rusage) {
	b.Helper()
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(cli, "scan", "--json", "--allow-cidr", "127.0.0.0/8", "-f", targets)
	cmd.Stdout = f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && (exit.ExitCode() == 1 || exit.ExitCode() == 2)) {
		b.Fatalf("tlswarden scan: %v\n%s", err, stderr.String())
	}
	return wall, cmd.ProcessState.SysUsage().(*syscall.Rusage)
}

func countLines(b *testing.B, file string) int {
	b.Helper()
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	n, buf := 0, make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
