-- API tokens. Only the SHA-256 of each secret is kept, with a short prefix
-- of the secret so that a person can tell tokens apart; the secret itself
-- is shown once, when the token is made. Revoked tokens stay, for the
-- record.

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('read', 'admin')),
    prefix       TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;
