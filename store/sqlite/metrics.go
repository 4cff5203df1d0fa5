package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"

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
		WHERE p.scan_id IN (SELECT value FROM json_each(?1))
		ORDER BY p.scan_id`
	// selectEndpointDocs reads the documents of scans finished before
	// postures were kept.
	selectEndpointDocs = `SELECT e.scan_id, e.ordinal, e.profile, e.report, e.evaluation
		FROM endpoint_reports e
		WHERE e.scan_id IN (SELECT value FROM json_each(?1))
		ORDER BY e.scan_id, e.ordinal`
)

// ListScanStates returns every target with its latest and latest
// successful scans.
func (s *Store) ListScanStates(ctx context.Context) ([]store.ScanState, error) {
	// A state is some 500 bytes: sized from a count, the slice is made
	// once rather than grown, and copied, a dozen times.
	var n int
	if err := s.r.QueryRowContext(ctx, countTargets).Scan(&n); err != nil {
		return nil, wrap(ctx, err, "list scan states")
	}
	rows, err := s.r.QueryContext(ctx, selectScanStates)
	states, err := collectInto(make([]store.ScanState, 0, n), rows, err, scanScanState)
	return states, wrap(ctx, err, "list scan states")
}

// nullScan holds a LEFT JOINed scan's columns.
type nullScan struct {
	id, started, finished             sql.NullInt64
	trigger, status, msg, prof, compl sql.NullString
}

func (n *nullScan) dest() []any {
	return []any{&n.id, &n.trigger, &n.started, &n.finished, &n.status, &n.msg, &n.prof, &n.compl}
}

func (n *nullScan) scan(targetID int64) store.Scan {
	if !n.id.Valid {
		return store.Scan{}
	}
	sc := store.Scan{ID: n.id.Int64, TargetID: targetID, Trigger: store.Trigger(n.trigger.String),
		Started: fromMicros(n.started.Int64), Status: tlswarden.Status(n.status.String), Error: n.msg.String,
		Profile: n.prof.String, Compliance: tlswarden.Compliance(n.compl.String)}
	if n.finished.Valid {
		sc.Finished = fromMicros(n.finished.Int64)
	}
	return sc
}

func scanScanState(row rowScanner) (store.ScanState, error) {
	var st store.ScanState
	var kind, tags string
	var created, updated int64
	var latest, success nullScan
	var failure sql.NullString
	t := &st.Target
	dest := []any{&t.ID, &t.Host, &t.Port, &kind, &t.Owner, &tags, &t.Enabled, &t.Schedule,
		&t.LatestScanID, &created, &updated, &t.Intrusive}
	dest = append(append(append(dest, latest.dest()...), &failure), success.dest()...)
	if err := row.Scan(dest...); err != nil {
		return st, err
	}
	t.Kind, t.CreatedAt, t.UpdatedAt = tlswarden.Kind(kind), fromMicros(created), fromMicros(updated)
	t.Tags = []string{}
	if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil {
		return st, fmt.Errorf("decode tags of target %d: %w", t.ID, err)
	}
	st.Latest, st.LastSuccess = latest.scan(t.ID), success.scan(t.ID)
	st.LatestFailure = latestFailure(st.Latest, failure.String)
	return st, nil
}

// latestFailure says how the latest scan failed: its own status, or its
// first failed endpoint's.
func latestFailure(latest store.Scan, endpointStatus string) tlswarden.Status {
	switch {
	case latest.ID == 0:
		return ""
	case latest.Status != tlswarden.StatusOK:
		return latest.Status
	}
	return tlswarden.Status(endpointStatus)
}

// ListEndpointPostures returns the postures of the given scans'
// endpoints: those FinishScan kept, and for the other scans (finished
// before it kept them) those derived from their documents.
func (s *Store) ListEndpointPostures(ctx context.Context, scanIDs []int64) ([]store.EndpointPosture, error) {
	// The two reads need no common snapshot: a scan's postures and
	// documents are written together and never change.
	var ps rows.Postures
	err := s.keptPostures(ctx, &ps, scanIDs)
	if missing := ps.Missing(scanIDs); err == nil && len(missing) > 0 {
		err = s.derivedPostures(ctx, &ps, missing)
	}
	if err != nil {
		return nil, wrap(ctx, err, "list endpoint postures")
	}
	return ps.List(), nil
}

func (s *Store) keptPostures(ctx context.Context, ps *rows.Postures, scanIDs []int64) error {
	res, err := s.r.QueryContext(ctx, selectPostures, idList(scanIDs))
	if err != nil {
		return err
	}
	defer res.Close()
	var id int64
	var kept sql.RawBytes // decoded before the next row overwrites it
	for res.Next() {
		if err := res.Scan(&id, &kept); err != nil {
			return err
		}
		if err := ps.AddKept(id, kept); err != nil {
			return err
		}
	}
	return res.Err()
}

func (s *Store) derivedPostures(ctx context.Context, ps *rows.Postures, scanIDs []int64) error {
	res, err := s.r.QueryContext(ctx, selectEndpointDocs, idList(scanIDs))
	if err != nil {
		return err
	}
	defer res.Close()
	var scanID int64
	var ordinal int
	var profile string
	var report, evaluation sql.RawBytes
	for res.Next() {
		if err := res.Scan(&scanID, &ordinal, &profile, &report, &evaluation); err != nil {
			return err
		}
		if err := ps.AddDerived(scanID, ordinal, profile, report, evaluation); err != nil {
			return err
		}
	}
	return res.Err()
}

// idList binds IDs as the JSON array json_each reads.
func idList(ids []int64) string {
	if len(ids) == 0 {
		return "[]"
	}
	b := []byte{'['}
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
