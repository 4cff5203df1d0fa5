package jobs_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/sqlite"
)

// TestImportSQLiteQueue: the jobs waiting in the queue file of an earlier
// version move into the store's file, once, and the file is put aside.
func TestImportSQLiteQueue(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	oldPath := filepath.Join(dir, "queue.db")
	// The old queue's file, as River's tables alone; its Store is only
	// what NewSQLite needs, on the same file.
	old, err := sqlite.Open(ctx, oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.MigrateSQLite(ctx, old.DB()); err != nil {
		t.Fatal(err)
	}
	oq, err := jobs.NewSQLite(old.DB(), jobs.Config{Store: old})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oq.InsertScanJob(ctx, jobs.ScanTargetArgs{TargetID: 1, Trigger: store.TriggerRequest, RequestedBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := oq.InsertScanJobAt(ctx, 2, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	b := testdb.Open(t, "sqlite")
	st := b.Store.(*sqlite.Store)
	for i, want := range []int64{2, 0} {
		n, err := jobs.ImportSQLiteQueue(ctx, st.DB(), oldPath)
		if err != nil || n != want {
			t.Fatalf("import %d: %d jobs, %v; want %d", i+1, n, err, want)
		}
	}
	if _, err := os.Stat(oldPath + ".imported"); err != nil {
		t.Errorf("the old queue's file was not put aside: %v", err)
	}
	q := b.Queue(t, jobs.Config{})
	for target, want := range map[int64]string{1: "available", 2: "scheduled"} {
		rs, err := q.Requests(ctx, target, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(rs) == 1 {
			got = rs[0].State
		}
		if len(rs) > 1 || got != want {
			t.Errorf("target %d: jobs %+v; want one %q", target, rs, want)
		}
	}
}
