package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

const targetColumns = `id, host, port, kind, owner, tags, enabled, schedule,
	coalesce(latest_scan_id, 0), created_at, updated_at, intrusive`

const (
	insertTarget = `INSERT INTO targets (host, port, kind, owner, tags, enabled, schedule, created_at, updated_at, intrusive)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9) RETURNING id`
	updateTarget = `UPDATE targets SET host = ?2, port = ?3, kind = ?4, owner = ?5, tags = ?6,
		enabled = ?7, schedule = ?8, updated_at = ?9, intrusive = ?10
		WHERE id = ?1 RETURNING ` + targetColumns
	selectTarget       = `SELECT ` + targetColumns + ` FROM targets WHERE id = ?1`
	selectTargetByHost = `SELECT ` + targetColumns + ` FROM targets WHERE kind = ?1 AND host = ?2 AND port = ?3`
	selectTargets      = `SELECT ` + targetColumns + ` FROM targets
		WHERE (?1 = '' OR owner = ?1)
		  AND (?2 = '' OR EXISTS (SELECT 1 FROM json_each(targets.tags) WHERE value = ?2))
		  AND (?3 IS NULL OR enabled = ?3)
		ORDER BY host, port`
)

// rowScanner is what *sql.Row and *sql.Rows have in common.
type rowScanner interface{ Scan(dest ...any) error }

func scanTarget(row rowScanner) (store.Target, error) {
	var t store.Target
	var kind, tags string
	var created, updated int64
	err := row.Scan(&t.ID, &t.Host, &t.Port, &kind, &t.Owner, &tags, &t.Enabled, &t.Schedule,
		&t.LatestScanID, &created, &updated, &t.Intrusive)
	if err != nil {
		return t, err
	}
	t.Kind, t.CreatedAt, t.UpdatedAt = tlswarden.Kind(kind), fromMicros(created), fromMicros(updated)
	t.Tags = []string{}
	if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil {
		return t, fmt.Errorf("decode tags of target %d: %w", t.ID, err)
	}
	return t, nil
}

// queryer is what a database and a transaction have in common.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func queryTargets(ctx context.Context, q queryer, query string, args ...any) ([]store.Target, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	return collect(rows, err, scanTarget)
}

func targetArgs(t store.Target, now time.Time) ([]any, error) {
	tags, err := json.Marshal(t.Tags)
	if err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	return []any{t.Host, t.Port, string(t.Kind), t.Owner, string(tags), t.Enabled, t.Schedule, micros(now), t.Intrusive}, nil
}

// stamped returns t as a new row: no ID or scans, created and updated now.
func stamped(t store.Target, now time.Time) store.Target {
	t.ID, t.LatestScanID = 0, 0
	t.CreatedAt, t.UpdatedAt = now, now
	return t
}

// CreateTarget adds a target.
func (s *Store) CreateTarget(ctx context.Context, t store.Target) (store.Target, error) {
	t, err := t.Normalize()
	if err != nil {
		return store.Target{}, fmt.Errorf("create target: %w", err)
	}
	t = stamped(t, s.now())
	err = s.write(ctx, func(tx *sql.Tx) error { return insert(ctx, tx, &t) })
	return t, wrap(ctx, err, "create target %s", t.Target)
}

func insert(ctx context.Context, tx *sql.Tx, t *store.Target) error {
	args, err := targetArgs(*t, t.CreatedAt)
	if err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, insertTarget, args...).Scan(&t.ID)
}

func update(ctx context.Context, tx *sql.Tx, t store.Target, now time.Time) (store.Target, error) {
	args, err := targetArgs(t, now)
	if err != nil {
		return t, err
	}
	return scanTarget(tx.QueryRowContext(ctx, updateTarget, append([]any{t.ID}, args...)...))
}

// GetTarget returns one target.
func (s *Store) GetTarget(ctx context.Context, id int64) (store.Target, error) {
	t, err := scanTarget(s.r.QueryRowContext(ctx, selectTarget, id))
	return t, wrap(ctx, err, "get target %d", id)
}

// FindTarget returns the target with the given kind, host and port.
func (s *Store) FindTarget(ctx context.Context, kind tlswarden.Kind, host string, port int) (store.Target, error) {
	h, err := store.NormalizeHost(host)
	if err != nil {
		return store.Target{}, fmt.Errorf("find target: %w", err)
	}
	t, err := scanTarget(s.r.QueryRowContext(ctx, selectTargetByHost, string(store.KindOrHTTPS(kind)), h, port))
	return t, wrap(ctx, err, "find target %s://%s:%d", store.KindOrHTTPS(kind), h, port)
}

// UpdateTarget replaces a target's settings.
func (s *Store) UpdateTarget(ctx context.Context, t store.Target) (store.Target, error) {
	n, err := t.Normalize()
	if err != nil {
		return store.Target{}, fmt.Errorf("update target %d: %w", t.ID, err)
	}
	var out store.Target
	err = s.write(ctx, func(tx *sql.Tx) error {
		out, err = update(ctx, tx, n, s.now())
		return err
	})
	return out, wrap(ctx, err, "update target %d", t.ID)
}

// DeleteTarget removes a target with its scans and events.
func (s *Store) DeleteTarget(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM targets WHERE id = ?1`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return firstNonNil(err, sql.ErrNoRows)
		}
		return nil
	})
	return wrap(ctx, err, "delete target %d", id)
}

func firstNonNil(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ListTargets returns the targets that match f.
func (s *Store) ListTargets(ctx context.Context, f store.TargetFilter) ([]store.Target, error) {
	ts, err := queryTargets(ctx, s.r, selectTargets, f.Owner, f.Tag, f.Enabled)
	return ts, wrap(ctx, err, "list targets")
}

// ImportTargets adds or updates targets by kind, host and port, in one write
// transaction.
func (s *Store) ImportTargets(ctx context.Context, rows []store.Target) (store.ImportResult, error) {
	rows, err := store.NormalizeRows(rows)
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("import targets: %w", err)
	}
	var res store.ImportResult
	err = s.write(ctx, func(tx *sql.Tx) error {
		res = store.ImportResult{}
		now := s.now()
		for _, r := range rows {
			t, action, err := importRow(ctx, tx, r, now)
			if err != nil {
				return fmt.Errorf("%s: %w", r.Target, err)
			}
			res.Add(t, action)
		}
		return nil
	})
	return res, wrap(ctx, err, "import targets")
}

func importRow(ctx context.Context, tx *sql.Tx, r store.Target, now time.Time) (store.Target, store.ImportAction, error) {
	old, err := scanTarget(tx.QueryRowContext(ctx, selectTargetByHost, string(r.Kind), r.Host, r.Port))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		t := stamped(r, now)
		return t, store.ImportAdded, insert(ctx, tx, &t)
	case err != nil:
		return r, "", err
	case old.SameSettings(r):
		return old, store.ImportUnchanged, nil
	}
	r.ID = old.ID
	t, err := update(ctx, tx, r, now)
	return t, store.ImportChanged, err
}
