package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/postgres"
)

// The fault tests run `tlswarden worker` processes against Postgres and
// break things under them: a worker killed, a worker told to stop, the
// database restarted.

func TestMain(m *testing.M) {
	// The service's environment variables would otherwise reach every
	// Main and worker process these tests start: an ambient DATABASE_URL
	// would move the tests that want the embedded store onto someone's
	// Postgres. Tests that want a variable set it themselves.
	for _, name := range []string{"DATABASE_URL", "TLSWARDEN_DATA_DIR", "TLSWARDEN_LISTEN", "TLSWARDEN_SCHEDULE",
		"TLSWARDEN_METRICS_DETAIL", "TLSWARDEN_PROFILE", "XDG_STATE_HOME"} {
		os.Unsetenv(name)
	}
	code := m.Run()
	if bin.dir != "" {
		os.RemoveAll(bin.dir)
	}
	os.Exit(code)
}

// bin is the tlswarden binary, built once for the fault tests.
var bin struct {
	once      sync.Once
	dir, path string
	err       error
}

func workerBinary(t *testing.T) string {
	t.Helper()
	bin.once.Do(func() {
		if bin.dir, bin.err = os.MkdirTemp("", "tlswarden-bin-"); bin.err != nil {
			return
		}
		bin.path = filepath.Join(bin.dir, "tlswarden")
		out, err := exec.Command("go", "build", "-o", bin.path, ".").CombinedOutput()
		if err != nil {
			bin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if bin.err != nil {
		t.Fatal(bin.err)
	}
	return bin.path
}

// slowServer is a TLS server on loopback that waits delay before each
// handshake, so that a scan of it takes a while.
type slowServer struct {
	addr  netip.AddrPort
	delay atomic.Int64
	conns atomic.Int64
}

func newSlowServer(t *testing.T, delay time.Duration) *slowServer {
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	s := &slowServer{}
	s.delay.Store(int64(delay))
	s.addr = tlstest.RawServer(t, func(ctx context.Context, c net.Conn) {
		s.conns.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(s.delay.Load())):
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_ = tls.Server(c, cfg).HandshakeContext(ctx)
	})
	return s
}

// worker is a `tlswarden worker` process.
type worker struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan struct{}
	err  error // set when done is closed
}

// startWorker starts a worker on the database at url and waits until it
// works. It is killed, if still running, when the test ends; its log is
// shown when the test failed.
func startWorker(t *testing.T, url string, extra ...string) *worker {
	t.Helper()
	args := append([]string{"worker", "--database-url", url, "--allow-cidr", "127.0.0.1", "--no-http",
		"--schedule", "off", "--log-level", "info", "--timeout", "5s"}, extra...)
	w := &worker{cmd: exec.Command(workerBinary(t), args...), log: &syncBuffer{}, done: make(chan struct{})}
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		if t.Failed() {
			t.Logf("worker %d log:\n%s", w.cmd.Process.Pid, w.log)
		}
	})
	waitFor(t, 20*time.Second, "worker start", func() bool {
		select {
		case <-w.done:
			t.Fatalf("worker exited at start: %v\n%s", w.err, w.log)
		default:
		}
		return strings.Contains(w.log.String(), "worker started")
	})
	return w
}

// wait waits for the worker to exit and returns how long that took and its
// exit code.
func (w *worker) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(limit):
		t.Fatalf("worker did not exit within %s", limit)
	}
	return w.cmd.ProcessState.ExitCode()
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// faultDB is the test's view of the database the workers share: the store
// to register targets, a queue that only inserts jobs, and a pool to count
// rows.
type faultDB struct {
	url   string
	store *postgres.Store
	queue *jobs.Queue
	pool  *pgxpool.Pool
}

func openFaultDB(t *testing.T, url string) *faultDB {
	t.Helper()
	ctx := t.Context()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := jobs.MigratePostgres(ctx, pool); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.NewPostgres(pool, jobs.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return &faultDB{url: url, store: st, queue: q, pool: pool}
}

// requestScan registers a target for srv and asks for a scan of it.
func (db *faultDB) requestScan(t *testing.T, srv *slowServer) (store.Target, jobs.Request) {
	t.Helper()
	tg, err := db.store.CreateTarget(t.Context(), store.Target{Target: tlswarden.Target{
		Host: srv.addr.Addr().String(), Port: int(srv.addr.Port()), Owner: "faults"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.queue.RequestScan(t.Context(), tg.ID, "faults test")
	if err != nil {
		t.Fatal(err)
	}
	return tg, r
}

// jobState returns the job's state, attempt and the clients that tried it.
func (db *faultDB) jobState(t *testing.T, id int64) (state string, attempt int, by []string) {
	t.Helper()
	err := db.pool.QueryRow(t.Context(), `SELECT state, attempt, coalesce(attempted_by, '{}') FROM river_job WHERE id = $1`, id).
		Scan(&state, &attempt, &by)
	if err != nil {
		t.Fatalf("job %d: %v", id, err)
	}
	return state, attempt, by
}

func (db *faultDB) waitState(t *testing.T, id int64, limit time.Duration, states ...string) string {
	t.Helper()
	var st string
	waitFor(t, limit, fmt.Sprintf("job %d in state %v", id, states), func() bool {
		st, _, _ = db.jobState(t, id)
		for _, s := range states {
			if st == s {
				return true
			}
		}
		return false
	})
	return st
}

// checkScans asserts that nothing is half-written: no scan left running,
// no endpoint reports of an unfinished scan, and for each target exactly
// one scan that finished ok, the one its completed job recorded, with its
// one endpoint's report stored once.
func (db *faultDB) checkScans(t *testing.T, jobsByTarget map[int64]int64) {
	t.Helper()
	ctx := t.Context()
	var running, orphans int
	err := db.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM scans WHERE finished_at IS NULL),
		(SELECT count(*) FROM endpoint_reports e JOIN scans s ON s.id = e.scan_id WHERE s.finished_at IS NULL)`).
		Scan(&running, &orphans)
	if err != nil {
		t.Fatal(err)
	}
	if running != 0 || orphans != 0 {
		t.Errorf("%d scans left running, %d endpoint reports of unfinished scans", running, orphans)
	}
	for target, job := range jobsByTarget {
		r, err := db.queue.Request(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != "completed" || r.ScanID == 0 {
			t.Errorf("target %d: job %d %s, scan %d, errors %q", target, job, r.State, r.ScanID, r.Errors)
			continue
		}
		var okScans, okID, reports int64
		err = db.pool.QueryRow(ctx, `SELECT count(*), coalesce(max(id), 0),
			(SELECT count(*) FROM endpoint_reports WHERE scan_id = max(s.id))
			FROM scans s WHERE target_id = $1 AND status = 'ok' AND finished_at IS NOT NULL`, target).
			Scan(&okScans, &okID, &reports)
		if err != nil {
			t.Fatal(err)
		}
		if okScans != 1 || okID != r.ScanID || reports != 1 {
			t.Errorf("target %d: %d ok scans (latest %d, job recorded %d) with %d endpoint reports; want 1 scan, the job's, with 1",
				target, okScans, okID, r.ScanID, reports)
		}
	}
}

func skipFaults(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault tests run worker processes against Postgres; skipped with -short")
	}
}

// TestFaultWorkerKilled kills the worker running a scan with SIGKILL: the
// other worker, once it leads, rescues the job and completes it, in the
// scan the killed worker started.
func TestFaultWorkerKilled(t *testing.T) {
	skipFaults(t)
	t.Parallel()
	db := openFaultDB(t, testdb.PostgresURL(t))
	srv := newSlowServer(t, 10*time.Second) // held until the first worker is dead
	tg, req := db.requestScan(t, srv)
	flags := []string{"--job-timeout", "5s", "--rescue-after", "6s"}

	// The first worker alone takes the job (and leads); the second starts
	// once the scan runs.
	first := startWorker(t, db.url, flags...)
	db.waitState(t, req.ID, 10*time.Second, "running")
	waitFor(t, 10*time.Second, "scan connects", func() bool { return srv.conns.Load() > 0 })
	startWorker(t, db.url, flags...)
	_, _, by := db.jobState(t, req.ID)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t, 5*time.Second)
	srv.delay.Store(int64(100 * time.Millisecond))

	// The dead leader's term runs out (River: about 15s), the second worker
	// is elected, its rescuer finds the job stuck and it is retried.
	db.waitState(t, req.ID, 45*time.Second, "completed", "discarded", "cancelled")
	state, attempt, by2 := db.jobState(t, req.ID)
	if state != "completed" || attempt != 2 || len(by) != 1 || len(by2) != 2 || by2[0] == by2[1] {
		t.Errorf("job %d: %s after %d attempts by %q; want completed on the second attempt by another worker", req.ID, state, attempt, by2)
	}
	db.checkScans(t, map[int64]int64{tg.ID: req.ID})
	// The rescuing attempt finishes the scan the killed worker left
	// running: the target has one scan, not an abandoned one beside it.
	var scans int
	if err := db.pool.QueryRow(t.Context(), `SELECT count(*) FROM scans WHERE target_id = $1`, tg.ID).Scan(&scans); err != nil {
		t.Fatal(err)
	}
	if scans != 1 {
		t.Errorf("%d scans of the target; want one, the killed worker's, finished by the rescuing attempt", scans)
	}
}

// TestFaultSIGTERM stops a worker mid-scan. With time enough to drain,
// the scan finishes and is stored; with too little, it is stored as
// canceled, the job handed back and completed by the next worker. Either
// way the worker exits 0 within its drain timeout.
func TestFaultSIGTERM(t *testing.T) {
	skipFaults(t)
	t.Parallel()
	for _, tc := range []struct {
		name       string
		delay      time.Duration // before each handshake
		drain      time.Duration
		handedBack bool
	}{
		{name: "drained", delay: 300 * time.Millisecond, drain: 15 * time.Second},
		{name: "handed back", delay: 4 * time.Second, drain: time.Second, handedBack: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := openFaultDB(t, testdb.PostgresURL(t))
			srv := newSlowServer(t, tc.delay)
			tg, req := db.requestScan(t, srv)
			w := startWorker(t, db.url, "--drain-timeout", tc.drain.String())
			db.waitState(t, req.ID, 10*time.Second, "running")
			waitFor(t, 10*time.Second, "scan connects", func() bool { return srv.conns.Load() > 0 })
			start := time.Now()
			if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := w.wait(t, tc.drain+10*time.Second); code != 0 {
				t.Errorf("worker exited %d after SIGTERM; want 0", code)
			}
			if took := time.Since(start); took > tc.drain+5*time.Second {
				t.Errorf("worker took %s to stop; drain timeout %s", took.Round(time.Millisecond), tc.drain)
			}
			state, _, _ := db.jobState(t, req.ID)
			if !tc.handedBack {
				if state != "completed" {
					t.Fatalf("job %d %s after a drain; want completed", req.ID, state)
				}
				db.checkScans(t, map[int64]int64{tg.ID: req.ID})
				return
			}
			if state != "available" && state != "retryable" {
				t.Fatalf("job %d %s after a cancelled drain; want it handed back", req.ID, state)
			}
			db.checkScans(t, nil) // the cancelled scan is finished, as canceled
			srv.delay.Store(int64(50 * time.Millisecond))
			startWorker(t, db.url)
			db.waitState(t, req.ID, 30*time.Second, "completed", "discarded", "cancelled")
			db.checkScans(t, map[int64]int64{tg.ID: req.ID})
		})
	}
}

// cluster is a throwaway Postgres of the test's own, which it may stop and
// start: never the shared server at TEST_DATABASE_URL.
type cluster struct {
	bin, dir, data string
	port           int
	as             []string // runs a command as the cluster's owner
}

// newCluster creates and starts a cluster on a free loopback port; it is
// stopped and removed when the test ends. It skips the test when no
// PostgreSQL server binaries are installed, except under CI=true.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		if path, err := exec.LookPath("initdb"); err == nil {
			initdbs = []string{path}
		}
	}
	if len(initdbs) == 0 {
		testenv.Missing(t, "no PostgreSQL server binaries (initdb, pg_ctl) installed")
	}
	dir, err := os.MkdirTemp("", "tlswarden-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{bin: filepath.Dir(initdbs[len(initdbs)-1]), dir: dir, data: filepath.Join(dir, "data"), port: freePort(t)}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Need(t, "a postgres user to run a cluster as (running as root)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	c.run(t, "initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8")
	c.start(t)
	t.Cleanup(func() {
		cmd := c.command("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
		_ = cmd.Run() // already stopped is fine
	})
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (c *cluster) command(name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, c.as...), filepath.Join(c.bin, name)), args...)
	return exec.Command(argv[0], argv[1:]...)
}

func (c *cluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

func (c *cluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", c.port, c.dir)
	c.run(t, "pg_ctl", "-D", c.data, "-o", opts, "-l", filepath.Join(c.dir, "log"), "-w", "start")
}

func (c *cluster) stop(t *testing.T) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", c.data, "-m", "fast", "-w", "stop")
}

func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// TestFaultPostgresRestart stops the database while workers scan and
// starts it again a few seconds later: the workers reconnect, the scans
// whose results could not be stored are tried again, and every target ends
// with exactly one stored scan that finished ok.
func TestFaultPostgresRestart(t *testing.T) {
	skipFaults(t)
	t.Parallel()
	c := newCluster(t)
	db := openFaultDB(t, c.url())
	// --no-clients: the restart is timed to fall when the scans end (3 s
	// after they connect); the client simulation's hellos to the slow
	// server would carry them past it.
	flags := []string{"--workers", "2", "--job-timeout", "15s", "--rescue-after", "15s", "--no-clients"}
	startWorker(t, c.url(), flags...)
	startWorker(t, c.url(), flags...)
	want := map[int64]int64{}
	var srvs []*slowServer
	for range 4 {
		srv := newSlowServer(t, 150*time.Millisecond)
		tg, req := db.requestScan(t, srv)
		want[tg.ID] = req.ID
		srvs = append(srvs, srv)
	}
	waitFor(t, 10*time.Second, "every scan connects", func() bool {
		for _, s := range srvs {
			if s.conns.Load() == 0 {
				return false
			}
		}
		return true
	})
	c.stop(t)
	time.Sleep(3 * time.Second) // the scans end meanwhile and cannot store their results
	c.start(t)
	for _, job := range want {
		db.waitState(t, job, 40*time.Second, "completed", "discarded", "cancelled")
	}
	db.checkScans(t, want)
	retried := 0
	for _, job := range want {
		if _, attempt, _ := db.jobState(t, job); attempt > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Errorf("no job was tried again: the restart hit no scan")
	}
}
