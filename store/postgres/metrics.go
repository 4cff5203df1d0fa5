package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/internal/rows"
)

var _ store.PostureStore = (*Store)(nil)

const (
	// selectScanStates joins each target's latest and latest successful
	// scans, which FinishScan keeps pointers to.
	selectScanStates = `SELECT t.id, t.host, t.port, t.kind, t.owner, t.tags, t.enabled, t.schedule,
		coalesce(t.latest_scan_id, 0), t.created_at, t.updated_at, t.intrusive, ` +
		`l.id, l.trigger, l.started_at, l.finished_at, l.status, l.error, l.profile, l.compliance, ` +
		`(SELECT e.status FROM endpoint_reports e WHERE e.scan_id = l.id AND e.status <> 'ok'
			ORDER BY e.ordinal LIMIT 1), ` +
		`g.id, g.trigger, g.started_at, g.finished_at, g.status, g.error, g.profile, g.compliance
		FROM targets t
		LEFT JOIN scans l ON l.id = t.latest_scan_id
		LEFT JOIN scans g ON g.id = t.last_success_scan_id
		ORDER BY t.host, t.port`
	countTargets   = `SELECT count(*) FROM targets`
	selectPostures = `SELECT p.scan_id, p.endpoints FROM scan_postures p
		WHERE p.scan_id = ANY($1::bigint[])
		ORDER BY p.scan_id`
	// selectEndpointDocs reads the documents of scans finished before
	// postures were kept.
	selectEndpointDocs = `SELECT e.scan_id, e.ordinal, e.profile, e.report::text, e.evaluation::text
		FROM endpoint_reports e
		WHERE e.scan_id = ANY($1::bigint[])
		ORDER BY e.scan_id, e.ordinal`
)

// ListScanStates returns every target with its latest and latest
// successful scans.
func (s *Store) ListScanStates(ctx context.Context) ([]store.ScanState, error) {
	// A state is some 500 bytes: sized from a count, the slice is made
	// once rather than grown, and copied, a dozen times.
	var n int
	if err := s.pool.QueryRow(ctx, countTargets).Scan(&n); err != nil {
		return nil, wrap(ctx, err, "list scan states")
	}
	rows, err := s.pool.Query(ctx, selectScanStates)
	if err != nil {
		return nil, wrap(ctx, err, "list scan states")
	}
	states, err := pgx.AppendRows(make([]store.ScanState, 0, n), rows, scanScanState)
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
		&t.LatestScanID, &t.CreatedAt, &t.UpdatedAt, &t.Intrusive}
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

// ListEndpointPostures returns the postures of the given scans'
// endpoints: those FinishScan kept, and for the other scans (finished
// before it kept them) those derived from their documents.
func (s *Store) ListEndpointPostures(ctx context.Context, scanIDs []int64) ([]store.EndpointPosture, error) {
	// The two reads need no common snapshot: a scan's postures and
	// documents are written together and never change.
	var ps rows.Postures
	var id int64
	var kept pgtype.DriverBytes // decoded before the next row overwrites it
	err := s.forEachRow(ctx, selectPostures, scanIDs, []any{&id, &kept}, func() error { return ps.AddKept(id, kept) })
	if missing := ps.Missing(scanIDs); err == nil && len(missing) > 0 {
		var ordinal int
		var profile string
		var report, evaluation []byte
		err = s.forEachRow(ctx, selectEndpointDocs, missing, []any{&id, &ordinal, &profile, &report, &evaluation},
			func() error { return ps.AddDerived(id, ordinal, profile, report, evaluation) })
	}
	if err != nil {
		return nil, wrap(ctx, err, "list endpoint postures")
	}
	return ps.List(), nil
}

// forEachRow runs a query of scans and calls fn after scanning each row
// into dest.
func (s *Store) forEachRow(ctx context.Context, query string, scanIDs []int64, dest []any, fn func() error) error {
	res, err := s.pool.Query(ctx, query, scanIDs)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(res, dest, fn)
	return err
}
