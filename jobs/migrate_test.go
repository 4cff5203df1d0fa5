package jobs_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tlswarden/tlswarden/jobs"
)

// TestQueueFileIsPrivate: the embedded queue's database is created
// readable by its owner only, as the store's is.
func TestQueueFileIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "queue.db")
	db, err := jobs.OpenSQLite(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("queue.db: mode %v, want -rw-------", mode)
	}
}
