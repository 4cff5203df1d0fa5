package store

import (
	"context"
	"strings"
	"time"
	"unicode"
)

// Role says what an API token may do.
type Role string

// The roles a token can have. An admin token may do what a read token may.
const (
	RoleRead  Role = "read"  // read the registry, the history and /metrics
	RoleAdmin Role = "admin" // also write: targets, imports, scan requests
)

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool {
	return r == RoleAdmin || (r == RoleRead && need == RoleRead)
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r == RoleRead || r == RoleAdmin }

// Limits on a token's fields.
const (
	MaxTokenNameLen = 100
	TokenHashLen    = 32 // a SHA-256
	MaxTokenPrefix  = 16
)

// Token is an API token as the store keeps it: never the secret, only its
// hash and a short prefix that lets a person tell tokens apart.
type Token struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	Prefix string `json:"prefix"`
	// Hash is the SHA-256 of the secret; it is never encoded.
	Hash      []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsedAt is zero until the token is first used; it is updated at
	// most about once a minute.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// RevokedAt is zero while the token is valid.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

// Revoked reports whether the token has been revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// Validate checks the fields a caller writes: name, role, prefix and hash.
// It returns a *ValidationError.
func (t Token) Validate() error {
	name := strings.TrimSpace(t.Name)
	switch {
	case name == "":
		return invalid("name", "required")
	case len(name) > MaxTokenNameLen:
		return invalid("name", "longer than %d bytes", MaxTokenNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return invalid("name", "has control characters")
	case !t.Role.Valid():
		return invalid("role", "%q is not a role: want read or admin", t.Role)
	case t.Prefix == "" || len(t.Prefix) > MaxTokenPrefix:
		return invalid("prefix", "want 1 to %d bytes", MaxTokenPrefix)
	case len(t.Hash) != TokenHashLen:
		return invalid("hash", "want a %d-byte SHA-256", TokenHashLen)
	}
	return nil
}

// TokenStore keeps API tokens. Both implementations provide it beside
// Store; the package comment's rules hold for it too.
type TokenStore interface {
	// CreateToken stores a new token (Name, Role, Prefix and Hash are
	// read; the name is trimmed) and returns it with its ID and creation
	// time. A hash already stored wraps ErrConflict.
	CreateToken(ctx context.Context, t Token) (Token, error)
	// TokenByHash returns the token whose hash is hash, revoked or not.
	TokenByHash(ctx context.Context, hash []byte) (Token, error)
	// ListTokens returns every token, revoked ones included, by ID.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken revokes a token. Revoking a revoked token keeps its
	// first revocation time and is not an error.
	RevokeToken(ctx context.Context, id int64) error
	// TouchToken records that the token was used at the given time.
	TouchToken(ctx context.Context, id int64, at time.Time) error
}
