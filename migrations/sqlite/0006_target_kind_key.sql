-- A target is unique by kind, host and port (see the Postgres migration).
-- SQLite cannot drop a table constraint, so the table is rebuilt by its
-- documented procedure (the migration runs with foreign keys off, and
-- checks them before commit): a new table, the rows copied, the old table
-- dropped, the new one renamed into its place, its indexes made again.
CREATE TABLE targets_0006 (
    id             INTEGER PRIMARY KEY,
    host           TEXT    NOT NULL,
    port           INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    kind           TEXT    NOT NULL,
    owner          TEXT    NOT NULL DEFAULT '',
    tags           TEXT    NOT NULL DEFAULT '[]',
    enabled        INTEGER NOT NULL DEFAULT 1,
    schedule       TEXT    NOT NULL DEFAULT '',
    latest_scan_id INTEGER REFERENCES scans (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (kind, host, port)
) STRICT;
INSERT INTO targets_0006 (id, host, port, kind, owner, tags, enabled, schedule, latest_scan_id, created_at, updated_at)
    SELECT id, host, port, kind, owner, tags, enabled, schedule, latest_scan_id, created_at, updated_at FROM targets;
DROP TABLE targets;
ALTER TABLE targets_0006 RENAME TO targets;
CREATE INDEX targets_owner_idx ON targets (owner);
CREATE INDEX targets_latest_scan_idx ON targets (latest_scan_id);
