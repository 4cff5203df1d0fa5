package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/sqlite"
)

// scheduled returns the target IDs with a scheduled scan job, and when.
func scheduled(t *testing.T, q *jobs.Queue, targets ...store.Target) map[int64]time.Time {
	t.Helper()
	out := map[int64]time.Time{}
	for _, tg := range targets {
		reqs, err := q.Requests(t.Context(), tg.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			if r.Trigger == store.TriggerSchedule && r.State == "scheduled" {
				out[tg.ID] = r.ScheduledAt
			}
		}
	}
	return out
}

func TestSchedule(t *testing.T) {
	ctx := t.Context()
	b := testdb.Open(t, "sqlite")
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	q := b.Queue(t, jobs.Config{Scanner: newScanner(t), Schedule: "off", Jitter: 30 * time.Minute, Now: func() time.Time { return now }})

	var plain []store.Target
	for _, h := range []string{"a.example", "b.example", "c.example", "d.example", "e.example"} {
		plain = append(plain, addTarget(t, b.Store, h, 443, true))
	}
	weekly, err := b.Store.CreateTarget(ctx, store.Target{Target: tlswarden.Target{Host: "weekly.example", Port: 443}, Enabled: true, Schedule: "30 3 * * 1"})
	if err != nil {
		t.Fatal(err)
	}
	off := addTarget(t, b.Store, "off.example", 443, false)

	// The default schedule's job: every enabled target without a schedule
	// of its own, spread over the jitter window.
	if err := q.RunSchedule(ctx, false, now); err != nil {
		t.Fatal(err)
	}
	got := scheduled(t, q, append(plain, weekly, off)...)
	if len(got) != len(plain) {
		t.Fatalf("scheduled %d targets, want the %d without a schedule of their own: %v", len(got), len(plain), got)
	}
	distinct := map[time.Time]bool{}
	for id, at := range got {
		if at.Before(now) || !at.Before(now.Add(30*time.Minute)) {
			t.Errorf("target %d scheduled at %v, outside the jitter window", id, at)
		}
		distinct[at] = true
	}
	if len(distinct) < 3 {
		t.Errorf("jitter spread %d targets over only %d instants", len(got), len(distinct))
	}

	// The minutely job: a target with a schedule of its own that was never
	// scanned is due at once (TestOwnSchedulesOverADay follows it after).
	if err := q.RunSchedule(ctx, true, now); err != nil {
		t.Fatal(err)
	}
	if at, ok := scheduled(t, q, weekly)[weekly.ID]; !ok || !at.Equal(now) {
		t.Errorf("never-scanned target with its own schedule: scheduled %v (%v), want at once (%v)", at, ok, now)
	}
	if got := scheduled(t, q, off); len(got) != 0 {
		t.Errorf("disabled target scheduled: %v", got)
	}
}

// TestMigrateConcurrently starts several processes' migrations at once:
// each must succeed, and the queue must work after.
func TestMigrateConcurrently(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tlswarden.db")
		open := func() *sqlite.Store {
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		migrateAll(t, 4, func() error {
			st := open()
			defer st.Close()
			return errors.Join(st.Migrate(t.Context()), jobs.MigrateSQLite(t.Context(), st.DB()))
		})
		st := open()
		defer st.Close()
		checkQueue(t, st, func(cfg jobs.Config) (*jobs.Queue, error) { return jobs.NewSQLite(st.DB(), cfg) })
	})
	t.Run("postgres", func(t *testing.T) {
		u := testdb.PostgresURL(t)
		migrateAll(t, 4, func() error {
			pool, err := pgxpool.New(t.Context(), u)
			if err != nil {
				return err
			}
			defer pool.Close()
			return jobs.MigratePostgres(t.Context(), pool)
		})
		pool, err := pgxpool.New(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		checkQueue(t, nil, func(cfg jobs.Config) (*jobs.Queue, error) { return jobs.NewPostgres(pool, cfg) })
	})
}

func migrateAll(t *testing.T, n int, migrate func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- migrate() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent migration: %v", err)
		}
	}
}

// checkQueue makes an insert-only queue and lists jobs: River's tables are
// there.
func checkQueue(t *testing.T, st store.Store, newQueue func(jobs.Config) (*jobs.Queue, error)) {
	t.Helper()
	if st == nil {
		st = testdb.Open(t, "sqlite").Store
	}
	q, err := newQueue(jobs.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Requests(t.Context(), 1, 10); err != nil {
		t.Errorf("queue after concurrent migrations: %v", err)
	}
}

func TestPrune(t *testing.T) {
	ctx := t.Context()
	b := testdb.Open(t, "sqlite")
	tg := addTarget(t, b.Store, "127.0.0.1", 4, true)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		at := start.AddDate(0, 0, 10*i)
		sc, err := b.Store.CreateScan(ctx, store.Scan{TargetID: tg.ID, Started: at})
		if err != nil {
			t.Fatal(err)
		}
		err = b.Store.FinishScan(ctx, sc.ID, store.ScanResult{Report: tlswarden.Report{
			Target: tg.Target, Started: at, Finished: at.Add(time.Minute), Status: tlswarden.StatusRefused, Endpoints: []tlswarden.EndpointReport{}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	now := start.AddDate(0, 0, 25)
	keep := b.Queue(t, jobs.Config{Store: b.Store, Now: func() time.Time { return now }})
	if n, err := keep.Prune(ctx); err != nil || n != 0 {
		t.Errorf("prune without retention: %d, %v", n, err)
	}
	q := b.Queue(t, jobs.Config{Store: b.Store, Retention: 7 * 24 * time.Hour, Now: func() time.Time { return now }})
	if n, err := q.Prune(ctx); err != nil || n != 2 {
		t.Errorf("prune with a week's retention: %d, %v; want the 2 scans older than a week", n, err)
	}
	scans, err := b.Store.ListScans(ctx, store.ScanFilter{TargetID: tg.ID})
	if err != nil || len(scans) != 1 {
		t.Errorf("scans left: %+v, %v", scans, err)
	}
}

// statesCounter is a store that counts the reads of every target's scan
// states.
type statesCounter struct {
	postureStore
	calls atomic.Int64
}

type postureStore interface {
	store.Store
	store.PostureStore
}

func (s *statesCounter) ListScanStates(ctx context.Context) ([]store.ScanState, error) {
	s.calls.Add(1)
	return s.postureStore.ListScanStates(ctx)
}

// TestOwnSchedulesSkipEstateStates: the minutely job reads the latest
// scans of the targets with schedules of their own, not the scan states of
// the whole estate (a join over every scan, every minute), until so many
// have schedules that one query is cheaper.
func TestOwnSchedulesSkipEstateStates(t *testing.T) {
	ctx := t.Context()
	b := testdb.Open(t, "sqlite")
	counter := &statesCounter{postureStore: b.Store.(postureStore)}
	b.Store = counter
	now := time.Date(2026, 3, 2, 3, 30, 0, 0, time.UTC) // a Monday
	q := b.Queue(t, jobs.Config{Scanner: newScanner(t), Schedule: "off", Now: func() time.Time { return now }})
	plain := addTarget(t, b.Store, "plain.example", 443, true)
	weekly, err := b.Store.CreateTarget(ctx, store.Target{Target: tlswarden.Target{Host: "weekly.example", Port: 443}, Enabled: true, Schedule: "30 3 * * 1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.RunSchedule(ctx, true, now); err != nil {
		t.Fatal(err)
	}
	got := scheduled(t, q, plain, weekly)
	if _, ok := got[weekly.ID]; !ok || len(got) != 1 {
		t.Errorf("scheduled %v; want only the weekly target %d", got, weekly.ID)
	}
	if n := counter.calls.Load(); n != 0 {
		t.Errorf("the estate's scan states read %d times for one target with a schedule; want 0", n)
	}

	for i := range 256 {
		if _, err := b.Store.CreateTarget(ctx, store.Target{Target: tlswarden.Target{Host: fmt.Sprintf("h%d.example", i), Port: 443}, Enabled: true, Schedule: "@every 1h"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.RunSchedule(ctx, true, now); err != nil {
		t.Fatal(err)
	}
	if n := counter.calls.Load(); n != 1 {
		t.Errorf("the estate's scan states read %d times for 257 targets with schedules; want once", n)
	}
}
