package sqlite_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/sqlite"
	"github.com/tlswarden/tlswarden/store/storetest"
)

// newDB gives each test a database file of its own in a temporary
// directory.
func newDB(tb testing.TB) func() store.Store {
	path := filepath.Join(tb.TempDir(), "tlswarden.db")
	return func() store.Store { return open(tb, path) }
}

func open(tb testing.TB, path string) store.Store {
	s, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) { storetest.Run(t, newDB) }

// TestPostureFallback forgets kept postures with a connection of its own.
func TestPostureFallback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tlswarden.db")
	storetest.PostureFallback(t, open(t, path), func(ids []int64) error {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			return err
		}
		defer db.Close()
		list, err := json.Marshal(ids)
		if err != nil {
			return err
		}
		_, err = db.ExecContext(t.Context(), `DELETE FROM scan_postures WHERE scan_id IN (SELECT value FROM json_each(?))`, string(list))
		return err
	})
}

func BenchmarkStoreScan10k(b *testing.B) { storetest.BenchmarkScan10k(b, newDB) }

// TestFilesArePrivate: the database and the -wal and -shm files SQLite
// makes beside it are readable by their owner only, whatever the umask
// lets a plain create do.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "tlswarden.db")
	s := open(t, path)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(name), mode)
		}
	}
}

func TestFinishScanTx(t *testing.T) {
	storetest.FinishScanTx(t, newDB, func(ctx context.Context, tx *sql.Tx, id int64) (done bool, err error) {
		err = tx.QueryRowContext(ctx, `SELECT finished_at IS NOT NULL FROM scans WHERE id = ?`, id).Scan(&done)
		return done, err
	})
}
