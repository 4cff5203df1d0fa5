package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

const (
	eventColumnsSQL  = `id, target_id, coalesce(scan_id, 0), kind, regression, details, at`
	selectScanEvents = `SELECT ` + eventColumnsSQL + ` FROM events WHERE scan_id = $1 ORDER BY id`
	selectEvents     = `SELECT ` + eventColumnsSQL + ` FROM events
		WHERE at >= $1
		  AND ($2::bigint = 0 OR target_id = $2)
		  AND (cardinality($3::text[]) = 0 OR kind = ANY($3))
		  AND (NOT $4::boolean OR regression)
		  AND id > $5
		ORDER BY id LIMIT $6`
	// selectFindings lists the findings of each target's latest scan.
	selectFindings = `SELECT f.id, f.rule_id, f.title, f.severity, f.outcome, f.message, f.waived, f.waiver,
			t.id, t.host, t.port, t.kind, t.owner, t.tags, s.id, s.finished_at, e.address, e.hostname
		FROM targets t
		JOIN scans s ON s.id = t.latest_scan_id
		JOIN findings f ON f.scan_id = s.id
		JOIN endpoint_reports e ON e.scan_id = f.scan_id AND e.ordinal = f.endpoint_ordinal
		WHERE f.id > $1
		  AND (cardinality($2::smallint[]) = 0 OR f.severity = ANY($2))
		  AND f.severity >= $3
		  AND (cardinality($4::text[]) = 0 OR f.rule_id = ANY($4))
		  AND (cardinality($5::text[]) = 0 OR f.outcome = ANY($5))
		  AND ($6::text = '' OR t.owner = $6)
		  AND ($7::text = '' OR t.tags @> ARRAY[$7::text])
		  AND ($8::bigint = 0 OR t.id = $8)
		  AND ($9::boolean IS NULL OR f.waived = $9)
		ORDER BY f.id LIMIT $10`
)

// ListFindings returns the findings of each target's latest scan that match
// f.
func (s *Store) ListFindings(ctx context.Context, f store.FindingFilter) ([]store.EstateFinding, error) {
	sevs := make([]int16, len(f.Severities))
	for i, v := range f.Severities {
		sevs[i] = int16(v)
	}
	rows, err := s.pool.Query(ctx, selectFindings, f.AfterID, sevs, int16(f.MinSeverity), textArray(f.RuleIDs),
		textArray(f.Outcomes), f.Owner, f.Tag, f.TargetID, f.Waived, limit(f.Limit))
	if err != nil {
		return nil, wrap(ctx, err, "list findings")
	}
	fs, err := pgx.CollectRows(rows, scanEstateFinding)
	return fs, wrap(ctx, err, "list findings")
}

func scanEstateFinding(row pgx.CollectableRow) (store.EstateFinding, error) {
	var f store.EstateFinding
	var kind, outcome, address string
	var severity int16
	var waiver []byte
	err := row.Scan(&f.ID, &f.RuleID, &f.Title, &severity, &outcome, &f.Message, &f.Waived, &waiver,
		&f.TargetID, &f.Target.Host, &f.Target.Port, &kind, &f.Target.Owner, &f.Target.Tags,
		&f.ScanID, &f.ScanFinished, &address, &f.Endpoint.Host)
	if err != nil {
		return f, err
	}
	f.Severity, f.Outcome = tlswarden.Severity(severity), tlswarden.RuleOutcome(outcome)
	if f.Endpoint.Addr, err = netip.ParseAddrPort(address); err != nil {
		return f, fmt.Errorf("endpoint address of finding %d: %w", f.ID, err)
	}
	f.Target.Kind, f.ScanFinished = tlswarden.Kind(kind), f.ScanFinished.UTC()
	if waiver != nil {
		f.Waiver = new(tlswarden.Waiver)
		if err := json.Unmarshal(waiver, f.Waiver); err != nil {
			return f, fmt.Errorf("decode waiver of finding %d: %w", f.ID, err)
		}
	}
	return f, nil
}

// textArray makes a nil filter an empty array, which the queries read as
// "any".
func textArray[T ~string](s []T) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

// ListEvents returns the events that match f.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	evs, err := queryEvents(ctx, s.pool, selectEvents, store.Timestamp(f.Since), f.TargetID, textArray(f.Kinds),
		f.Regression, f.AfterID, limit(f.Limit))
	return evs, wrap(ctx, err, "list events")
}

func queryEvents(ctx context.Context, q querier, sql string, args ...any) ([]store.Event, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Event, error) {
		var e store.Event
		var kind string
		var at time.Time
		err := row.Scan(&e.ID, &e.TargetID, &e.ScanID, &kind, &e.Regression, &e.Details, &at)
		e.Kind, e.At = store.EventKind(kind), at.UTC()
		return e, err
	})
}
