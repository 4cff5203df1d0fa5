package sqlite_test

import (
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
	return func() store.Store {
		s, err := sqlite.Open(tb.Context(), path)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	}
}

func TestStore(t *testing.T) { storetest.Run(t, newDB) }

func BenchmarkStoreScan10k(b *testing.B) { storetest.BenchmarkScan10k(b, newDB) }
