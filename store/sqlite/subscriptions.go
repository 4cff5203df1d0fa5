package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

var _ store.SubscriptionStore = (*Store)(nil)

const subscriptionColumns = `id, name, owner, tag, channel, url, secret, regressions, fixes, expiry_days, min_severity,
	created_by, created_at, disabled, event_cursor`

func scanSubscription(row rowScanner) (store.Subscription, error) {
	var s store.Subscription
	var created int64
	var sev int
	err := row.Scan(&s.ID, &s.Name, &s.Owner, &s.Tag, &s.Channel, &s.URL, &s.Secret, &s.Regressions, &s.Fixes, &s.ExpiryDays, &sev,
		&s.CreatedBy, &created, &s.Disabled, &s.EventCursor)
	s.CreatedAt, s.MinSeverity = fromMicros(created), tlswarden.Severity(sev)
	return s, err
}

// CreateSubscription records a subscription, its cursor at the latest event.
func (s *Store) CreateSubscription(ctx context.Context, sub store.Subscription) (store.Subscription, error) {
	sub, err := sub.Normalize(s.now())
	if err != nil {
		return store.Subscription{}, fmt.Errorf("create subscription: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&sub.EventCursor); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO subscriptions (name, owner, tag, channel, url, secret, regressions, fixes, expiry_days,
			min_severity, created_by, created_at, disabled, event_cursor) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING id`,
			sub.Name, sub.Owner, sub.Tag, sub.Channel, sub.URL, sub.Secret, sub.Regressions, sub.Fixes, sub.ExpiryDays,
			int(sub.MinSeverity), sub.CreatedBy, micros(sub.CreatedAt), sub.Disabled, sub.EventCursor).Scan(&sub.ID)
	})
	return sub, wrap(ctx, err, "create subscription")
}

// GetSubscription returns one subscription.
func (s *Store) GetSubscription(ctx context.Context, id int64) (store.Subscription, error) {
	sub, err := scanSubscription(s.r.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = ?1`, id))
	return sub, wrap(ctx, err, "get subscription %d", id)
}

// ListSubscriptions returns every subscription, by ID.
func (s *Store) ListSubscriptions(ctx context.Context) ([]store.Subscription, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions ORDER BY id`)
	subs, err := collect(rows, err, scanSubscription)
	return subs, wrap(ctx, err, "list subscriptions")
}

// SetSubscriptionDisabled disables or enables a subscription.
func (s *Store) SetSubscriptionDisabled(ctx context.Context, id int64, disabled bool) (store.Subscription, error) {
	var sub store.Subscription
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		sub, err = scanSubscription(tx.QueryRowContext(ctx, `UPDATE subscriptions SET disabled = ?2 WHERE id = ?1 RETURNING `+subscriptionColumns, id, disabled))
		return err
	})
	return sub, wrap(ctx, err, "set subscription %d disabled", id)
}

// DeleteSubscription removes a subscription with its deliveries.
func (s *Store) DeleteSubscription(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return deleted(tx.ExecContext(ctx, `DELETE FROM subscriptions WHERE id = ?1`, id))
	})
	return wrap(ctx, err, "delete subscription %d", id)
}

// deleted turns an UPDATE or DELETE that touched no row into ErrNoRows.
func deleted(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return sql.ErrNoRows
	}
	return err
}

// AdvanceEventCursor moves a subscription's cursor forward.
func (s *Store) AdvanceEventCursor(ctx context.Context, id, cursor int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return advance(ctx, tx, id, cursor)
	})
	return wrap(ctx, err, "advance subscription %d", id)
}

func advance(ctx context.Context, tx *sql.Tx, id, cursor int64) error {
	return deleted(tx.ExecContext(ctx, `UPDATE subscriptions SET event_cursor = max(event_cursor, ?2) WHERE id = ?1`, id, cursor))
}

// UnsentItems returns the keys no delivery of the subscription holds.
func (s *Store) UnsentItems(ctx context.Context, subscriptionID int64, keys []string) ([]string, error) {
	doc, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("unsent items: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT j.value FROM json_each(?2) AS j
		WHERE NOT EXISTS (SELECT 1 FROM delivery_items d WHERE d.subscription_id = ?1 AND d.item = j.value) ORDER BY j.key`,
		subscriptionID, string(doc))
	out, err := collect(rows, err, func(row rowScanner) (k string, err error) { return k, row.Scan(&k) })
	return out, wrap(ctx, err, "unsent items of subscription %d", subscriptionID)
}

const deliveryColumns = `id, subscription_id, status, items, digest, attempts, last_error, created_at, sent_at`

func scanDelivery(row rowScanner) (store.Delivery, error) {
	var d store.Delivery
	var status, items, digest string
	var created int64
	var sent sql.NullInt64
	if err := row.Scan(&d.ID, &d.SubscriptionID, &status, &items, &digest, &d.Attempts, &d.LastError, &created, &sent); err != nil {
		return d, err
	}
	d.Status, d.Digest, d.CreatedAt, d.SentAt = store.DeliveryStatus(status), json.RawMessage(digest), fromMicros(created), nullTime(sent)
	return d, json.Unmarshal([]byte(items), &d.Items)
}

// CreateDelivery records a pending delivery, claiming its items.
func (s *Store) CreateDelivery(ctx context.Context, d store.Delivery, cursor int64) (store.Delivery, error) {
	d, err := d.Normalize(s.now())
	if err != nil {
		return store.Delivery{}, fmt.Errorf("create delivery: %w", err)
	}
	items, err := json.Marshal(d.Items)
	if err != nil {
		return store.Delivery{}, fmt.Errorf("create delivery: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO deliveries (subscription_id, status, items, digest, created_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id`,
			d.SubscriptionID, string(d.Status), string(items), string(d.Digest), micros(d.CreatedAt)).Scan(&d.ID)
		if err != nil {
			return err
		}
		for _, k := range d.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_items (subscription_id, item, delivery_id) VALUES (?1, ?2, ?3)`, d.SubscriptionID, k, d.ID); err != nil {
				return err
			}
		}
		return advance(ctx, tx, d.SubscriptionID, cursor)
	})
	return d, wrap(ctx, err, "create delivery for subscription %d", d.SubscriptionID)
}

// GetDelivery returns one delivery.
func (s *Store) GetDelivery(ctx context.Context, id int64) (store.Delivery, error) {
	d, err := scanDelivery(s.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?1`, id))
	return d, wrap(ctx, err, "get delivery %d", id)
}

// ListDeliveries returns the deliveries that match f, newest first.
func (s *Store) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE (?1 = 0 OR subscription_id = ?1) AND (?2 = '' OR status = ?2) ORDER BY id DESC LIMIT ?3`,
		f.SubscriptionID, string(f.Status), limit)
	ds, err := collect(rows, err, scanDelivery)
	return ds, wrap(ctx, err, "list deliveries")
}

// RecordAttempt counts one attempt to send a delivery.
func (s *Store) RecordAttempt(ctx context.Context, id int64, status store.DeliveryStatus, errText string, at time.Time) (store.Delivery, error) {
	var d store.Delivery
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if d, err = scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = ?1`, id)); err != nil {
			return err
		}
		if d.Status == store.DeliverySent {
			return fmt.Errorf("%w: delivery %d was sent already", store.ErrConflict, id)
		}
		d.Attempts++
		d.Status, d.LastError = status, store.CutError(errText)
		if status == store.DeliverySent {
			d.SentAt = store.Timestamp(at)
		}
		_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = ?2, attempts = ?3, last_error = ?4, sent_at = ?5 WHERE id = ?1`,
			id, string(d.Status), d.Attempts, d.LastError, nullMicros(d.SentAt))
		return err
	})
	return d, wrap(ctx, err, "record attempt of delivery %d", id)
}
