package postgres

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

const (
	endpointSummaryColumns = `e.scan_id, s.finished_at, t.id, t.host, t.port, t.kind, t.owner, t.tags,
		e.address, e.hostname, e.status, e.min_version, e.max_version, e.grade, e.compliance, e.profile`
	endpointFilters = `
		AND ($2::bigint = 0 OR t.id = $2)
		AND ($3::text = '' OR t.owner = $3)
		AND ($4::text = '' OR t.tags @> ARRAY[$4::text])
		AND (cardinality($5::text[]) = 0 OR e.status = ANY($5))
		AND (cardinality($6::text[]) = 0 OR e.compliance = ANY($6))
		AND (cardinality($7::text[]) = 0 OR e.grade = ANY($7))
		AND ($8::integer = 0 OR e.min_version < $8)
		ORDER BY t.host, t.port, e.scan_id, e.ordinal LIMIT $9`
	// selectLatestEndpoints starts from the targets, so it reads only their
	// latest scans whatever the history holds; $1 is 0.
	selectLatestEndpoints = `SELECT ` + endpointSummaryColumns + ` FROM targets t
		JOIN scans s ON s.id = t.latest_scan_id
		JOIN endpoint_reports e ON e.scan_id = s.id
		WHERE $1::bigint = 0` + endpointFilters
	selectScanEndpoints = `SELECT ` + endpointSummaryColumns + ` FROM scans s
		JOIN targets t ON t.id = s.target_id
		JOIN endpoint_reports e ON e.scan_id = s.id
		WHERE s.id = $1` + endpointFilters
	selectScansEndpoints = `SELECT ` + endpointSummaryColumns + ` FROM scans s
		JOIN targets t ON t.id = s.target_id
		JOIN endpoint_reports e ON e.scan_id = s.id
		WHERE s.id = ANY($1::bigint[])` + endpointFilters
)

// ListEndpoints returns the endpoints that match f.
func (s *Store) ListEndpoints(ctx context.Context, f store.EndpointFilter) ([]store.EndpointSummary, error) {
	var scans any = f.ScanID
	query := selectLatestEndpoints
	switch {
	case f.ScanID != 0:
		query = selectScanEndpoints
	case f.ScanIDs != nil:
		query, scans = selectScansEndpoints, f.ScanIDs
	}
	rows, err := s.pool.Query(ctx, query, scans, f.TargetID, f.Owner, f.Tag, textArray(f.Statuses),
		textArray(f.Compliances), textArray(f.Grades), int32(f.AcceptsBelow), limit(f.Limit))
	if err != nil {
		return nil, wrap(ctx, err, "list endpoints")
	}
	eps, err := pgx.CollectRows(rows, scanEndpointSummary)
	return eps, wrap(ctx, err, "list endpoints")
}

func scanEndpointSummary(row pgx.CollectableRow) (store.EndpointSummary, error) {
	var e store.EndpointSummary
	var finished time.Time
	var kind, address, status, compliance string
	var lo, hi *int32
	err := row.Scan(&e.ScanID, &finished, &e.TargetID, &e.Target.Host, &e.Target.Port, &kind, &e.Target.Owner,
		&e.Target.Tags, &address, &e.Endpoint.Host, &status, &lo, &hi, &e.Grade, &compliance, &e.Profile)
	if err != nil {
		return e, err
	}
	e.ScanFinished, e.Target.Kind, e.Status = finished.UTC(), tlswarden.Kind(kind), tlswarden.Status(status)
	e.MinVersion, e.MaxVersion, e.Compliance = fromVersion(lo), fromVersion(hi), tlswarden.Compliance(compliance)
	if e.Endpoint.Addr, err = netip.ParseAddrPort(address); err != nil {
		return e, fmt.Errorf("endpoint address of scan %d: %w", e.ScanID, err)
	}
	return e, nil
}

func fromVersion(v *int32) tlswarden.Version {
	if v == nil {
		return 0
	}
	return tlswarden.Version(*v)
}
