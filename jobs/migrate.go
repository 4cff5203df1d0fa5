package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// MigrateSQLite brings River's tables in db, the embedded store's writer
// (sqlite.Store.DB), up to date. BEGIN IMMEDIATE takes the file's write
// lock first, so a process starting at the same time waits and then finds
// nothing to do.
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

// importQueue copies the jobs an earlier version's queue file (attached as
// old) still had to work, those running made available again: their
// process has stopped. A job copied already (by a process starting at the
// same time) is not copied twice.
const importQueue = `INSERT INTO main.river_job (args, attempt, attempted_at, attempted_by, created_at, errors, kind,
		max_attempts, metadata, priority, queue, state, scheduled_at, tags, unique_key, unique_states)
	SELECT o.args, o.attempt, o.attempted_at, o.attempted_by, o.created_at, o.errors, o.kind, o.max_attempts,
		o.metadata, o.priority, o.queue, CASE o.state WHEN 'running' THEN 'available' ELSE o.state END,
		o.scheduled_at, o.tags, o.unique_key, o.unique_states
	FROM old.river_job o
	WHERE o.state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
		AND NOT EXISTS (SELECT 1 FROM main.river_job j WHERE j.kind = o.kind AND j.args = o.args AND j.created_at = o.created_at)
	ON CONFLICT DO NOTHING`

// ImportSQLiteQueue moves into db (the store's writer, migrated) the jobs
// still to be worked in the queue file at path, where versions before the
// queue shared the store's file kept it, and renames that file with
// ".imported" appended. It returns how many jobs it copied; with no file at
// path it does nothing.
func ImportSQLiteQueue(ctx context.Context, db *sql.DB, path string) (int64, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("jobs: import %s: %w", path, err)
	}
	defer conn.Close()
	// ATTACH cannot run inside a transaction; the writer's one connection
	// is held for the whole import.
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS old`, path); err != nil {
		return 0, fmt.Errorf("jobs: import %s: %w", path, err)
	}
	n, err := importJobs(ctx, conn)
	if err == nil {
		// Fold the old file's WAL into it before it is put aside.
		_, err = conn.ExecContext(ctx, `PRAGMA old.wal_checkpoint(TRUNCATE)`)
	}
	if _, derr := conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE old`); err == nil {
		err = derr
	}
	if err == nil {
		err = os.Rename(path, path+".imported")
	}
	if err != nil {
		return 0, fmt.Errorf("jobs: import %s (move it away to start without its jobs): %w", path, err)
	}
	return n, nil
}

func importJobs(ctx context.Context, conn *sql.Conn) (int64, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }() // a no-op after Commit
	res, err := tx.ExecContext(ctx, importQueue)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return n, tx.Commit()
}
