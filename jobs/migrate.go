package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// OpenSQLite opens (creating it if need be) the SQLite file that holds
// River's queue in the embedded deployment, configured as River's SQLite
// driver needs it: one connection, WAL, and a wait instead of an error when
// another process holds the write lock.
func OpenSQLite(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("jobs: invalid queue database path %q", path)
	}
	// Owner-only, as the store's file is (the queue holds scan requests
	// and who made them); SQLite's -wal and -shm files inherit the mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jobs: create queue database: %w", err)
	}
	f.Close()
	q := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", (10 * time.Second).Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
	}}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("jobs: open queue database: %w", err)
	}
	// River's SQLite driver works through one connection; SQLite allows one
	// writer at a time anyway.
	db.SetMaxOpenConns(1)
	if err := pingBusy(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("jobs: open queue database %s: %w", path, err)
	}
	return db, nil
}

// pingBusy opens db's connection, trying again for up to the busy
// timeout while SQLite answers SQLITE_BUSY: switching a new file to WAL
// as another process opens it at the same moment can fail at once, without
// the busy handler's wait (processes started together, a serve and its
// workers on one machine).
func pingBusy(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MigrateSQLite brings River's tables in db up to date. BEGIN IMMEDIATE
// takes the file's write lock first, so a process starting at the same
// time waits and then finds nothing to do.
func MigrateSQLite(ctx context.Context, db *sql.DB) error {
	m, err := rivermigrate.New(riversqlite.New(db), nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate queue: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate queue: %w", err)
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	// MigrateTx is deprecated because some Postgres migrations cannot share
	// a transaction; River's SQLite ones can, and one transaction is what
	// makes concurrent starts safe here.
	//lint:ignore SA1019 see above
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate queue: %w", err)
	}
	if _, err := tx.ExecContext(ctx, livenessTable); err != nil {
		return fmt.Errorf("jobs: migrate queue: liveness table: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("jobs: migrate queue: %w", err)
	}
	return nil
}

// MigratePostgres brings River's tables up to date in the schema the
// pool's search_path names. River applies each version in a transaction of
// its own (some cannot share one), so a session advisory lock, held on a
// connection of its own, makes processes starting at once take turns.
func MigratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate queue: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrate queue: %w", err)
	}
	defer conn.Release()
	const key = `hashtext('tlswarden.river_migrate'), hashtext(current_schema())`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		return fmt.Errorf("jobs: migrate queue: lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is done.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Conn().Close(uctx) // closing the session releases the lock
		}
	}()
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate queue: %w", err)
	}
	if _, err := conn.Exec(ctx, livenessTable); err != nil {
		return fmt.Errorf("jobs: migrate queue: liveness table: %w", err)
	}
	return nil
}
