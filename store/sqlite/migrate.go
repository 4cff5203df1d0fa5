package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tlswarden/tlswarden/migrations"
)

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT`

// Migrate applies the migrations the database lacks, all in one
// transaction. BEGIN IMMEDIATE takes the file's write lock first, so a
// process starting at the same time waits and then finds nothing to do.
//
// Foreign keys are off on the migrating connection, as SQLite's procedure
// for changing a table's schema asks (a table is rebuilt by copying it and
// dropping the old one, which would otherwise cascade to every row
// referring to it); foreign_key_check proves the result before commit.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations.Load(migrations.SQLite)
	if err != nil {
		return err
	}
	return wrap(ctx, s.migrateFKOff(ctx, ms), "sqlite: migrate")
}

func (s *Store) migrateFKOff(ctx context.Context, ms []migrations.Migration) error {
	conn, err := s.w.Conn(ctx) // the one writer, pinned: the pragma is per connection
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`) }()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := s.migrateTx(ctx, tx, ms); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

func (s *Store) migrateTx(ctx context.Context, tx *sql.Tx, ms []migrations.Migration) error {
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return err
	}
	if err := s.applyMissing(ctx, tx, ms); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		return errors.New("a migration left rows whose foreign keys name nothing")
	}
	return rows.Err()
}

func (s *Store) applyMissing(ctx context.Context, tx *sql.Tx, ms []migrations.Migration) error {
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if latest := ms[len(ms)-1].Version; current > latest {
		return fmt.Errorf("database schema is at version %d, newer than this program's %d", current, latest)
	}
	for _, m := range ms[current:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %d_%s: %w", m.Version, m.Name, err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, micros(s.now()))
		if err != nil {
			return fmt.Errorf("record migration %d: %w", m.Version, err)
		}
	}
	return nil
}
