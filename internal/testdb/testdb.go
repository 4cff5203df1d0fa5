// Package testdb gives tests real stores and queues: an embedded SQLite
// file in a temporary directory, or a fresh schema in the Postgres
// at TEST_DATABASE_URL (default: the local server CI runs). A test that
// wants Postgres is skipped when none answers, except under CI=true, where
// it fails: CI never skips them.
package testdb

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/postgres"
	"github.com/tlswarden/tlswarden/store/sqlite"
)

// DefaultURL is the local server the development machines and CI run.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Names lists the backends, for tests that run against each.
var Names = []string{"sqlite", "postgres"}

// Backend is a migrated store and the queue database beside it.
type Backend struct {
	Name  string
	Store store.Store
	// URL is the Postgres URL (with search_path set to the test's schema),
	// or "" for SQLite; Dir is the SQLite data directory, or "".
	URL, Dir string
	newQueue func(jobs.Config) (*jobs.Queue, error)
}

// Queue returns a queue on the backend; cfg.Store is set to its store. The
// queue is stopped when the test ends.
func (b *Backend) Queue(tb testing.TB, cfg jobs.Config) *jobs.Queue {
	tb.Helper()
	cfg.Store = b.Store
	q, err := b.newQueue(cfg)
	if err != nil {
		tb.Fatalf("new queue: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			tb.Errorf("stop queue: %v", err)
		}
	})
	return q
}

// Open returns the named backend ("sqlite" or "postgres"), migrated, with
// everything closed when the test ends.
func Open(tb testing.TB, name string) *Backend {
	tb.Helper()
	switch name {
	case "sqlite":
		return openSQLite(tb)
	case "postgres":
		return openPostgres(tb)
	}
	tb.Fatalf("testdb: unknown backend %q", name)
	return nil
}

func openSQLite(tb testing.TB) *Backend {
	ctx := tb.Context()
	dir := tb.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "tlswarden.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := jobs.MigrateSQLite(ctx, st.DB()); err != nil {
		tb.Fatal(err)
	}
	return &Backend{Name: "sqlite", Store: st, Dir: dir, newQueue: func(cfg jobs.Config) (*jobs.Queue, error) {
		return jobs.NewSQLite(st.DB(), cfg)
	}}
}

func openPostgres(tb testing.TB) *Backend {
	ctx := tb.Context()
	u := PostgresURL(tb)
	st, err := postgres.Open(ctx, u)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := jobs.MigratePostgres(ctx, pool); err != nil {
		tb.Fatal(err)
	}
	return &Backend{Name: "postgres", Store: st, URL: u, newQueue: func(cfg jobs.Config) (*jobs.Queue, error) {
		return jobs.NewPostgres(pool, cfg)
	}}
}

func databaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// PostgresURL creates a schema of its own for the test, dropped when it
// ends, and returns the database URL with search_path set to it.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	admin.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		admin.pool, admin.err = pgxpool.New(ctx, databaseURL())
		if admin.err == nil {
			admin.err = admin.pool.Ping(ctx)
		}
	})
	testenv.Need(tb, "Postgres at TEST_DATABASE_URL or "+DefaultURL, admin.err)
	// rand.Text is base32: letters and digits, safe in an identifier.
	schema := "testdb_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.pool.Exec(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(databaseURL())
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
