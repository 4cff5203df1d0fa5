-- Notification subscriptions and their deliveries. A subscription's URL
-- and secret are credentials, kept in clear because the secret signs
-- payloads; nothing prints them. delivery_items holds each item a
-- subscription was sent, once: its primary key is the deduplication.

CREATE TABLE subscriptions (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    owner        TEXT    NOT NULL DEFAULT '',
    tag          TEXT    NOT NULL DEFAULT '',
    channel      TEXT    NOT NULL CHECK (channel IN ('webhook', 'slack', 'teams')),
    url          TEXT    NOT NULL,
    secret       TEXT    NOT NULL DEFAULT '',
    regressions  INTEGER NOT NULL,
    fixes        INTEGER NOT NULL,
    expiry_days  INTEGER NOT NULL DEFAULT 0,
    min_severity INTEGER NOT NULL DEFAULT 0,
    created_by   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    disabled     INTEGER NOT NULL DEFAULT 0,
    event_cursor INTEGER NOT NULL DEFAULT 0,
    CHECK (owner = '' OR tag = '')
) STRICT;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    items           TEXT    NOT NULL,
    digest          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
CREATE INDEX deliveries_subscription_idx ON deliveries (subscription_id, id);

CREATE TABLE delivery_items (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    item            TEXT    NOT NULL,
    delivery_id     INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    PRIMARY KEY (subscription_id, item)
) STRICT;
CREATE INDEX delivery_items_delivery_idx ON delivery_items (delivery_id);
