package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/store/internal/rows"
)

const scanColumns = `s.id, s.target_id, s.trigger, s.requested_by, s.started_at, s.finished_at, s.status, s.error,
	s.profile, s.compliance`

const (
	insertScan = `INSERT INTO scans (target_id, trigger, requested_by, started_at, status)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`
	selectScan = `SELECT ` + scanColumns + ` FROM scans s WHERE s.id = $1`
	// selectScans and selectTargetScans are apart because a filter that may
	// be off (($1 = 0 OR target_id = $1)) cannot use the target's index
	// in a generic plan: every scan of the estate was read to list one
	// target's.
	selectScans       = `SELECT ` + scanColumns + ` FROM scans s ORDER BY s.started_at DESC, s.id DESC LIMIT $1`
	selectTargetScans = `SELECT ` + scanColumns + ` FROM scans s WHERE s.target_id = $1 ORDER BY s.started_at DESC, s.id DESC LIMIT $2`
	selectLatest      = `SELECT ` + scanColumns + ` FROM targets t JOIN scans s ON s.id = t.latest_scan_id WHERE t.id = $1`
	// selectPrevious finds the finished scan of the same target that
	// started last before scan $1, ties broken by ID.
	selectPrevious = `SELECT ` + scanColumns + ` FROM scans c JOIN scans s ON s.target_id = c.target_id
		WHERE c.id = $1 AND s.finished_at IS NOT NULL AND (s.started_at, s.id) < (c.started_at, c.id)
		ORDER BY s.started_at DESC, s.id DESC LIMIT 1`
	// lockScanTarget locks the scan's target row, so that concurrent
	// finishes of one target's scans agree on which is latest, and returns
	// when the target's latest scan started. NO KEY UPDATE lets scans of
	// the target be created meanwhile.
	lockScanTarget = `SELECT t.id, l.started_at, l.id, g.started_at, g.id FROM scans s
		JOIN targets t ON t.id = s.target_id
		LEFT JOIN scans l ON l.id = t.latest_scan_id
		LEFT JOIN scans g ON g.id = t.last_success_scan_id
		WHERE s.id = $1 FOR NO KEY UPDATE OF t`
	finishScan = `UPDATE scans SET finished_at = $2, status = $3, error = $4, profile = $5, compliance = $6,
		report = $7, evaluation = $8
		WHERE id = $1 AND finished_at IS NULL RETURNING started_at`
	insertPostures        = `INSERT INTO scan_postures (scan_id, endpoints) VALUES ($1, $2)`
	setLatest             = `UPDATE targets SET latest_scan_id = $2 WHERE id = $1`
	setLastSuccess        = `UPDATE targets SET last_success_scan_id = $2 WHERE id = $1`
	pruneScans            = `DELETE FROM scans s WHERE s.started_at < $1 AND NOT EXISTS (SELECT 1 FROM targets t WHERE t.latest_scan_id = s.id)`
	selectEndpointReports = `SELECT report, evaluation FROM endpoint_reports WHERE scan_id = $1 ORDER BY ordinal`
	selectScanResult      = `SELECT finished_at IS NULL, report, evaluation FROM scans WHERE id = $1`
)

func scanScan(row pgx.CollectableRow) (store.Scan, error) {
	var sc store.Scan
	var finished *time.Time
	var trigger, status, compliance string
	err := row.Scan(&sc.ID, &sc.TargetID, &trigger, &sc.RequestedBy, &sc.Started, &finished, &status, &sc.Error,
		&sc.Profile, &compliance)
	sc.Trigger, sc.Status, sc.Compliance = store.Trigger(trigger), tlswarden.Status(status), tlswarden.Compliance(compliance)
	sc.Started = sc.Started.UTC()
	if finished != nil {
		sc.Finished = finished.UTC()
	}
	return sc, err
}

func (s *Store) queryScan(ctx context.Context, sql string, args ...any) (store.Scan, error) {
	res, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return store.Scan{}, err
	}
	return pgx.CollectExactlyOneRow(res, scanScan)
}

// CreateScan records the start of a scan.
func (s *Store) CreateScan(ctx context.Context, sc store.Scan) (store.Scan, error) {
	sc, err := sc.Normalize(s.now())
	if err != nil {
		return store.Scan{}, fmt.Errorf("create scan: %w", err)
	}
	err = s.pool.QueryRow(ctx, insertScan, sc.TargetID, string(sc.Trigger), sc.RequestedBy, sc.Started, string(sc.Status)).Scan(&sc.ID)
	return sc, wrap(ctx, err, "create scan of target %d", sc.TargetID)
}

// GetScan returns one scan.
func (s *Store) GetScan(ctx context.Context, id int64) (store.Scan, error) {
	sc, err := s.queryScan(ctx, selectScan, id)
	return sc, wrap(ctx, err, "get scan %d", id)
}

// ListScans returns scans, most recently started first.
func (s *Store) ListScans(ctx context.Context, f store.ScanFilter) ([]store.Scan, error) {
	var (
		res pgx.Rows
		err error
	)
	if f.TargetID != 0 {
		res, err = s.pool.Query(ctx, selectTargetScans, f.TargetID, limit(f.Limit))
	} else {
		res, err = s.pool.Query(ctx, selectScans, limit(f.Limit))
	}
	if err != nil {
		return nil, wrap(ctx, err, "list scans")
	}
	scans, err := pgx.CollectRows(res, scanScan)
	return scans, wrap(ctx, err, "list scans")
}

// limit turns "0 means no limit" into SQL's LIMIT NULL.
func limit(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// LatestScan returns the target's latest finished scan.
func (s *Store) LatestScan(ctx context.Context, targetID int64) (store.Scan, error) {
	sc, err := s.queryScan(ctx, selectLatest, targetID)
	return sc, wrap(ctx, err, "latest scan of target %d", targetID)
}

// PreviousScan returns the finished scan to compare scan scanID with.
func (s *Store) PreviousScan(ctx context.Context, scanID int64) (store.Scan, error) {
	sc, err := s.queryScan(ctx, selectPrevious, scanID)
	return sc, wrap(ctx, err, "scan before scan %d", scanID)
}

// PruneScans deletes old scans, keeping each target's latest.
func (s *Store) PruneScans(ctx context.Context, cutoff time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, pruneScans, store.Timestamp(cutoff))
	return tag.RowsAffected(), wrap(ctx, err, "prune scans started before %s", cutoff.Format(time.RFC3339))
}

// FinishScan records how a scan ended, in one transaction: the scan row
// and its postures, then its endpoint reports, findings and events by COPY,
// then the target's latest scan.
func (s *Store) FinishScan(ctx context.Context, scanID int64, r store.ScanResult) error {
	return s.FinishScanTx(ctx, scanID, r, nil)
}

// FinishScanTx is FinishScan with fn, when not nil, called in its
// transaction before the commit: the queue completes the scan's job there.
func (s *Store) FinishScanTx(ctx context.Context, scanID int64, r store.ScanResult, fn func(context.Context, pgx.Tx) error) error {
	r, err := r.Normalize()
	if err != nil {
		return fmt.Errorf("finish scan %d: %w", scanID, err)
	}
	sc, eps, fs, err := rows.Split(r)
	if err != nil {
		return fmt.Errorf("finish scan %d: %w", scanID, err)
	}
	var fnErr error
	err = s.inTx(ctx, func(tx pgx.Tx) error {
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
func finishInTx(ctx context.Context, tx pgx.Tx, scanID int64, evs []store.Event, sc rows.Scan, eps []rows.Endpoint, fs []rows.Finding) error {
	targetID, newer, err := markFinished(ctx, tx, scanID, sc, rows.Succeeded(sc, eps))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, insertPostures, scanID, sc.Postures); err != nil {
		return fmt.Errorf("store postures: %w", err)
	}
	if err := copyRows(ctx, tx, scanID, eps, fs, eventRows(targetID, scanID, evs)); err != nil {
		return err
	}
	if newer.latest {
		if _, err := tx.Exec(ctx, setLatest, targetID, scanID); err != nil {
			return err
		}
	}
	if newer.success {
		if _, err := tx.Exec(ctx, setLastSuccess, targetID, scanID); err != nil {
			return err
		}
	}
	return nil
}

// newer says which of its target's pointers a finished scan takes over.
type newer struct{ latest, success bool }

// markFinished locks the scan's target, sets the scan's outcome, and says
// whether the scan becomes the target's latest (whether it started after
// the current latest) and, when succeeded, its last success (likewise). A
// scan already finished is a conflict.
func markFinished(ctx context.Context, tx pgx.Tx, scanID int64, sc rows.Scan, succeeded bool) (targetID int64, n newer, err error) {
	var latestStarted, successStarted *time.Time
	var latestID, successID *int64
	if err := tx.QueryRow(ctx, lockScanTarget, scanID).Scan(&targetID, &latestStarted, &latestID, &successStarted, &successID); err != nil {
		return 0, n, err
	}
	var started time.Time
	err = tx.QueryRow(ctx, finishScan, scanID, sc.Finished, string(sc.Status), sc.Error, sc.Profile,
		string(sc.Compliance), sc.Report, sc.Evaluation).Scan(&started)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, n, fmt.Errorf("%w: scan %d has already finished", store.ErrConflict, scanID)
	}
	after := func(t *time.Time, id *int64) bool {
		return t == nil || started.After(*t) || started.Equal(*t) && scanID > *id
	}
	n = newer{latest: after(latestStarted, latestID), success: succeeded && after(successStarted, successID)}
	return targetID, n, err
}

func copyRows(ctx context.Context, tx pgx.Tx, scanID int64, eps []rows.Endpoint, fs []rows.Finding, evs [][]any) error {
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"endpoint_reports"}, endpointColumns, endpointSource(scanID, eps)); err != nil {
		return fmt.Errorf("store endpoint reports: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"findings"}, findingColumns, findingSource(scanID, fs)); err != nil {
		return fmt.Errorf("store findings: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, pgx.CopyFromRows(evs)); err != nil {
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

func endpointSource(scanID int64, eps []rows.Endpoint) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(eps), func(i int) ([]any, error) {
		e := &eps[i]
		return []any{scanID, int32(e.Ordinal), e.Address, e.Hostname, string(e.Status), version(e.MinVersion),
			version(e.MaxVersion), e.Grade, string(e.Compliance), e.Profile, e.Report, e.Evaluation}, nil
	})
}

func findingSource(scanID int64, fs []rows.Finding) pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(fs), func(i int) ([]any, error) {
		f := &fs[i]
		return []any{scanID, int32(f.Ordinal), f.RuleID, f.Title, int16(f.Severity), string(f.Outcome), f.Message,
			f.Waived, f.Waiver}, nil
	})
}

// version stores 0 (none) as NULL.
func version(v tlswarden.Version) *int32 {
	if v == 0 {
		return nil
	}
	n := int32(v)
	return &n
}

func eventRows(targetID, scanID int64, evs []store.Event) [][]any {
	out := make([][]any, len(evs))
	for i, e := range evs {
		out[i] = []any{targetID, scanID, string(e.Kind), e.Regression, json.RawMessage(e.Details), e.At}
	}
	return out
}

// GetScanResult returns what FinishScan stored for a scan.
func (s *Store) GetScanResult(ctx context.Context, scanID int64) (store.ScanResult, error) {
	var r store.ScanResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var running bool
		var report, evaluation []byte
		if err := tx.QueryRow(ctx, selectScanResult, scanID).Scan(&running, &report, &evaluation); err != nil {
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

func readEndpoints(ctx context.Context, tx pgx.Tx, scanID int64, report, evaluation []byte) (store.ScanResult, error) {
	var reps, evals [][]byte
	var rep, eval []byte
	res, err := tx.Query(ctx, selectEndpointReports, scanID)
	if err != nil {
		return store.ScanResult{}, err
	}
	_, err = pgx.ForEachRow(res, []any{&rep, &eval}, func() error {
		reps, evals = append(reps, rep), append(evals, eval)
		return nil
	})
	if err != nil {
		return store.ScanResult{}, err
	}
	return rows.Join(report, evaluation, reps, evals)
}

const selectEndpointReport = `SELECT report, evaluation FROM endpoint_reports WHERE scan_id = $1 AND ordinal = $2`

// GetEndpointReport implements store.EndpointReportStore.
func (s *Store) GetEndpointReport(ctx context.Context, scanID int64, ordinal int) (tlswarden.EndpointReport, *tlswarden.EndpointEvaluation, error) {
	var report, evaluation []byte
	err := s.pool.QueryRow(ctx, selectEndpointReport, scanID, ordinal).Scan(&report, &evaluation)
	if err != nil {
		return tlswarden.EndpointReport{}, nil, wrap(ctx, err, "get endpoint %d of scan %d", ordinal, scanID)
	}
	return rows.EndpointReport(report, evaluation)
}
