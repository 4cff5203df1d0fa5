package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

var _ store.SubscriptionStore = (*Store)(nil)

const subscriptionColumns = `id, name, owner, tag, channel, url, secret, regressions, fixes, expiry_days, min_severity,
	created_by, created_at, disabled, event_cursor`

func scanSubscription(row pgx.CollectableRow) (store.Subscription, error) {
	var s store.Subscription
	var sev int
	err := row.Scan(&s.ID, &s.Name, &s.Owner, &s.Tag, &s.Channel, &s.URL, &s.Secret, &s.Regressions, &s.Fixes, &s.ExpiryDays, &sev,
		&s.CreatedBy, &s.CreatedAt, &s.Disabled, &s.EventCursor)
	s.CreatedAt, s.MinSeverity = s.CreatedAt.UTC(), tlswarden.Severity(sev)
	return s, err
}

// CreateSubscription records a subscription, its cursor at the latest event.
func (s *Store) CreateSubscription(ctx context.Context, sub store.Subscription) (store.Subscription, error) {
	sub, err := sub.Normalize(s.now())
	if err != nil {
		return store.Subscription{}, fmt.Errorf("create subscription: %w", err)
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO subscriptions (name, owner, tag, channel, url, secret, regressions, fixes, expiry_days,
		min_severity, created_by, created_at, disabled, event_cursor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, (SELECT coalesce(max(id), 0) FROM events)) RETURNING id, event_cursor`,
		sub.Name, sub.Owner, sub.Tag, sub.Channel, sub.URL, sub.Secret, sub.Regressions, sub.Fixes, sub.ExpiryDays,
		int(sub.MinSeverity), sub.CreatedBy, sub.CreatedAt, sub.Disabled).Scan(&sub.ID, &sub.EventCursor)
	return sub, wrap(ctx, err, "create subscription")
}

func (s *Store) oneSubscription(ctx context.Context, q pgxQuerier, query string, args ...any) (store.Subscription, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return store.Subscription{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanSubscription)
}

// pgxQuerier is what a pool and a transaction have in common.
type pgxQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// GetSubscription returns one subscription.
func (s *Store) GetSubscription(ctx context.Context, id int64) (store.Subscription, error) {
	sub, err := s.oneSubscription(ctx, s.pool, `SELECT `+subscriptionColumns+` FROM subscriptions WHERE id = $1`, id)
	return sub, wrap(ctx, err, "get subscription %d", id)
}

// ListSubscriptions returns every subscription, by ID.
func (s *Store) ListSubscriptions(ctx context.Context) ([]store.Subscription, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM subscriptions ORDER BY id`)
	if err != nil {
		return nil, wrap(ctx, err, "list subscriptions")
	}
	subs, err := pgx.CollectRows(rows, scanSubscription)
	return subs, wrap(ctx, err, "list subscriptions")
}

// SetSubscriptionDisabled disables or enables a subscription.
func (s *Store) SetSubscriptionDisabled(ctx context.Context, id int64, disabled bool) (store.Subscription, error) {
	sub, err := s.oneSubscription(ctx, s.pool, `UPDATE subscriptions SET disabled = $2 WHERE id = $1 RETURNING `+subscriptionColumns, id, disabled)
	return sub, wrap(ctx, err, "set subscription %d disabled", id)
}

// DeleteSubscription removes a subscription with its deliveries.
func (s *Store) DeleteSubscription(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM subscriptions WHERE id = $1`, id)
	return wrap(ctx, touched(tag, err), "delete subscription %d", id)
}

// touched turns an UPDATE or DELETE that touched no row into ErrNoRows.
func touched(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return pgx.ErrNoRows
	}
	return err
}

type pgxExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func advance(ctx context.Context, q pgxExecer, id, cursor int64) error {
	return touched(q.Exec(ctx, `UPDATE subscriptions SET event_cursor = greatest(event_cursor, $2) WHERE id = $1`, id, cursor))
}

// AdvanceEventCursor moves a subscription's cursor forward.
func (s *Store) AdvanceEventCursor(ctx context.Context, id, cursor int64) error {
	return wrap(ctx, advance(ctx, s.pool, id, cursor), "advance subscription %d", id)
}

// UnsentItems returns the keys no delivery of the subscription holds.
func (s *Store) UnsentItems(ctx context.Context, subscriptionID int64, keys []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT u.k FROM unnest($2::text[]) WITH ORDINALITY AS u(k, n)
		WHERE NOT EXISTS (SELECT 1 FROM delivery_items d WHERE d.subscription_id = $1 AND d.item = u.k) ORDER BY u.n`,
		subscriptionID, keys)
	if err != nil {
		return nil, wrap(ctx, err, "unsent items of subscription %d", subscriptionID)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, wrap(ctx, err, "unsent items of subscription %d", subscriptionID)
}

const deliveryColumns = `id, subscription_id, status, items, digest, attempts, last_error, created_at, sent_at`

func scanDelivery(row pgx.CollectableRow) (store.Delivery, error) {
	var d store.Delivery
	var status, items, digest string
	var sent *time.Time
	if err := row.Scan(&d.ID, &d.SubscriptionID, &status, &items, &digest, &d.Attempts, &d.LastError, &d.CreatedAt, &sent); err != nil {
		return d, err
	}
	d.Status, d.Digest, d.CreatedAt, d.SentAt = store.DeliveryStatus(status), json.RawMessage(digest), d.CreatedAt.UTC(), utc(sent)
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
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO deliveries (subscription_id, status, items, digest, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			d.SubscriptionID, string(d.Status), string(items), string(d.Digest), d.CreatedAt).Scan(&d.ID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO delivery_items (subscription_id, item, delivery_id) SELECT $1, k, $3 FROM unnest($2::text[]) AS u(k)`,
			d.SubscriptionID, d.Items, d.ID)
		if err != nil {
			return err
		}
		return advance(ctx, tx, d.SubscriptionID, cursor)
	})
	return d, wrap(ctx, err, "create delivery for subscription %d", d.SubscriptionID)
}

// GetDelivery returns one delivery.
func (s *Store) GetDelivery(ctx context.Context, id int64) (store.Delivery, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1`, id)
	if err != nil {
		return store.Delivery{}, wrap(ctx, err, "get delivery %d", id)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	return d, wrap(ctx, err, "get delivery %d", id)
}

// ListDeliveries returns the deliveries that match f, newest first.
func (s *Store) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error) {
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE ($1 = 0 OR subscription_id = $1) AND ($2 = '' OR status = $2) ORDER BY id DESC LIMIT $3`,
		f.SubscriptionID, string(f.Status), limit)
	if err != nil {
		return nil, wrap(ctx, err, "list deliveries")
	}
	ds, err := pgx.CollectRows(rows, scanDelivery)
	return ds, wrap(ctx, err, "list deliveries")
}

// RecordAttempt counts one attempt to send a delivery.
func (s *Store) RecordAttempt(ctx context.Context, id int64, status store.DeliveryStatus, errText string, at time.Time) (store.Delivery, error) {
	var d store.Delivery
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+deliveryColumns+` FROM deliveries WHERE id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if d, err = pgx.CollectExactlyOneRow(rows, scanDelivery); err != nil {
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
		_, err = tx.Exec(ctx, `UPDATE deliveries SET status = $2, attempts = $3, last_error = $4, sent_at = $5 WHERE id = $1`,
			id, string(d.Status), d.Attempts, d.LastError, nullTime(d.SentAt))
		return err
	})
	return d, wrap(ctx, err, "record attempt of delivery %d", id)
}
