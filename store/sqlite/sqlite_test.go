package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
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
