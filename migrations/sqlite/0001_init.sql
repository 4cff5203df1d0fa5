-- The registry and the history of scans. Times are INTEGER microseconds
-- since the Unix epoch, UTC; versions are TLS wire codes (0x0303 is TLS
-- 1.2) and severities 1 (info) to 5 (critical), so both compare in order;
-- tags are a JSON array of strings; JSON columns are TEXT.

CREATE TABLE targets (
    id             INTEGER PRIMARY KEY,
    host           TEXT    NOT NULL,
    port           INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    kind           TEXT    NOT NULL,
    owner          TEXT    NOT NULL DEFAULT '',
    tags           TEXT    NOT NULL DEFAULT '[]',
    enabled        INTEGER NOT NULL DEFAULT 1,
    schedule       TEXT    NOT NULL DEFAULT '',
    -- The most recent finished scan, kept by FinishScan in the same
    -- transaction, so "latest per target" is a join and not a search.
    latest_scan_id INTEGER REFERENCES scans (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (host, port)
) STRICT;
CREATE INDEX targets_owner_idx ON targets (owner);
CREATE INDEX targets_latest_scan_idx ON targets (latest_scan_id);

-- report and evaluation hold the Report and Evaluation without their
-- endpoints, which are in endpoint_reports.
CREATE TABLE scans (
    id           INTEGER PRIMARY KEY,
    target_id    INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    trigger      TEXT    NOT NULL,
    requested_by TEXT    NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    status       TEXT    NOT NULL,
    error        TEXT    NOT NULL DEFAULT '',
    profile      TEXT    NOT NULL DEFAULT '',
    compliance   TEXT    NOT NULL DEFAULT '',
    report       TEXT,
    evaluation   TEXT
) STRICT;
CREATE INDEX scans_target_started_idx ON scans (target_id, started_at DESC, id DESC);
CREATE INDEX scans_started_idx ON scans (started_at);

-- One row per endpoint of a finished scan: its report and evaluation, and
-- the columns the API filters on.
CREATE TABLE endpoint_reports (
    scan_id     INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    address     TEXT    NOT NULL,
    hostname    TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    min_version INTEGER,
    max_version INTEGER,
    grade       TEXT    NOT NULL DEFAULT '',
    compliance  TEXT    NOT NULL DEFAULT '',
    profile     TEXT    NOT NULL DEFAULT '',
    report      TEXT    NOT NULL,
    evaluation  TEXT,
    PRIMARY KEY (scan_id, ordinal),
    UNIQUE (scan_id, hostname, address)
) STRICT, WITHOUT ROWID;

-- The findings that need attention (failed, or not evaluated) of each
-- endpoint, for queries across the estate; every finding, passes included,
-- is in the endpoint's evaluation. endpoint_ordinal has no foreign key:
-- FinishScan writes findings and endpoints together.
CREATE TABLE findings (
    id               INTEGER PRIMARY KEY,
    scan_id          INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    endpoint_ordinal INTEGER NOT NULL,
    rule_id          TEXT    NOT NULL,
    title            TEXT    NOT NULL DEFAULT '',
    severity         INTEGER NOT NULL,
    outcome          TEXT    NOT NULL,
    message          TEXT    NOT NULL DEFAULT '',
    waived           INTEGER NOT NULL DEFAULT 0,
    waiver           TEXT
) STRICT;
CREATE INDEX findings_scan_idx ON findings (scan_id, endpoint_ordinal);

-- What changed between two scans of a target. Events outlive the scans
-- that retention deletes: their scan_id is then NULL.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    target_id  INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    scan_id    INTEGER REFERENCES scans (id) ON DELETE SET NULL,
    kind       TEXT    NOT NULL,
    regression INTEGER NOT NULL DEFAULT 0,
    details    TEXT    NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL
) STRICT;
CREATE INDEX events_at_idx ON events (at, id);
CREATE INDEX events_target_at_idx ON events (target_id, at);
CREATE INDEX events_scan_idx ON events (scan_id);
