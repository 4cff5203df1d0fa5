package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

var _ store.PostureStore = (*Store)(nil)

const (
	// selectScanStates walks each target's scans from the newest start
	// (scans_target_started_idx) to its latest successful one.
	selectScanStates = `SELECT t.id, t.host, t.port, t.kind, t.owner, t.tags, t.enabled, t.schedule,
		coalesce(t.latest_scan_id, 0), t.created_at, t.updated_at, ` +
		`l.id, l.trigger, l.started_at, l.finished_at, l.status, l.error, l.profile, l.compliance, ` +
		`(SELECT e.status FROM endpoint_reports e WHERE e.scan_id = l.id AND e.status <> 'ok'
			ORDER BY e.ordinal LIMIT 1), ` +
		`g.id, g.trigger, g.started_at, g.finished_at, g.status, g.error, g.profile, g.compliance
		FROM targets t
		LEFT JOIN scans l ON l.id = t.latest_scan_id
		LEFT JOIN LATERAL (SELECT s.* FROM scans s
			WHERE s.target_id = t.id AND s.finished_at IS NOT NULL AND s.status = 'ok'
			  AND EXISTS (SELECT 1 FROM endpoint_reports e WHERE e.scan_id = s.id AND e.status = 'ok')
			ORDER BY s.started_at DESC, s.id DESC LIMIT 1) g ON true
		ORDER BY t.host, t.port`
	selectScanEndpointDocs = `SELECT e.scan_id, e.ordinal, e.profile, e.report::text, e.evaluation::text
		FROM endpoint_reports e
		WHERE e.scan_id = ANY($1::bigint[])
		ORDER BY e.scan_id, e.ordinal`
)

// ListScanStates returns every target with its latest and latest
// successful scans.
func (s *Store) ListScanStates(ctx context.Context) ([]store.ScanState, error) {
	rows, err := s.pool.Query(ctx, selectScanStates)
	if err != nil {
		return nil, wrap(ctx, err, "list scan states")
	}
	states, err := pgx.CollectRows(rows, scanScanState)
	return states, wrap(ctx, err, "list scan states")
}

// nullScan holds a LEFT JOINed scan's columns.
type nullScan struct {
	id                                *int64
	started, finished                 *time.Time
	trigger, status, msg, prof, compl *string
}

func (n *nullScan) dest() []any {
	return []any{&n.id, &n.trigger, &n.started, &n.finished, &n.status, &n.msg, &n.prof, &n.compl}
}

func (n *nullScan) scan(targetID int64) store.Scan {
	if n.id == nil {
		return store.Scan{}
	}
	sc := store.Scan{ID: *n.id, TargetID: targetID, Trigger: store.Trigger(*n.trigger),
		Started: n.started.UTC(), Status: tlswarden.Status(*n.status), Error: *n.msg,
		Profile: *n.prof, Compliance: tlswarden.Compliance(*n.compl)}
	if n.finished != nil {
		sc.Finished = n.finished.UTC()
	}
	return sc
}

func scanScanState(row pgx.CollectableRow) (store.ScanState, error) {
	var st store.ScanState
	var kind string
	var latest, success nullScan
	var failure *string
	t := &st.Target
	dest := []any{&t.ID, &t.Host, &t.Port, &kind, &t.Owner, &t.Tags, &t.Enabled, &t.Schedule,
		&t.LatestScanID, &t.CreatedAt, &t.UpdatedAt}
	dest = append(append(append(dest, latest.dest()...), &failure), success.dest()...)
	if err := row.Scan(dest...); err != nil {
		return st, err
	}
	t.Kind = tlswarden.Kind(kind)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	if t.Tags == nil {
		t.Tags = []string{}
	}
	st.Latest, st.LastSuccess = latest.scan(t.ID), success.scan(t.ID)
	switch {
	case st.Latest.ID == 0:
	case st.Latest.Status != tlswarden.StatusOK:
		st.LatestFailure = st.Latest.Status
	case failure != nil:
		st.LatestFailure = tlswarden.Status(*failure)
	}
	return st, nil
}

// ListScanEndpoints returns the endpoint documents of the given scans.
func (s *Store) ListScanEndpoints(ctx context.Context, scanIDs []int64) ([]store.ScanEndpoint, error) {
	if scanIDs == nil {
		scanIDs = []int64{}
	}
	rows, err := s.pool.Query(ctx, selectScanEndpointDocs, scanIDs)
	if err != nil {
		return nil, wrap(ctx, err, "list scan endpoints")
	}
	eps, err := pgx.CollectRows(rows, scanScanEndpoint)
	return eps, wrap(ctx, err, "list scan endpoints")
}

func scanScanEndpoint(row pgx.CollectableRow) (store.ScanEndpoint, error) {
	var e store.ScanEndpoint
	var report string
	var evaluation *string
	if err := row.Scan(&e.ScanID, &e.Ordinal, &e.Profile, &report, &evaluation); err != nil {
		return e, err
	}
	var eval []byte
	if evaluation != nil {
		eval = []byte(*evaluation)
	}
	return e, store.DecodeScanEndpoint(&e, []byte(report), eval)
}
