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
	eventColumnsSQL  = `id, target_id, coalesce(scan_id, 0), kind, regression, details, at`
	selectScanEvents = `SELECT ` + eventColumnsSQL + ` FROM events WHERE scan_id = ?1 ORDER BY id`
	selectEvents     = `SELECT ` + eventColumnsSQL + ` FROM events
		WHERE at >= ?1
		  AND (?2 = 0 OR target_id = ?2)
		  AND (?3 = '[]' OR kind IN (SELECT value FROM json_each(?3)))
		  AND (NOT ?4 OR regression)
		  AND id > ?5
		ORDER BY id LIMIT ?6`
	// selectFindings lists the findings of each target's latest scan; the
	// list filters are JSON arrays, '[]' meaning any.
	selectFindings = `SELECT f.id, f.rule_id, f.title, f.severity, f.outcome, f.message, f.waived, f.waiver,
			t.id, t.host, t.port, t.kind, t.owner, t.tags, s.id, s.finished_at, e.address, e.hostname
		FROM targets t
		JOIN scans s ON s.id = t.latest_scan_id
		JOIN findings f ON f.scan_id = s.id
		JOIN endpoint_reports e ON e.scan_id = f.scan_id AND e.ordinal = f.endpoint_ordinal
		WHERE f.id > ?1
		  AND (?2 = '[]' OR f.severity IN (SELECT value FROM json_each(?2)))
		  AND f.severity >= ?3
		  AND (?4 = '[]' OR f.rule_id IN (SELECT value FROM json_each(?4)))
		  AND (?5 = '[]' OR f.outcome IN (SELECT value FROM json_each(?5)))
		  AND (?6 = '' OR t.owner = ?6)
		  AND (?7 = '' OR EXISTS (SELECT 1 FROM json_each(t.tags) WHERE value = ?7))
		  AND (?8 = 0 OR t.id = ?8)
		  AND (?9 IS NULL OR f.waived = ?9)
		ORDER BY f.id LIMIT ?10`
)

// ListFindings returns the findings of each target's latest scan that match
// f.
func (s *Store) ListFindings(ctx context.Context, f store.FindingFilter) ([]store.EstateFinding, error) {
	sevs := make([]int, len(f.Severities))
	for i, v := range f.Severities {
		sevs[i] = int(v)
	}
	rows, err := s.r.QueryContext(ctx, selectFindings, f.AfterID, jsonList(sevs), int(f.MinSeverity), jsonList(f.RuleIDs),
		jsonList(f.Outcomes), f.Owner, f.Tag, f.TargetID, f.Waived, limit(f.Limit))
	fs, err := collect(rows, err, scanEstateFinding)
	return fs, wrap(ctx, err, "list findings")
}

func scanEstateFinding(row rowScanner) (store.EstateFinding, error) {
	var f store.EstateFinding
	var kind, outcome, tags, address string
	var severity, finished int64
	var waiver sql.NullString
	err := row.Scan(&f.ID, &f.RuleID, &f.Title, &severity, &outcome, &f.Message, &f.Waived, &waiver,
		&f.TargetID, &f.Target.Host, &f.Target.Port, &kind, &f.Target.Owner, &tags,
		&f.ScanID, &finished, &address, &f.Endpoint.Host)
	if err != nil {
		return f, err
	}
	f.Severity, f.Outcome = tlswarden.Severity(severity), tlswarden.RuleOutcome(outcome)
	if f.Endpoint.Addr, err = netip.ParseAddrPort(address); err != nil {
		return f, fmt.Errorf("endpoint address of finding %d: %w", f.ID, err)
	}
	f.Target.Kind, f.ScanFinished = tlswarden.Kind(kind), fromMicros(finished)
	f.Target.Tags = []string{}
	if err := json.Unmarshal([]byte(tags), &f.Target.Tags); err != nil {
		return f, fmt.Errorf("decode tags of target %d: %w", f.TargetID, err)
	}
	if waiver.Valid {
		f.Waiver = new(tlswarden.Waiver)
		if err := json.Unmarshal([]byte(waiver.String), f.Waiver); err != nil {
			return f, fmt.Errorf("decode waiver of finding %d: %w", f.ID, err)
		}
	}
	return f, nil
}

// jsonList encodes a list filter as a JSON array; nil becomes [], "any".
func jsonList[T ~string | ~int | ~int64](s []T) string {
	if len(s) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(s) // strings and numbers always encode
	return string(b)
}

// ListEvents returns the events that match f.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error) {
	evs, err := queryEvents(ctx, s.r, selectEvents, micros(store.Timestamp(f.Since)), f.TargetID, jsonList(f.Kinds),
		f.Regression, f.AfterID, limit(f.Limit))
	return evs, wrap(ctx, err, "list events")
}

func queryEvents(ctx context.Context, q queryer, query string, args ...any) ([]store.Event, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	return collect(rows, err, scanEvent)
}

func scanEvent(row rowScanner) (store.Event, error) {
	var e store.Event
	var kind, details string
	var at int64
	err := row.Scan(&e.ID, &e.TargetID, &e.ScanID, &kind, &e.Regression, &details, &at)
	e.Kind, e.Details, e.At = store.EventKind(kind), json.RawMessage(details), fromMicros(at)
	return e, err
}
