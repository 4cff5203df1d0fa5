-- Waivers: exceptions to one rule for a target (or an owner's or a tag's
-- targets), requested by one token and approved by another, until a day.
-- The audit log is append-only: triggers refuse to change or delete its
-- rows, and it does not reference waivers, so it outlives them.

CREATE TABLE waivers (
    id              INTEGER PRIMARY KEY,
    target_id       INTEGER REFERENCES targets (id) ON DELETE CASCADE,
    owner           TEXT    NOT NULL DEFAULT '',
    tag             TEXT    NOT NULL DEFAULT '',
    rule            TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    expires         INTEGER NOT NULL,
    requested_by    TEXT    NOT NULL,
    requester_key   TEXT    NOT NULL,
    requested_at    INTEGER NOT NULL,
    approved_by     TEXT    NOT NULL DEFAULT '',
    approver_key    TEXT    NOT NULL DEFAULT '',
    approved_at     INTEGER,
    revoked_by      TEXT    NOT NULL DEFAULT '',
    revoked_at      INTEGER,
    expiry_noted_at INTEGER,
    CHECK ((target_id IS NOT NULL) + (owner <> '') + (tag <> '') = 1),
    CHECK (approver_key = '' OR approver_key <> requester_key)
) STRICT;
CREATE INDEX waivers_target_idx ON waivers (target_id);

CREATE TABLE waiver_audit (
    id        INTEGER PRIMARY KEY,
    waiver_id INTEGER NOT NULL,
    action    TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    waiver    TEXT    NOT NULL
) STRICT;
CREATE INDEX waiver_audit_waiver_idx ON waiver_audit (waiver_id, id);

CREATE TRIGGER waiver_audit_no_update BEFORE UPDATE ON waiver_audit
BEGIN SELECT RAISE(ABORT, 'waiver_audit is append-only'); END;
CREATE TRIGGER waiver_audit_no_delete BEFORE DELETE ON waiver_audit
BEGIN SELECT RAISE(ABORT, 'waiver_audit is append-only'); END;
