package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/internal/rows"
)

const scanColumns = `s.id, s.target_id, s.trigger, s.requested_by, s.started_at, s.finished_at, s.status, s.error,
	s.profile, s.compliance`

const (
	insertScan = `INSERT INTO scans (target_id, trigger, requested_by, started_at, status)
		VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id`
	selectScan = `SELECT ` + scanColumns + ` FROM scans s WHERE s.id = ?1`
	// selectScans and selectTargetScans are apart because a filter that may
	// be off ((?1 = 0 OR target_id = ?1)) cannot use the target's index:
	// every scan of the estate was read to list one target's.
	selectScans       = `SELECT ` + scanColumns + ` FROM scans s ORDER BY s.started_at DESC, s.id DESC LIMIT ?1`
	selectTargetScans = `SELECT ` + scanColumns + ` FROM scans s WHERE s.target_id = ?1 ORDER BY s.started_at DESC, s.id DESC LIMIT ?2`
	selectLatest      = `SELECT ` + scanColumns + ` FROM targets t JOIN scans s ON s.id = t.latest_scan_id WHERE t.id = ?1`
	// selectPrevious finds the finished scan of the same target that
	// started last before scan ?1, ties broken by ID.
	selectPrevious = `SELECT ` + scanColumns + ` FROM scans c JOIN scans s ON s.target_id = c.target_id
		WHERE c.id = ?1 AND s.finished_at IS NOT NULL AND (s.started_at, s.id) < (c.started_at, c.id)
		ORDER BY s.started_at DESC, s.id DESC LIMIT 1`
	// selectScanTarget returns the scan's target and when the target's
	// latest scan started.
	selectScanTarget = `SELECT t.id, l.started_at, l.id, g.started_at, g.id FROM scans s
		JOIN targets t ON t.id = s.target_id
		LEFT JOIN scans l ON l.id = t.latest_scan_id
		LEFT JOIN scans g ON g.id = t.last_success_scan_id
		WHERE s.id = ?1`
	finishScan = `UPDATE scans SET finished_at = ?2, status = ?3, error = ?4, profile = ?5, compliance = ?6,
		report = ?7, evaluation = ?8
		WHERE id = ?1 AND finished_at IS NULL RETURNING started_at`
	insertPostures        = `INSERT INTO scan_postures (scan_id, endpoints) VALUES (?1, ?2)`
	setLatest             = `UPDATE targets SET latest_scan_id = ?2 WHERE id = ?1`
	setLastSuccess        = `UPDATE targets SET last_success_scan_id = ?2 WHERE id = ?1`
	pruneScans            = `DELETE FROM scans WHERE started_at < ?1 AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.latest_scan_id = scans.id)`
	selectEndpointReports = `SELECT report, evaluation FROM endpoint_reports WHERE scan_id = ?1 ORDER BY ordinal`
	selectScanResult      = `SELECT finished_at IS NULL, report, evaluation FROM scans WHERE id = ?1`
)

func scanScan(row rowScanner) (store.Scan, error) {
	var sc store.Scan
	var started int64
	var finished sql.NullInt64
	var trigger, status, compliance string
	if err := row.Scan(&sc.ID, &sc.TargetID, &trigger, &sc.RequestedBy, &started, &finished, &status, &sc.Error,
		&sc.Profile, &compliance); err != nil {
		return sc, err
	}
	sc.Trigger, sc.Status, sc.Started = store.Trigger(trigger), tlswarden.Status(status), fromMicros(started)
	sc.Compliance = tlswarden.Compliance(compliance)
	if finished.Valid {
		sc.Finished = fromMicros(finished.Int64)
	}
	return sc, nil
}

// CreateScan records the start of a scan.
func (s *Store) CreateScan(ctx context.Context, sc store.Scan) (store.Scan, error) {
	sc, err := sc.Normalize(s.now())
	if err != nil {
		return store.Scan{}, fmt.Errorf("create scan: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, insertScan, sc.TargetID, string(sc.Trigger), sc.RequestedBy,
			micros(sc.Started), string(sc.Status)).Scan(&sc.ID)
	})
	return sc, wrap(ctx, err, "create scan of target %d", sc.TargetID)
}

// GetScan returns one scan.
func (s *Store) GetScan(ctx context.Context, id int64) (store.Scan, error) {
	sc, err := scanScan(s.r.QueryRowContext(ctx, selectScan, id))
	return sc, wrap(ctx, err, "get scan %d", id)
}

// ListScans returns scans, most recently started first.
func (s *Store) ListScans(ctx context.Context, f store.ScanFilter) ([]store.Scan, error) {
	query, args := selectScans, []any{limit(f.Limit)}
	if f.TargetID != 0 {
		query, args = selectTargetScans, []any{f.TargetID, limit(f.Limit)}
	}
	res, err := s.r.QueryContext(ctx, query, args...)
	scans, err := collect(res, err, scanScan)
	return scans, wrap(ctx, err, "list scans")
}

// LatestScan returns the target's latest finished scan.
func (s *Store) LatestScan(ctx context.Context, targetID int64) (store.Scan, error) {
	sc, err := scanScan(s.r.QueryRowContext(ctx, selectLatest, targetID))
	return sc, wrap(ctx, err, "latest scan of target %d", targetID)
}

// PreviousScan returns the finished scan to compare scan scanID with.
func (s *Store) PreviousScan(ctx context.Context, scanID int64) (store.Scan, error) {
	sc, err := scanScan(s.r.QueryRowContext(ctx, selectPrevious, scanID))
	return sc, wrap(ctx, err, "scan before scan %d", scanID)
}

// PruneScans deletes old scans, keeping each target's latest.
func (s *Store) PruneScans(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, pruneScans, micros(store.Timestamp(cutoff)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, wrap(ctx, err, "prune scans started before %s", cutoff.Format(time.RFC3339))
}

// FinishScan records how a scan ended, in one write transaction: the scan
// row and its postures, then its endpoint reports, findings and events by
// multi-row inserts, then the target's latest scan.
func (s *Store) FinishScan(ctx context.Context, scanID int64, r store.ScanResult) error {
	return s.FinishScanTx(ctx, scanID, r, nil)
}

// FinishScanTx is FinishScan with fn, when not nil, called in its write
// transaction before the commit: the queue, whose tables share the
// store's file and writer connection (see DB), completes the scan's job
// there.
func (s *Store) FinishScanTx(ctx context.Context, scanID int64, r store.ScanResult, fn func(context.Context, *sql.Tx) error) error {
	r, err := r.Normalize()
	if err != nil {
		return fmt.Errorf("finish scan %d: %w", scanID, err)
	}
	sc, eps, fs, err := rows.Split(r)
	if err != nil {
		return fmt.Errorf("finish scan %d: %w", scanID, err)
	}
	var fnErr error
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := finishInTx(ctx, tx, scanID, r.Events, sc, eps, fs); err != nil || fn == nil {
			return err
		}
		fnErr = fn(ctx, tx)
		return fnErr
	})
	if fnErr != nil {
		// fn's error is its own: not the store's to map.
		return fmt.Errorf("finish scan %d: %w", scanID, err)
	}
	return wrap(ctx, err, "finish scan %d", scanID)
}

// finishInTx writes FinishScan's rows in tx.
func finishInTx(ctx context.Context, tx *sql.Tx, scanID int64, evs []store.Event, sc rows.Scan, eps []rows.Endpoint, fs []rows.Finding) error {
	targetID, newer, err := markFinished(ctx, tx, scanID, sc, rows.Succeeded(sc, eps))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, insertPostures, scanID, sc.Postures); err != nil {
		return fmt.Errorf("store postures: %w", err)
	}
	if err := insertAll(ctx, tx, scanID, eps, fs, eventRows(targetID, scanID, evs)); err != nil {
		return err
	}
	if newer.latest {
		if _, err := tx.ExecContext(ctx, setLatest, targetID, scanID); err != nil {
			return err
		}
	}
	if newer.success {
		if _, err := tx.ExecContext(ctx, setLastSuccess, targetID, scanID); err != nil {
			return err
		}
	}
	return nil
}

// newer says which of its target's pointers a finished scan takes over.
type newer struct{ latest, success bool }

// markFinished sets the scan's outcome and says whether the scan becomes
// its target's latest (whether it started after the current latest) and,
// when succeeded, its last success (likewise). A scan already finished is
// a conflict.
func markFinished(ctx context.Context, tx *sql.Tx, scanID int64, sc rows.Scan, succeeded bool) (targetID int64, n newer, err error) {
	var latestStarted, latestID, successStarted, successID sql.NullInt64
	if err := tx.QueryRowContext(ctx, selectScanTarget, scanID).Scan(&targetID, &latestStarted, &latestID, &successStarted, &successID); err != nil {
		return 0, n, err
	}
	var started int64
	err = tx.QueryRowContext(ctx, finishScan, scanID, micros(sc.Finished), string(sc.Status), sc.Error, sc.Profile,
		string(sc.Compliance), text(sc.Report), text(sc.Evaluation)).Scan(&started)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, n, fmt.Errorf("%w: scan %d has already finished", store.ErrConflict, scanID)
	}
	after := func(t, id sql.NullInt64) bool {
		return !t.Valid || started > t.Int64 || started == t.Int64 && scanID > id.Int64
	}
	n = newer{latest: after(latestStarted, latestID), success: succeeded && after(successStarted, successID)}
	return targetID, n, err
}

// text binds JSON to a TEXT column (a []byte would be a BLOB, which a
// STRICT table refuses); nil is NULL.
func text(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func insertAll(ctx context.Context, tx *sql.Tx, scanID int64, eps []rows.Endpoint, fs []rows.Finding, evs [][]any) error {
	if err := insertRows(ctx, tx, "endpoint_reports", endpointColumns, endpointRows(scanID, eps)); err != nil {
		return fmt.Errorf("store endpoint reports: %w", err)
	}
	if err := insertRows(ctx, tx, "findings", findingColumns, findingRows(scanID, fs)); err != nil {
		return fmt.Errorf("store findings: %w", err)
	}
	if err := insertRows(ctx, tx, "events", eventColumns, evs); err != nil {
		return fmt.Errorf("store events: %w", err)
	}
	return nil
}

var (
	endpointColumns = []string{"scan_id", "ordinal", "address", "hostname", "status", "min_version", "max_version",
		"grade", "compliance", "profile", "report", "evaluation"}
	findingColumns = []string{"scan_id", "endpoint_ordinal", "rule_id", "title", "severity", "outcome", "message", "waived", "waiver"}
	eventColumns   = []string{"target_id", "scan_id", "kind", "regression", "details", "at"}
)

func endpointRows(scanID int64, eps []rows.Endpoint) [][]any {
	out := make([][]any, len(eps))
	for i, e := range eps {
		out[i] = []any{scanID, e.Ordinal, e.Address, e.Hostname, string(e.Status), version(e.MinVersion),
			version(e.MaxVersion), e.Grade, string(e.Compliance), e.Profile, text(e.Report), text(e.Evaluation)}
	}
	return out
}

func findingRows(scanID int64, fs []rows.Finding) [][]any {
	out := make([][]any, len(fs))
	for i, f := range fs {
		out[i] = []any{scanID, f.Ordinal, f.RuleID, f.Title, int64(f.Severity), string(f.Outcome), f.Message,
			f.Waived, text(f.Waiver)}
	}
	return out
}

// version stores 0 (none) as NULL.
func version(v tlswarden.Version) any {
	if v == 0 {
		return nil
	}
	return int64(v)
}

func eventRows(targetID, scanID int64, evs []store.Event) [][]any {
	out := make([][]any, len(evs))
	for i, e := range evs {
		out[i] = []any{targetID, scanID, string(e.Kind), e.Regression, string(e.Details), micros(e.At)}
	}
	return out
}

// GetScanResult returns what FinishScan stored for a scan.
func (s *Store) GetScanResult(ctx context.Context, scanID int64) (store.ScanResult, error) {
	var r store.ScanResult
	err := s.read(ctx, func(tx *sql.Tx) error {
		var running bool
		var report, evaluation []byte
		if err := tx.QueryRowContext(ctx, selectScanResult, scanID).Scan(&running, &report, &evaluation); err != nil {
			return err
		}
		if running {
			r.Report.Status = store.StatusRunning
			return nil
		}
		var err error
		if r, err = readEndpoints(ctx, tx, scanID, report, evaluation); err != nil {
			return err
		}
		r.Events, err = queryEvents(ctx, tx, selectScanEvents, scanID)
		return err
	})
	return r, wrap(ctx, err, "get result of scan %d", scanID)
}

func readEndpoints(ctx context.Context, tx *sql.Tx, scanID int64, report, evaluation []byte) (store.ScanResult, error) {
	res, err := tx.QueryContext(ctx, selectEndpointReports, scanID)
	if err != nil {
		return store.ScanResult{}, err
	}
	defer res.Close()
	var reps, evals [][]byte
	for res.Next() {
		var rep, eval []byte
		if err := res.Scan(&rep, &eval); err != nil {
			return store.ScanResult{}, err
		}
		reps, evals = append(reps, rep), append(evals, eval)
	}
	if err := res.Err(); err != nil {
		return store.ScanResult{}, err
	}
	return rows.Join(report, evaluation, reps, evals)
}

const selectEndpointReport = `SELECT report, evaluation FROM endpoint_reports WHERE scan_id = ?1 AND ordinal = ?2`

// GetEndpointReport implements store.EndpointReportStore.
func (s *Store) GetEndpointReport(ctx context.Context, scanID int64, ordinal int) (tlswarden.EndpointReport, *tlswarden.EndpointEvaluation, error) {
	var report, evaluation []byte
	err := s.r.QueryRowContext(ctx, selectEndpointReport, scanID, ordinal).Scan(&report, &evaluation)
	if err != nil {
		return tlswarden.EndpointReport{}, nil, wrap(ctx, err, "get endpoint %d of scan %d", ordinal, scanID)
	}
	return rows.EndpointReport(report, evaluation)
}
