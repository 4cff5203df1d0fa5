package fleetbench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the embedded store's driver, to count its scans

	"github.com/tlswarden/tlswarden/internal/testdb"
)

// BenchmarkService measures the service as it scans an estate: it
// registers TLSWARDEN_BENCH_SERVICE_TARGETS targets (default 1,000), each
// on a loopback address of its own behind the latency proxy at
// TLSWARDEN_BENCH_SERVICE_RTT milliseconds (default 50), in front of the
// eight Go server configurations; starts the tlswarden command as people
// run it, with default flags apart from the data directory, a free
// listener and --allow-cidr 127.0.0.0/8 (the service refuses loopback
// otherwise); asks for a scan of every target at once (`targets scan
// --all`), and times until every target has a finished scan. Then it
// checks that each target was scanned exactly once.
//
// Sub-benchmarks (TLSWARDEN_BENCH_SERVICE_STORES, default sqlite,postgres):
// sqlite is `serve` alone on the embedded store; postgres is `serve` and
// two `worker` processes sharing a fresh schema at TEST_DATABASE_URL (in
// the private network namespace, Postgres is reached over its Unix
// socket). It reports the wall time, targets per second, the tlswarden
// processes' CPU time and each one's peak RSS.
//
//	TLSWARDEN_BENCH_SERVICE_TARGETS=10000 go test -v -run '^$' -bench Service -benchtime 1x -timeout 60m ./internal/fleetbench
func BenchmarkService(b *testing.B) {
	n := envInt(b, "TLSWARDEN_BENCH_SERVICE_TARGETS", 1000)
	rtt := time.Duration(envInt(b, "TLSWARDEN_BENCH_SERVICE_RTT", 50)) * time.Millisecond
	if n > maxLatencyEndpoints {
		b.Fatalf("TLSWARDEN_BENCH_SERVICE_TARGETS=%d: at most %d (127.1.0.1 onwards, one address each)", n, maxLatencyEndpoints)
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
	stores := os.Getenv("TLSWARDEN_BENCH_SERVICE_STORES")
	if stores == "" {
		stores = "sqlite,postgres"
	}
	for _, st := range strings.Split(stores, ",") {
		b.Run(fmt.Sprintf("store=%s/targets=%d/rtt=%dms", st, n, rtt.Milliseconds()), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				svc := newServiceRun(b, cli, strings.TrimSpace(st), front)
				b.StartTimer()
				svc.scanAll(b)
				b.StopTimer()
				svc.report(b)
				b.StartTimer()
			}
		})
	}
}

// serviceRun is one service deployment under test: its processes and the
// database they share.
type serviceRun struct {
	cli, dir string
	env      []string // DATABASE_URL for postgres
	procs    []*process
	targets  int
	count    func(ctx context.Context, query string) (int64, error)
	wall     time.Duration
}

// newServiceRun registers the targets in a fresh store and starts the
// service's processes on it.
func newServiceRun(b *testing.B, cli, storeName string, front []endpoint) *serviceRun {
	b.Helper()
	s := &serviceRun{cli: cli, dir: b.TempDir(), targets: len(front), env: append(os.Environ(), "DATABASE_URL=")}
	workers := 0
	switch storeName {
	case "sqlite":
		db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dir, "tlswarden.db")+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		s.count = func(ctx context.Context, q string) (n int64, err error) {
			err = db.QueryRowContext(ctx, q).Scan(&n)
			return n, err
		}
	case "postgres":
		u := postgresURL(b)
		s.env = append(os.Environ(), "DATABASE_URL="+u)
		pool, err := pgxpool.New(context.Background(), u)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		s.count = func(ctx context.Context, q string) (n int64, err error) {
			err = pool.QueryRow(ctx, q).Scan(&n)
			return n, err
		}
		workers = 2
	default:
		b.Fatalf("TLSWARDEN_BENCH_SERVICE_STORES: unknown store %q (sqlite or postgres)", storeName)
	}
	s.run(b, []string{"migrate"})
	s.importTargets(b, front)
	s.start(b, "serve", "serving", "--listen", "127.0.0.1:0")
	for i := range workers {
		s.start(b, "worker"+strconv.Itoa(i+1), "worker started")
	}
	return s
}

// postgresURL is a fresh schema's URL. In the private network namespace
// 127.0.0.1:5432 is not the machine's Postgres: the local server's Unix
// socket is.
func postgresURL(b *testing.B) string {
	if os.Getenv("TEST_DATABASE_URL") == "" && privateNetns() {
		os.Setenv("TEST_DATABASE_URL", "postgres://postgres@/test?host=/var/run/postgresql&sslmode=disable")
	}
	u := testdb.PostgresURL(b)
	if _, err := url.Parse(u); err != nil {
		b.Fatal(err)
	}
	return u
}

// run runs a tlswarden command (its words, then its flags and arguments)
// to its end.
func (s *serviceRun) run(b *testing.B, command []string, args ...string) string {
	b.Helper()
	args = append(append(command, "--data-dir", s.dir), args...)
	cmd := exec.Command(s.cli, args...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("tlswarden %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// importTargets registers one target per front address, from a YAML file
// as people import an estate.
func (s *serviceRun) importTargets(b *testing.B, front []endpoint) {
	b.Helper()
	var y strings.Builder
	y.WriteString("targets:\n")
	for _, e := range front {
		fmt.Fprintf(&y, "  - host: %q\n    port: %d\n    kind: tls\n", e.Addr.Addr().String(), e.Addr.Port())
	}
	f := filepath.Join(s.dir, "targets.yaml")
	if err := os.WriteFile(f, []byte(y.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	s.run(b, []string{"targets", "import"}, f)
}

// start starts `tlswarden serve` (name "serve") or a worker, and waits
// until its log says ready.
func (s *serviceRun) start(b *testing.B, name, ready string, args ...string) {
	b.Helper()
	cmdName := "serve"
	if strings.HasPrefix(name, "worker") {
		cmdName = "worker"
	}
	args = append([]string{cmdName, "--data-dir", s.dir, "--allow-cidr", "127.0.0.0/8"}, args...)
	cmd := exec.Command(s.cli, args...)
	cmd.Env = s.env
	p := startProcess(b, s.dir, name, cmd)
	// Its CPU is measured apart from the servers'.
	removeServerGroup(cmd.Process.Pid)
	s.procs = append(s.procs, p)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.output(), ready) {
		select {
		case <-p.exited:
			b.Fatalf("%s exited before it was ready (%v):\n%s", name, p.err, p.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s not ready after a minute:\n%s", name, p.output())
		}
	}
}

// scanAll asks for a scan of every target and waits until each has a
// finished scan (or an hour passes).
func (s *serviceRun) scanAll(b *testing.B) {
	b.Helper()
	start := time.Now()
	s.run(b, []string{"targets", "scan"}, "--all")
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	last, lastAt := int64(-1), time.Now()
	for {
		done, err := s.count(ctx, "SELECT count(DISTINCT target_id) FROM scans WHERE finished_at IS NOT NULL")
		if err != nil {
			b.Fatalf("counting finished scans: %v", err)
		}
		if done >= int64(s.targets) {
			break
		}
		if done != last && time.Since(lastAt) > 30*time.Second || last < 0 {
			b.Logf("%s: %d of %d targets scanned", time.Since(start).Round(time.Second), done, s.targets)
			last, lastAt = done, time.Now()
		}
		for _, p := range s.procs {
			select {
			case <-p.exited:
				b.Fatalf("%s exited during the run (%v):\n%s", p.name, p.err, p.output())
			default:
			}
		}
		select {
		case <-ctx.Done():
			b.Fatalf("only %d of %d targets scanned after an hour", done, s.targets)
		case <-time.After(250 * time.Millisecond):
		}
	}
	s.wall = time.Since(start)
}

// report checks that every target was scanned exactly once and reports
// the run's figures.
func (s *serviceRun) report(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	count := func(q string) int64 {
		n, err := s.count(ctx, q)
		if err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		return n
	}
	scans := count("SELECT count(*) FROM scans")
	twice := count("SELECT count(*) FROM (SELECT target_id FROM scans GROUP BY target_id HAVING count(*) > 1) AS t")
	never := count("SELECT count(*) FROM targets WHERE id NOT IN (SELECT target_id FROM scans)")
	failed := count("SELECT count(*) FROM scans WHERE status <> 'ok'")
	if scans != int64(s.targets) || twice != 0 || never != 0 {
		b.Errorf("not every target scanned exactly once: %d scans of %d targets, %d scanned more than once, %d never", scans, s.targets, twice, never)
	}
	if failed > 0 || twice > 0 {
		s.logProblems(b, 10)
	}
	var cpu time.Duration
	for _, p := range s.procs {
		c, rss := procUsage(p.cmd.Process.Pid)
		cpu += c
		b.ReportMetric(mb(rss), p.name+"-peak-rss-MB")
		b.Logf("%s: %.1f s CPU, peak RSS %.0f MB", p.name, c.Seconds(), mb(rss))
	}
	logLoad(b, "after the run")
	b.ReportMetric(s.wall.Seconds(), "wall-s")
	b.ReportMetric(float64(s.targets)/s.wall.Seconds(), "targets/s")
	b.ReportMetric(cpu.Seconds(), "tlswarden-cpu-s")
	b.ReportMetric(float64(failed), "scans-not-ok")
	b.ReportMetric(float64(scans), "scans")
	if failed > 0 {
		b.Logf("%d scans did not end ok (the first few statuses follow in serve's log)", failed)
	}
	b.Logf("%d targets in %.1f s (%.1f a second)", s.targets, s.wall.Seconds(), float64(s.targets)/s.wall.Seconds())
}

// logProblems logs the first n warnings and errors of the tlswarden
// processes: why a job failed or a scan did not end ok.
func (s *serviceRun) logProblems(b *testing.B, n int) {
	for _, p := range s.procs {
		raw, err := os.ReadFile(p.log)
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(raw)) {
			if n == 0 {
				return
			}
			if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
				b.Logf("%s: %s", p.name, strings.TrimSpace(line))
				n--
			}
		}
	}
}

// procUsage returns a live process's CPU time and peak RSS.
func procUsage(pid int) (time.Duration, uint64) {
	var cpu time.Duration
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if _, ticks, ok := procStat(st); ok {
			cpu = time.Duration(ticks) * (time.Second / 100)
		}
	}
	var rss uint64
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		rss, _ = vmHWM(st)
	}
	return cpu, rss
}

// envInt reads a positive integer from the environment, or def.
func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		tb.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
