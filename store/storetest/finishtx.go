package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/store"
)

// FinishScanTx tests an implementation's store.TxFinisher: fn runs in the
// transaction that stores the result, what it does commits with it, and
// its failure, or the context's end, leaves nothing behind. finished reads
// through the transaction whether the scan is finished.
func FinishScanTx[TTx any](t *testing.T, newDB NewDB, finished func(ctx context.Context, tx TTx, scanID int64) (bool, error)) {
	s := migrated(t, newDB)
	fs, ok := s.(store.TxFinisher[TTx])
	if !ok {
		t.Fatalf("%T is not a store.TxFinisher of its transaction type", s)
	}
	tgt := createTarget(t, s, "example.org", "web")
	t.Run("Commits", func(t *testing.T) { testFinishTxCommits(t, s, fs, tgt, finished) })
	t.Run("FnFails", func(t *testing.T) {
		sc := createScan(t, s, tgt.ID, day(1))
		boom := errors.New("boom")
		err := fs.FinishScanTx(t.Context(), sc.ID, fullResult(day(1).Add(time.Minute)), func(context.Context, TTx) error { return boom })
		wantErr(t, "FinishScanTx whose fn fails", err, boom)
		wantNotFinished(t, s, sc)
	})
	t.Run("CanceledInFn", func(t *testing.T) {
		sc := createScan(t, s, tgt.ID, day(2))
		ctx, cancel := context.WithCancel(t.Context())
		err := fs.FinishScanTx(ctx, sc.ID, fullResult(day(2).Add(time.Minute)), func(context.Context, TTx) error {
			cancel()
			return nil
		})
		wantErr(t, "FinishScanTx canceled before its commit", err, context.Canceled)
		wantNotFinished(t, s, sc)
	})
}

// testFinishTxCommits checks that fn sees the scan finished in its
// transaction while others still see it running, and that both commit.
func testFinishTxCommits[TTx any](t *testing.T, s store.Store, fs store.TxFinisher[TTx], tgt store.Target,
	finished func(context.Context, TTx, int64) (bool, error)) {
	ctx := t.Context()
	sc := createScan(t, s, tgt.ID, day(0))
	calls := 0
	err := fs.FinishScanTx(ctx, sc.ID, fullResult(day(0).Add(time.Minute)), func(ctx context.Context, tx TTx) error {
		calls++
		in, err := finished(ctx, tx, sc.ID)
		check(t, "read the scan in the transaction", err)
		out, err := s.GetScan(ctx, sc.ID)
		check(t, "GetScan beside the transaction", err)
		if !in || !out.Running() {
			t.Errorf("before the commit: finished %v in the transaction, running %v outside it; want true, true", in, out.Running())
		}
		return nil
	})
	check(t, "FinishScanTx", err)
	got, err := s.GetScan(ctx, sc.ID)
	check(t, "GetScan", err)
	if calls != 1 || got.Running() {
		t.Errorf("fn called %d times, scan running %v after the commit; want 1, false", calls, got.Running())
	}
	err = fs.FinishScanTx(ctx, sc.ID, fullResult(day(0).Add(time.Minute)), func(context.Context, TTx) error {
		t.Error("fn called for a scan already finished")
		return nil
	})
	wantErr(t, "FinishScanTx twice", err, store.ErrConflict)
}

// wantNotFinished checks that a scan whose FinishScanTx failed is still
// running with nothing stored, and can be finished afterwards.
func wantNotFinished(t *testing.T, s store.Store, sc store.Scan) {
	t.Helper()
	got, err := s.GetScan(t.Context(), sc.ID)
	check(t, "GetScan", err)
	diff(t, "scan after a failed finish", sc, got)
	r, err := s.GetScanResult(t.Context(), sc.ID)
	check(t, "GetScanResult", err)
	if r.Report.Status != store.StatusRunning || r.Evaluation != nil || len(r.Events) != 0 {
		t.Errorf("a failed finish stored a result: status %q, %d events", r.Report.Status, len(r.Events))
	}
	check(t, "FinishScan after the failure", s.FinishScan(t.Context(), sc.ID, fullResult(sc.Started.Add(time.Minute))))
}
