-- Each target's latest successful scan (store.ScanState.LastSuccess), kept
-- by FinishScan as latest_scan_id is: ListScanStates read it by walking
-- every target's scans, 0.2-0.3 s at 10,000 targets.
ALTER TABLE targets ADD COLUMN last_success_scan_id bigint REFERENCES scans (id) ON DELETE SET NULL;
CREATE INDEX targets_last_success_scan_idx ON targets (last_success_scan_id);
UPDATE targets t SET last_success_scan_id = (SELECT s.id FROM scans s
    WHERE s.target_id = t.id AND s.finished_at IS NOT NULL AND s.status = 'ok'
      AND EXISTS (SELECT 1 FROM endpoint_reports e WHERE e.scan_id = s.id AND e.status = 'ok')
    ORDER BY s.started_at DESC, s.id DESC LIMIT 1);
