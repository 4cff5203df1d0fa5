-- The posture collector's scan-state query asks, for every target, whether
-- a scan has an endpoint with status ok and which endpoint failed first:
-- with (scan_id, status, ordinal) both are answered from the index alone,
-- without reading the report rows.
CREATE INDEX endpoint_reports_scan_status_idx ON endpoint_reports (scan_id, status, ordinal);
