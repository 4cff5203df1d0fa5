package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

var errCrash = errors.New("injected: the process died before the commit")

// crashingStore fails its first FinishScanTx after the callback (the job's
// completion) and before the commit, as a process dying there would. Around
// every finish it checks, through a connection of its own, that neither the
// scan's end nor the job's completion shows before the commit and that both
// do once it has committed, before River sees the job's outcome.
type crashingStore[TTx any] struct {
	store.Store
	fs       store.TxFinisher[TTx]
	t        *testing.T
	jobState func(ctx context.Context, jobID int64) (string, error)
	jobID    atomic.Int64
	crashed  atomic.Bool
}

func (s *crashingStore[TTx]) FinishScanTx(ctx context.Context, scanID int64, r store.ScanResult, fn func(context.Context, TTx) error) error {
	err := s.fs.FinishScanTx(ctx, scanID, r, func(ctx context.Context, tx TTx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		s.want(ctx, scanID, "running", true, "before the commit")
		if s.crashed.CompareAndSwap(false, true) {
			return errCrash
		}
		return nil
	})
	if err == nil {
		s.want(ctx, scanID, "completed", false, "after the commit")
	}
	return err
}

// want checks the job's state and whether the scan runs, as others see them.
func (s *crashingStore[TTx]) want(ctx context.Context, scanID int64, state string, running bool, when string) {
	got, err := s.jobState(ctx, s.jobID.Load())
	if err != nil {
		s.t.Errorf("job state %s: %v", when, err)
	}
	sc, err := s.Store.GetScan(ctx, scanID)
	if err != nil {
		s.t.Errorf("scan %s: %v", when, err)
	}
	if got != state || sc.Running() != running {
		s.t.Errorf("%s: job %s, scan running %v; want %s, %v", when, got, sc.Running(), state, running)
	}
}

// crashing wraps b's store; jobState reads River's table through a
// connection that is neither the store's nor the queue's.
func crashing(t *testing.T, b *testdb.Backend) interface{ setJob(int64) } {
	switch fs := b.Store.(type) {
	case store.TxFinisher[pgx.Tx]:
		pool, err := pgxpool.New(t.Context(), b.URL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		cs := &crashingStore[pgx.Tx]{Store: b.Store, fs: fs, t: t, jobState: func(ctx context.Context, id int64) (state string, err error) {
			err = pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, id).Scan(&state)
			return state, err
		}}
		b.Store = cs
		return cs
	case store.TxFinisher[*sql.Tx]:
		db, err := sql.Open("sqlite", "file:"+filepath.Join(b.Dir, "tlswarden.db")+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		cs := &crashingStore[*sql.Tx]{Store: b.Store, fs: fs, t: t, jobState: func(ctx context.Context, id int64) (state string, err error) {
			err = db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = ?`, id).Scan(&state)
			return state, err
		}}
		b.Store = cs
		return cs
	}
	t.Fatalf("%T finishes no scan in a transaction", b.Store)
	return nil
}

func (s *crashingStore[TTx]) setJob(id int64) { s.jobID.Store(id) }

// TestScanJobCompletesWithItsResult: a scan job's result and its completion
// are one commit, and a failure between storing the result and the commit
// stores neither: the retry finishes the scan the failed attempt left
// running, and the target has one scan.
func TestScanJobCompletesWithItsResult(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			cs := crashing(t, b)
			p := newPKI(t)
			srv := tlstest.NewSwitchServer(t, p.modern, nil)
			tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)
			q := b.Queue(t, fast(jobs.Config{Scanner: newScanner(t, p.ca.Cert.Cert)}))
			req, err := q.RequestScan(ctx, tg.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			cs.setJob(req.ID)
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			done := waitDone(t, q, req.ID)
			if done.State != "completed" || done.Attempt != 2 || len(done.Errors) != 1 {
				t.Fatalf("job ended %s after %d attempts (errors %q); want completed after 2, the first failed", done.State, done.Attempt, done.Errors)
			}
			scans, err := b.Store.ListScans(ctx, store.ScanFilter{TargetID: tg.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(scans) != 1 || scans[0].ID != done.ScanID || scans[0].Status != tlswarden.StatusOK {
				t.Errorf("scans of the target %+v; want one, ok, the job's %d", scans, done.ScanID)
			}
		})
	}
}
