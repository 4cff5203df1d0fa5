package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/postgres"
	"github.com/tlswarden/tlswarden/store/sqlite"
)

// backend is the store and the queue's database: one SQLite file in the
// data directory, or one Postgres database, for both: a scan job stores its
// result and completes in one transaction.
type backend struct {
	store store.Store
	// where says which database, for people: a file path or a host.
	where    string
	newQueue func(jobs.Config) (*jobs.Queue, error)
	closers  []func()
}

// File names in the data directory. The queue had a file of its own until
// it moved into the store's; its waiting jobs are imported at migration.
const (
	storeFile    = "tlswarden.db"
	oldQueueFile = "queue.db"
)

// openBackend opens the store and the queue's database and, when migrate
// is true, brings both schemas up to date (safe when several processes
// start at once).
func openBackend(ctx context.Context, dataDir, databaseURL string, migrate bool) (*backend, error) {
	var (
		b   *backend
		err error
	)
	if databaseURL != "" {
		b, err = openPostgres(ctx, databaseURL, migrate)
		err = redactError(err, databaseURL)
	} else {
		b, err = openSQLite(ctx, dataDir, migrate)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

func openSQLite(ctx context.Context, dataDir string, migrate bool) (b *backend, err error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	b = &backend{where: filepath.Join(dataDir, storeFile)}
	opened := b // b is nil on the error returns below
	defer func() {
		if err != nil {
			opened.Close()
		}
	}()
	st, err := sqlite.Open(ctx, b.where)
	if err != nil {
		return nil, err
	}
	b.store = st
	b.closers = append(b.closers, func() { st.Close() })
	db := st.DB()
	b.newQueue = func(cfg jobs.Config) (*jobs.Queue, error) { return jobs.NewSQLite(db, cfg) }
	if migrate {
		if err := errors.Join(st.Migrate(ctx), jobs.MigrateSQLite(ctx, db)); err != nil {
			return nil, err
		}
		if _, err := jobs.ImportSQLiteQueue(ctx, db, filepath.Join(dataDir, oldQueueFile)); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func openPostgres(ctx context.Context, url string, migrate bool) (b *backend, err error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	b = &backend{where: "postgres://" + cfg.ConnConfig.Host + "/" + cfg.ConnConfig.Database}
	opened := b // b is nil on the error returns below
	defer func() {
		if err != nil {
			opened.Close()
		}
	}()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	b.store = st
	b.closers = append(b.closers, func() { st.Close() })
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("queue database: %w", err)
	}
	b.closers = append(b.closers, pool.Close)
	b.newQueue = func(cfg jobs.Config) (*jobs.Queue, error) { return jobs.NewPostgres(pool, cfg) }
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			return nil, err
		}
		if err := jobs.MigratePostgres(ctx, pool); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Close closes what openBackend opened, last first.
func (b *backend) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
	b.closers = nil
}
