package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tlswarden/tlswarden/store"
)

var _ store.TokenStore = (*Store)(nil)

const tokenColumns = `id, name, role, prefix, hash, created_at, last_used_at, revoked_at`

func scanToken(row pgx.CollectableRow) (store.Token, error) {
	var t store.Token
	var role string
	var used, revoked *time.Time
	err := row.Scan(&t.ID, &t.Name, &role, &t.Prefix, &t.Hash, &t.CreatedAt, &used, &revoked)
	t.Role, t.CreatedAt = store.Role(role), t.CreatedAt.UTC()
	if used != nil {
		t.LastUsedAt = used.UTC()
	}
	if revoked != nil {
		t.RevokedAt = revoked.UTC()
	}
	return t, err
}

// CreateToken stores a new token.
func (s *Store) CreateToken(ctx context.Context, t store.Token) (store.Token, error) {
	t.Name = strings.TrimSpace(t.Name)
	if err := t.Validate(); err != nil {
		return store.Token{}, fmt.Errorf("create token: %w", err)
	}
	t.ID, t.CreatedAt, t.LastUsedAt, t.RevokedAt = 0, s.now(), time.Time{}, time.Time{}
	err := s.pool.QueryRow(ctx,
		`INSERT INTO api_tokens (name, role, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		t.Name, string(t.Role), t.Prefix, t.Hash, t.CreatedAt).Scan(&t.ID)
	return t, wrap(ctx, err, "create token %q", t.Name)
}

// TokenByHash returns the token with the given hash.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash)
	if err != nil {
		return store.Token{}, wrap(ctx, err, "find token")
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	return t, wrap(ctx, err, "find token")
}

// ListTokens returns every token by ID.
func (s *Store) ListTokens(ctx context.Context) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, wrap(ctx, err, "list tokens")
	}
	ts, err := pgx.CollectRows(rows, scanToken)
	return ts, wrap(ctx, err, "list tokens")
}

// RevokeToken revokes a token, keeping the first revocation time.
func (s *Store) RevokeToken(ctx context.Context, id int64) error {
	return s.setTokenTime(ctx, id, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, s.now(), "revoke")
}

// TouchToken records when a token was last used.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	return s.setTokenTime(ctx, id, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, store.Timestamp(at), "touch")
}

func (s *Store) setTokenTime(ctx context.Context, id int64, query string, at time.Time, what string) error {
	tag, err := s.pool.Exec(ctx, query, id, at)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return wrap(ctx, err, "%s token %d", what, id)
}
