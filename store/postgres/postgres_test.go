package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/postgres"
	"github.com/tlswarden/tlswarden/store/storetest"
)

// defaultURL is the local server the development machines and CI run.
const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func databaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultURL
}

var admin struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

// adminPool returns a pool on the test database for creating and dropping
// schemas. When the server does not answer the test is skipped, except
// under CI=true, where it fails: CI must never skip these tests.
func adminPool(tb testing.TB) *pgxpool.Pool {
	admin.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		admin.pool, admin.err = pgxpool.New(ctx, databaseURL())
		if admin.err == nil {
			admin.err = admin.pool.Ping(ctx)
		}
		if admin.err == nil {
			admin.err = dropStaleSchemas(ctx, admin.pool)
		}
	})
	testenv.Need(tb, "PostgreSQL at TEST_DATABASE_URL (or the local default)", admin.err)
	return admin.pool
}

// schemaPrefix starts the name of every schema these tests create; the
// name goes on with the creation time, so that schemas left behind by a
// test binary that crashed can be told from those of one still running.
const schemaPrefix = "storetest_"

// dropStaleSchemas drops the schemas these tests created more than an hour
// ago.
func dropStaleSchemas(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, `SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)`, schemaPrefix)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, name := range names {
		unix, _, _ := strings.Cut(strings.TrimPrefix(name, schemaPrefix), "_")
		created, err := strconv.ParseInt(unix, 10, 64)
		if err != nil || time.Since(time.Unix(created, 0)) < time.Hour {
			continue
		}
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			return err
		}
	}
	return nil
}

// newDB gives each test a schema of its own, dropped when the test ends;
// each store opened on it has its own pool with search_path set to it.
func newDB(tb testing.TB) func() store.Store {
	schema := newSchema(tb)
	return func() store.Store { return open(tb, schema) }
}

// newSchema creates a schema of its own for a test, dropped when the test
// ends.
func newSchema(tb testing.TB) string {
	pool := adminPool(tb)
	// rand.Text is base32: letters and digits, safe in an identifier.
	schema := fmt.Sprintf("%s%d_%s", schemaPrefix, time.Now().Unix(), strings.ToLower(rand.Text()[:12]))
	if _, err := pool.Exec(tb.Context(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// open opens a store on the schema as the service does, through Open.
func open(tb testing.TB, schema string) store.Store {
	u, err := url.Parse(databaseURL())
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	s, err := postgres.Open(tb.Context(), u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) { storetest.Run(t, newDB) }

// TestPostureFallback forgets kept postures through the admin pool.
func TestPostureFallback(t *testing.T) {
	schema := newSchema(t)
	storetest.PostureFallback(t, open(t, schema), func(ids []int64) error {
		_, err := adminPool(t).Exec(t.Context(), "DELETE FROM "+schema+".scan_postures WHERE scan_id = ANY($1)", ids)
		return err
	})
}

func BenchmarkStoreScan10k(b *testing.B) { storetest.BenchmarkScan10k(b, newDB) }

func TestFinishScanTx(t *testing.T) {
	storetest.FinishScanTx(t, newDB, func(ctx context.Context, tx pgx.Tx, id int64) (done bool, err error) {
		err = tx.QueryRow(ctx, `SELECT finished_at IS NOT NULL FROM scans WHERE id = $1`, id).Scan(&done)
		return done, err
	})
}

// TestJITOff: the store's sessions run without JIT compilation unless the
// URL asks for it.
func TestJITOff(t *testing.T) {
	schema := newSchema(t)
	s := open(t, schema).(*postgres.Store)
	var jit string
	if err := s.Pool().QueryRow(t.Context(), `SHOW jit`).Scan(&jit); err != nil || jit != "off" {
		t.Errorf("jit %q, %v; want off", jit, err)
	}
	u, err := url.Parse(databaseURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("jit", "on")
	u.RawQuery = q.Encode()
	on, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	if err := on.Pool().QueryRow(t.Context(), `SHOW jit`).Scan(&jit); err != nil || jit != "on" {
		t.Errorf("with jit=on in the URL: jit %q, %v; want on", jit, err)
	}
}
