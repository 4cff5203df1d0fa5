-- A target may be exempt from the intrusive weakness checks (Heartbleed,
-- CCS injection, ROBOT): fragile appliances. Existing targets keep them.
ALTER TABLE targets ADD COLUMN intrusive INTEGER NOT NULL DEFAULT 1;
