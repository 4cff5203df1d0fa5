package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden/store"
)

var _ store.WaiverStore = (*Store)(nil)

const waiverColumns = `id, target_id, owner, tag, rule, reason, expires, requested_by, requester_key, requested_at,
	approved_by, approver_key, approved_at, revoked_by, revoked_at, expiry_noted_at`

func scanWaiver(row rowScanner) (store.Waiver, error) {
	var w store.Waiver
	var target, approved, revoked, noted sql.NullInt64
	var expires, requested int64
	err := row.Scan(&w.ID, &target, &w.Owner, &w.Tag, &w.Rule, &w.Reason, &expires, &w.RequestedBy, &w.RequesterKey, &requested,
		&w.ApprovedBy, &w.ApproverKey, &approved, &w.RevokedBy, &revoked, &noted)
	w.TargetID, w.Expires, w.RequestedAt = target.Int64, fromMicros(expires), fromMicros(requested)
	w.ApprovedAt, w.RevokedAt, w.ExpiryNotedAt = nullTime(approved), nullTime(revoked), nullTime(noted)
	return w, err
}

func nullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return micros(t)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateWaiver records a requested waiver and its audit entry.
func (s *Store) CreateWaiver(ctx context.Context, w store.Waiver) (store.Waiver, error) {
	w, err := w.Normalize(s.now())
	if err != nil {
		return store.Waiver{}, fmt.Errorf("create waiver: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO waivers (target_id, owner, tag, rule, reason, expires, requested_by, requester_key, requested_at)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id`,
			nullID(w.TargetID), w.Owner, w.Tag, w.Rule, w.Reason, micros(w.Expires), w.RequestedBy, w.RequesterKey, micros(w.RequestedAt)).Scan(&w.ID)
		if err != nil {
			return err
		}
		return audit(ctx, tx, w, store.WaiverActionRequested, w.RequestedBy, w.RequestedAt)
	})
	return w, wrap(ctx, err, "create waiver")
}

// ApproveWaiver approves a requested waiver.
func (s *Store) ApproveWaiver(ctx context.Context, id int64, by, key string) (store.Waiver, error) {
	return s.changeWaiver(ctx, id, "approve", func(w store.Waiver, now time.Time) (store.Waiver, store.WaiverAction, string, error) {
		w, err := w.Approve(by, key, now)
		return w, store.WaiverActionApproved, w.ApprovedBy, err
	})
}

// RevokeWaiver revokes a waiver.
func (s *Store) RevokeWaiver(ctx context.Context, id int64, by string) (store.Waiver, error) {
	return s.changeWaiver(ctx, id, "revoke", func(w store.Waiver, now time.Time) (store.Waiver, store.WaiverAction, string, error) {
		w, err := w.Revoke(by, now)
		return w, store.WaiverActionRevoked, w.RevokedBy, err
	})
}

// NoteWaiverExpired records once that an approved waiver has expired.
func (s *Store) NoteWaiverExpired(ctx context.Context, id int64, at time.Time) (bool, error) {
	noted := false
	_, err := s.changeWaiver(ctx, id, "note expiry of", func(w store.Waiver, _ time.Time) (store.Waiver, store.WaiverAction, string, error) {
		w, noted = w.NoteExpired(store.Timestamp(at))
		if !noted {
			return w, "", "", nil
		}
		return w, store.WaiverActionExpired, "tlswarden", nil
	})
	return noted, err
}

// changeWaiver reads a waiver, changes it with fn and writes it back with
// fn's audit entry, in one write transaction (SQLite has one writer, so
// the read cannot go stale). An empty action writes nothing.
func (s *Store) changeWaiver(ctx context.Context, id int64, what string,
	fn func(store.Waiver, time.Time) (store.Waiver, store.WaiverAction, string, error)) (store.Waiver, error) {
	var out store.Waiver
	err := s.write(ctx, func(tx *sql.Tx) error {
		w, err := scanWaiver(tx.QueryRowContext(ctx, `SELECT `+waiverColumns+` FROM waivers WHERE id = ?1`, id))
		if err != nil {
			return err
		}
		now := s.now()
		w, action, actor, err := fn(w, now)
		if err != nil || action == "" {
			out = w
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE waivers SET approved_by = ?2, approver_key = ?3, approved_at = ?4, revoked_by = ?5, revoked_at = ?6,
			expiry_noted_at = ?7 WHERE id = ?1`, id, w.ApprovedBy, w.ApproverKey, nullMicros(w.ApprovedAt), w.RevokedBy, nullMicros(w.RevokedAt), nullMicros(w.ExpiryNotedAt))
		if err != nil {
			return err
		}
		out = w
		return audit(ctx, tx, w, action, actor, now)
	})
	return out, wrap(ctx, err, "%s waiver %d", what, id)
}

func audit(ctx context.Context, tx *sql.Tx, w store.Waiver, action store.WaiverAction, actor string, at time.Time) error {
	doc, err := json.Marshal(w)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO waiver_audit (waiver_id, action, actor, at, waiver) VALUES (?1, ?2, ?3, ?4, ?5)`,
		w.ID, string(action), actor, micros(at), string(doc))
	return err
}

// GetWaiver returns one waiver.
func (s *Store) GetWaiver(ctx context.Context, id int64) (store.Waiver, error) {
	w, err := scanWaiver(s.r.QueryRowContext(ctx, `SELECT `+waiverColumns+` FROM waivers WHERE id = ?1`, id))
	return w, wrap(ctx, err, "get waiver %d", id)
}

// ListWaivers returns the waivers that match f, by ID.
func (s *Store) ListWaivers(ctx context.Context, f store.WaiverFilter) ([]store.Waiver, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+waiverColumns+` FROM waivers WHERE (?1 = 0 OR target_id = ?1) ORDER BY id`, f.TargetID)
	ws, err := collect(rows, err, scanWaiver)
	return ws, wrap(ctx, err, "list waivers")
}

// ListWaiverAudit returns the audit log of one waiver, or of all.
func (s *Store) ListWaiverAudit(ctx context.Context, waiverID int64) ([]store.WaiverAudit, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, waiver_id, action, actor, at, waiver FROM waiver_audit
		WHERE (?1 = 0 OR waiver_id = ?1) ORDER BY id`, waiverID)
	as, err := collect(rows, err, func(row rowScanner) (store.WaiverAudit, error) {
		var a store.WaiverAudit
		var action, doc string
		var at int64
		if err := row.Scan(&a.ID, &a.WaiverID, &action, &a.Actor, &at, &doc); err != nil {
			return a, err
		}
		a.Action, a.At = store.WaiverAction(action), fromMicros(at)
		return a, json.Unmarshal([]byte(doc), &a.Waiver)
	})
	return as, wrap(ctx, err, "list waiver audit")
}
