-- Each finished scan's endpoints reduced to what says how they stand
-- (store.EndpointPosture: versions, suites, certificate dates and trust,
-- grade, header score, failed rules), in report order, written by
-- FinishScan with the documents they come from. The posture collector's
-- first scrape after a start reads these instead of decoding every report
-- and evaluation. The encoding is the store's own, binary and versioned by
-- its first byte (store/internal/rows.PostureEncoding): a scan whose
-- postures are in another version, or that finished before this migration
-- and has no row, has its postures derived from its documents when read.
CREATE TABLE scan_postures (
    scan_id   bigint PRIMARY KEY REFERENCES scans (id) ON DELETE CASCADE,
    endpoints bytea  NOT NULL
);
