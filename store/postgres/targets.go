package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

const targetColumns = `id, host, port, kind, owner, tags, enabled, schedule,
	coalesce(latest_scan_id, 0), created_at, updated_at, intrusive`

const (
	insertTarget = `INSERT INTO targets (host, port, kind, owner, tags, enabled, schedule, created_at, updated_at, intrusive)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) RETURNING id`
	updateTarget = `UPDATE targets SET host = $2, port = $3, kind = $4, owner = $5, tags = $6,
		enabled = $7, schedule = $8, updated_at = $9, intrusive = $10
		WHERE id = $1 RETURNING ` + targetColumns
	selectTarget       = `SELECT ` + targetColumns + ` FROM targets WHERE id = $1`
	selectTargetByHost = `SELECT ` + targetColumns + ` FROM targets WHERE kind = $1 AND host = $2 AND port = $3`
	selectTargets      = `SELECT ` + targetColumns + ` FROM targets
		WHERE ($1::text = '' OR owner = $1)
		  AND ($2::text = '' OR tags @> ARRAY[$2::text])
		  AND ($3::boolean IS NULL OR enabled = $3)
		ORDER BY host, port`
	selectTargetsByKey = `SELECT ` + targetColumns + ` FROM targets
		WHERE (kind, host, port) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::integer[]))`
)

func scanTarget(row pgx.CollectableRow) (store.Target, error) {
	var t store.Target
	var kind string
	err := row.Scan(&t.ID, &t.Host, &t.Port, &kind, &t.Owner, &t.Tags, &t.Enabled, &t.Schedule,
		&t.LatestScanID, &t.CreatedAt, &t.UpdatedAt, &t.Intrusive)
	t.Kind = tlswarden.Kind(kind)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// querier is what a pool and a transaction have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryTargets(ctx context.Context, q querier, sql string, args ...any) ([]store.Target, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanTarget)
}

func (s *Store) queryTarget(ctx context.Context, sql string, args ...any) (store.Target, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return store.Target{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanTarget)
}

// CreateTarget adds a target.
func (s *Store) CreateTarget(ctx context.Context, t store.Target) (store.Target, error) {
	t, err := t.Normalize()
	if err != nil {
		return store.Target{}, fmt.Errorf("create target: %w", err)
	}
	t = stamped(t, s.now())
	err = s.pool.QueryRow(ctx, insertTarget, targetArgs(t, t.CreatedAt)...).Scan(&t.ID)
	return t, wrap(ctx, err, "create target %s", t.Target)
}

// stamped returns t as a new row: no ID or scans, created and updated now.
func stamped(t store.Target, now time.Time) store.Target {
	t.ID, t.LatestScanID = 0, 0
	t.CreatedAt, t.UpdatedAt = now, now
	return t
}

func targetArgs(t store.Target, now time.Time) []any {
	return []any{t.Host, t.Port, string(t.Kind), t.Owner, t.Tags, t.Enabled, t.Schedule, now, t.Intrusive}
}

// GetTarget returns one target.
func (s *Store) GetTarget(ctx context.Context, id int64) (store.Target, error) {
	t, err := s.queryTarget(ctx, selectTarget, id)
	return t, wrap(ctx, err, "get target %d", id)
}

// FindTarget returns the target with the given kind, host and port.
func (s *Store) FindTarget(ctx context.Context, kind tlswarden.Kind, host string, port int) (store.Target, error) {
	h, err := store.NormalizeHost(host)
	if err != nil {
		return store.Target{}, fmt.Errorf("find target: %w", err)
	}
	t, err := s.queryTarget(ctx, selectTargetByHost, string(store.KindOrHTTPS(kind)), h, port)
	return t, wrap(ctx, err, "find target %s://%s:%d", store.KindOrHTTPS(kind), h, port)
}

// UpdateTarget replaces a target's settings.
func (s *Store) UpdateTarget(ctx context.Context, t store.Target) (store.Target, error) {
	n, err := t.Normalize()
	if err != nil {
		return store.Target{}, fmt.Errorf("update target %d: %w", t.ID, err)
	}
	args := append([]any{n.ID}, targetArgs(n, s.now())...)
	out, err := s.queryTarget(ctx, updateTarget, args...)
	return out, wrap(ctx, err, "update target %d", t.ID)
}

// DeleteTarget removes a target with its scans and events.
func (s *Store) DeleteTarget(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM targets WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrap(ctx, err, "delete target %d", id)
}

// ListTargets returns the targets that match f.
func (s *Store) ListTargets(ctx context.Context, f store.TargetFilter) ([]store.Target, error) {
	ts, err := queryTargets(ctx, s.pool, selectTargets, f.Owner, f.Tag, f.Enabled)
	return ts, wrap(ctx, err, "list targets")
}

// ImportTargets adds or updates targets by kind, host and port. Imports take an
// advisory lock so that two of them at once take turns instead of failing
// on each other's inserts.
func (s *Store) ImportTargets(ctx context.Context, rows []store.Target) (store.ImportResult, error) {
	rows, err := store.NormalizeRows(rows)
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("import targets: %w", err)
	}
	var res store.ImportResult
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, "tlswarden.import"); err != nil {
			return err
		}
		existing, err := existing(ctx, tx, rows)
		if err != nil {
			return err
		}
		res, err = s.applyImport(ctx, tx, rows, existing)
		return err
	})
	return res, wrap(ctx, err, "import targets")
}

// existing returns the stored targets that rows name, by key.
func existing(ctx context.Context, tx pgx.Tx, rows []store.Target) (map[store.Key]store.Target, error) {
	kinds, hosts, ports := make([]string, len(rows)), make([]string, len(rows)), make([]int32, len(rows))
	for i, r := range rows {
		kinds[i], hosts[i], ports[i] = string(r.Kind), r.Host, int32(r.Port)
	}
	ts, err := queryTargets(ctx, tx, selectTargetsByKey, kinds, hosts, ports)
	m := make(map[store.Key]store.Target, len(ts))
	for _, t := range ts {
		m[t.Key()] = t
	}
	return m, err
}

// applyImport sends one batch of inserts and updates for the rows that are
// new or changed.
func (s *Store) applyImport(ctx context.Context, tx pgx.Tx, rows []store.Target, existing map[store.Key]store.Target) (store.ImportResult, error) {
	now := s.now()
	var b pgx.Batch
	out := make([]store.Target, len(rows))
	actions := make([]store.ImportAction, len(rows))
	for i, r := range rows {
		old, ok := existing[r.Key()]
		switch {
		case !ok:
			out[i], actions[i] = stamped(r, now), store.ImportAdded
			b.Queue(insertTarget, targetArgs(r, now)...).QueryRow(func(row pgx.Row) error { return row.Scan(&out[i].ID) })
		case !old.SameSettings(r):
			r.ID, r.LatestScanID, r.CreatedAt, r.UpdatedAt = old.ID, old.LatestScanID, old.CreatedAt, now
			out[i], actions[i] = r, store.ImportChanged
			b.Queue(updateTarget, append([]any{r.ID}, targetArgs(r, now)...)...)
		default:
			out[i], actions[i] = old, store.ImportUnchanged
		}
	}
	var res store.ImportResult
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return res, err
		}
	}
	for i := range out {
		res.Add(out[i], actions[i])
	}
	return res, nil
}
