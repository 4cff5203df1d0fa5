package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Pool returns the store's pool, for tests that look at its sessions.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
