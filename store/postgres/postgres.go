// Package postgres is the store for deployments that share one PostgreSQL
// database between several tlswarden processes, through pgx.
//
// Large scans are written with COPY inside the FinishScan transaction; the
// schema lives in migrations/postgres and Migrate applies it under a
// transaction-scoped advisory lock, so processes starting together take
// turns. The connection's search_path decides the schema used.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden/store"
)

var (
	_ store.Store              = (*Store)(nil)
	_ store.TxFinisher[pgx.Tx] = (*Store)(nil)
)

// Store keeps tlswarden's data in PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// Open connects to the database at url (a postgres:// URL or key=value
// string) and checks that it answers. It does not migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse database URL: %w", err)
	}
	// JIT compilation is for long analytic queries. The store's are joins
	// over indexes whose plans Postgres may cost high (without statistics,
	// on a database that autovacuum never analyzed), and then JIT
	// compiling them took longer than running them: 528 of 898 ms of
	// ListScanStates at 10,000 targets. A URL that sets jit keeps its
	// choice.
	if _, ok := cfg.ConnConfig.RuntimeParams["jit"]; !ok {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", cfg.ConnConfig.Host, err)
	}
	return New(pool), nil
}

// New returns a store using pool, which the store then owns: Close closes
// it.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, now: func() time.Time { return store.Timestamp(time.Now()) }}
}

// Close closes the store's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// lock takes a transaction-scoped advisory lock named by key within the
// current schema, so that stores on different schemas do not wait for each
// other.
func lock(ctx context.Context, tx pgx.Tx, key string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext(current_schema()))`, key)
	return err
}

// PostgreSQL error codes that map to store errors.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeCheckViolation      = "23514"
	codeNotNullViolation    = "23502"
)

// interpretError maps database errors to the store's: no rows and broken
// references to ErrNotFound, unique violations to ErrConflict, and any
// error after ctx is done to one that wraps ctx.Err().
func interpretError(ctx context.Context, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeUniqueViolation:
			return fmt.Errorf("%w: %s", store.ErrConflict, detail(pgErr))
		case codeForeignKeyViolation:
			return fmt.Errorf("%w: %s", store.ErrNotFound, detail(pgErr))
		case codeCheckViolation, codeNotNullViolation:
			return fmt.Errorf("%w: %s", store.ErrInvalid, detail(pgErr))
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return err
}

func detail(e *pgconn.PgError) string {
	if e.Detail != "" {
		return e.Detail
	}
	return e.Message
}

// wrap returns nil for a nil err, else the interpreted error prefixed with
// what was being done.
func wrap(ctx context.Context, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), interpretError(ctx, err))
}
