package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

const (
	endpointSummaryColumns = `e.scan_id, s.finished_at, t.id, t.host, t.port, t.kind, t.owner, t.tags,
		e.address, e.hostname, e.status, e.min_version, e.max_version, e.grade, e.compliance, e.profile`
	// endpointFilters take their lists as JSON arrays, '[]' meaning any.
	endpointFilters = `
		AND (?2 = 0 OR t.id = ?2)
		AND (?3 = '' OR t.owner = ?3)
		AND (?4 = '' OR EXISTS (SELECT 1 FROM json_each(t.tags) WHERE value = ?4))
		AND (?5 = '[]' OR e.status IN (SELECT value FROM json_each(?5)))
		AND (?6 = '[]' OR e.compliance IN (SELECT value FROM json_each(?6)))
		AND (?7 = '[]' OR e.grade IN (SELECT value FROM json_each(?7)))
		AND (?8 = 0 OR e.min_version < ?8)
		ORDER BY t.host, t.port, e.scan_id, e.ordinal LIMIT ?9`
	// selectLatestEndpoints starts from the targets, so it reads only their
	// latest scans whatever the history holds; ?1 is 0.
	selectLatestEndpoints = `SELECT ` + endpointSummaryColumns + ` FROM targets t
		JOIN scans s ON s.id = t.latest_scan_id
		JOIN endpoint_reports e ON e.scan_id = s.id
		WHERE ?1 = 0` + endpointFilters
	selectScanEndpoints = `SELECT ` + endpointSummaryColumns + ` FROM scans s
		JOIN targets t ON t.id = s.target_id
		JOIN endpoint_reports e ON e.scan_id = s.id
		WHERE s.id = ?1` + endpointFilters
	// selectScansEndpoints takes the scans' ids as a JSON array in ?1.
	selectScansEndpoints = `SELECT ` + endpointSummaryColumns + ` FROM scans s
		JOIN targets t ON t.id = s.target_id
		JOIN endpoint_reports e ON e.scan_id = s.id
		WHERE s.id IN (SELECT value FROM json_each(?1))` + endpointFilters
)

// ListEndpoints returns the endpoints that match f.
func (s *Store) ListEndpoints(ctx context.Context, f store.EndpointFilter) ([]store.EndpointSummary, error) {
	var scans any = f.ScanID
	query := selectLatestEndpoints
	switch {
	case f.ScanID != 0:
		query = selectScanEndpoints
	case f.ScanIDs != nil:
		query, scans = selectScansEndpoints, jsonList(f.ScanIDs)
	}
	rows, err := s.r.QueryContext(ctx, query, scans, f.TargetID, f.Owner, f.Tag, jsonList(f.Statuses),
		jsonList(f.Compliances), jsonList(f.Grades), int64(f.AcceptsBelow), limit(f.Limit))
	eps, err := collect(rows, err, scanEndpointSummary)
	return eps, wrap(ctx, err, "list endpoints")
}

func scanEndpointSummary(row rowScanner) (store.EndpointSummary, error) {
	var e store.EndpointSummary
	var finished int64
	var kind, tags, address, status, compliance string
	var lo, hi sql.NullInt64
	err := row.Scan(&e.ScanID, &finished, &e.TargetID, &e.Target.Host, &e.Target.Port, &kind, &e.Target.Owner,
		&tags, &address, &e.Endpoint.Host, &status, &lo, &hi, &e.Grade, &compliance, &e.Profile)
	if err != nil {
		return e, err
	}
	e.ScanFinished, e.Target.Kind, e.Status = fromMicros(finished), tlswarden.Kind(kind), tlswarden.Status(status)
	e.MinVersion, e.MaxVersion = tlswarden.Version(lo.Int64), tlswarden.Version(hi.Int64)
	e.Compliance = tlswarden.Compliance(compliance)
	e.Target.Tags = []string{}
	if err := json.Unmarshal([]byte(tags), &e.Target.Tags); err != nil {
		return e, fmt.Errorf("decode tags of target %d: %w", e.TargetID, err)
	}
	if e.Endpoint.Addr, err = netip.ParseAddrPort(address); err != nil {
		return e, fmt.Errorf("endpoint address of scan %d: %w", e.ScanID, err)
	}
	return e, nil
}
