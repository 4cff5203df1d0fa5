// Package sqlite is the embedded store: one SQLite file through the pure-Go
// driver modernc.org/sqlite, so that tlswarden serve needs no database
// server.
//
// The file is in WAL mode, so reads go on while a write runs. Every write
// goes through one connection in BEGIN IMMEDIATE transactions: writers in
// this process queue for that connection, and another process's writer
// waits (busy_timeout) for the file's write lock instead of failing. Reads
// use a pool of read-only connections. Foreign keys are enforced.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tlswarden/tlswarden/store"
)

var (
	_ store.Store               = (*Store)(nil)
	_ store.TxFinisher[*sql.Tx] = (*Store)(nil)
)

// BusyTimeout is how long a write waits for another process's write lock.
const BusyTimeout = 10 * time.Second

// Store keeps tlswarden's data in one SQLite file. It is safe for
// concurrent use, and several processes may open one file.
type Store struct {
	w   *sql.DB // the one writer connection
	r   *sql.DB // read-only connections
	now func() time.Time
}

// Open opens (creating it if need be) the database file at path. It does
// not migrate. An in-memory database will not do: the writer and the
// readers must share a file.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") || strings.Contains(path, ":memory:") {
		return nil, fmt.Errorf("sqlite: invalid database path %q: want a file name", path)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	w, err := openDB(ctx, path, writerParams(), 1)
	if err != nil {
		return nil, err
	}
	r, err := openDB(ctx, path, readerParams(), max(4, runtime.NumCPU()))
	if err != nil {
		w.Close()
		return nil, err
	}
	return &Store{w: w, r: r, now: func() time.Time { return store.Timestamp(time.Now()) }}, nil
}

func writerParams() url.Values {
	q := commonParams()
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return q
}

func readerParams() url.Values {
	q := commonParams()
	q.Add("_pragma", "query_only(1)")
	// Reads walk many targets' scans at once (the posture scrape): map
	// the file rather than pread one page at a time through a 2 MB cache.
	q.Add("_pragma", "mmap_size(268435456)")
	return q
}

func commonParams() url.Values {
	return url.Values{"_pragma": {fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds())}}
}

// createPrivate creates the database file, when it does not exist yet,
// readable and writable by its owner only: it holds every scan and the
// token hashes. SQLite gives the -wal and -shm files it makes beside it the
// same mode. An existing file keeps the mode its owner chose.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

func openDB(ctx context.Context, path string, q url.Values, conns int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// DB returns the store's writer: the one connection every write of the
// file goes through. The embedded deployment's job queue keeps River's
// tables in the store's file and works through it too, so that
// FinishScanTx can complete a scan's job in the transaction that stores
// its result. Whoever uses it must stop before Close.
func (s *Store) DB() *sql.DB { return s.w }

// Close closes the store's connections.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// write runs fn in a write transaction (BEGIN IMMEDIATE), committed when fn
// returns nil.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	return inTx(ctx, s.w, nil, fn)
}

// read runs fn in a read transaction, so that its queries see one
// snapshot.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	return inTx(ctx, s.r, &sql.TxOptions{ReadOnly: true}, fn)
}

func inTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of rolling back a transaction that database/sql
// already ended because its context was done.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// interpretError maps database errors to the store's: no rows and broken
// references to ErrNotFound, unique violations to ErrConflict, and any
// error after ctx is done to one that wraps ctx.Err().
func interpretError(ctx context.Context, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", store.ErrConflict, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %s", store.ErrNotFound, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return fmt.Errorf("%w: %s", store.ErrInvalid, se.Error())
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return err
}

// wrap returns nil for a nil err, else the interpreted error prefixed with
// what was being done.
func wrap(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), interpretError(ctx, err))
}

// collect reads every row with scan and closes rows; err is the query's.
func collect[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	return collectInto(nil, rows, err, scan)
}

// collectInto is collect appending to out.
func collectInto[T any](out []T, rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// micros is how the schema keeps times.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

// limit turns "0 means no limit" into SQLite's LIMIT -1.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
