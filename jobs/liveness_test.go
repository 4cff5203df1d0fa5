package jobs_test

import (
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
)

// TestDeadWorkerRescued: the scan job of a worker that stopped renewing
// its liveness record is taken over by another worker within seconds,
// not after RescueAfter (an hour and a half here).
func TestDeadWorkerRescued(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			p := newPKI(t)
			srv := tlstest.NewSwitchServer(t, p.modern, nil)
			tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)

			stuck := blockingScanner{started: make(chan struct{}, 10)}
			cfgA := fast(jobs.Config{Scanner: stuck, LivenessInterval: 100 * time.Millisecond, DrainTimeout: 100 * time.Millisecond})
			a := b.Queue(t, cfgA)
			if err := a.Start(ctx); err != nil {
				t.Fatal(err)
			}
			req, err := a.RequestScan(ctx, tg.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			<-stuck.started
			if err := a.Crash(ctx); err != nil {
				t.Fatal(err)
			}
			cfgB := fast(jobs.Config{Scanner: newScanner(t, p.ca.Cert.Cert), LivenessInterval: 100 * time.Millisecond})
			bq := b.Queue(t, cfgB)
			if err := bq.Start(ctx); err != nil {
				t.Fatal(err)
			}
			r := waitDone(t, bq, req.ID)
			// The crashed worker's River client still fetches here (a real
			// crash stops it too), so it may take the rescued job once more
			// before the other worker does.
			if r.State != "completed" || r.Attempt < 2 || r.ScanID == 0 {
				t.Errorf("job of the dead worker: %+v; want completed by another attempt", r)
			}
		})
	}
}

// TestRequestRescuesDeadWorkersJob: a scan request that would join the
// running job of a dead worker makes it available again at once.
func TestRequestRescuesDeadWorkersJob(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			tg := addTarget(t, b.Store, "127.0.0.1", 5, true)
			stuck := blockingScanner{started: make(chan struct{}, 10)}
			a := b.Queue(t, fast(jobs.Config{Scanner: stuck, LivenessInterval: time.Hour, DrainTimeout: 100 * time.Millisecond}))
			if err := a.Start(ctx); err != nil {
				t.Fatal(err)
			}
			first, err := a.RequestScan(ctx, tg.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			<-stuck.started
			// Alive: the request joins the running job.
			cli := b.Queue(t, jobs.Config{LivenessInterval: time.Hour})
			alive, err := cli.RequestScan(ctx, tg.ID, "cli")
			if err != nil || alive.ID != first.ID || alive.State != "running" {
				t.Fatalf("request while the worker lives: %+v, %v; want it to join running job %d", alive, err, first.ID)
			}
			if err := a.Crash(ctx); err != nil {
				t.Fatal(err)
			}
			r, err := cli.RequestScan(ctx, tg.ID, "cli")
			// The crashed worker's River client still fetches (a real crash
			// stops it too), so the rescued job may already be running its
			// next attempt when the request reads it back.
			rescued := r.State == "available" || r.State == "running" && r.Attempt > alive.Attempt
			if err != nil || r.ID != first.ID || !r.Duplicate || !rescued {
				t.Errorf("request after the worker died: %+v, %v; want job %d available again or running a later attempt than %d", r, err, first.ID, alive.Attempt)
			}
		})
	}
}

// A process never rescues its own running jobs: if it asks, it is alive,
// even when a busy database kept it from renewing its record in time (on
// a loaded machine with the embedded queue that made it run a scan twice).
func TestOwnJobsNotRescued(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			tg := addTarget(t, b.Store, "127.0.0.1", 5, true)
			stuck := blockingScanner{started: make(chan struct{}, 10)}
			a := b.Queue(t, fast(jobs.Config{Scanner: stuck, LivenessInterval: time.Hour, DrainTimeout: 100 * time.Millisecond}))
			if err := a.Start(ctx); err != nil {
				t.Fatal(err)
			}
			req, err := a.RequestScan(ctx, tg.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			<-stuck.started
			// A record a day old, as a worker whose renewals failed leaves.
			if err := a.Crash(ctx); err != nil {
				t.Fatal(err)
			}
			if n, err := a.RescueDead(ctx); err != nil || n != 0 {
				t.Errorf("RescueDead by the job's own process: %d rescued, %v; want 0", n, err)
			}
			if r, err := a.Request(ctx, req.ID); err != nil || r.State != "running" || r.Attempt != 1 {
				t.Errorf("own job after RescueDead: %+v, %v; want still running its first attempt", r, err)
			}
			// Another process takes the record for what it says.
			other := b.Queue(t, jobs.Config{LivenessInterval: time.Hour})
			if n, err := other.RescueDead(ctx); err != nil || n != 1 {
				t.Errorf("RescueDead by another process: %d rescued, %v; want 1", n, err)
			}
		})
	}
}
