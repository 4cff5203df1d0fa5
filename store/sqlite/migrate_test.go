package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/tlswarden/tlswarden/migrations"
	"github.com/tlswarden/tlswarden/store"
)

// TestMigrationTargetKindKeepsScans upgrades a database holding a target
// with a scan from schema 5 to the kind-keyed targets table (6), which
// SQLite can only rebuild: the target, its scan and its latest scan
// survive, foreign keys on.
func TestMigrationTargetKindKeepsScans(t *testing.T) {
	path := databaseAt(t, 5,
		`INSERT INTO targets (id, host, port, kind, created_at, updated_at) VALUES (7, 'mx.example.org', 465, 'https', 1, 1)`,
		`INSERT INTO scans (id, target_id, trigger, started_at, status) VALUES (9, 7, 'manual', 1, 'ok')`,
		`UPDATE targets SET latest_scan_id = 9 WHERE id = 7`)
	st := open(t, path)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetTarget(t.Context(), 7)
	if err != nil || got.LatestScanID != 9 || got.Kind != "https" {
		t.Fatalf("target after the migration: %+v, %v", got, err)
	}
	if _, err := st.GetScan(t.Context(), 9); err != nil {
		t.Errorf("the scan did not survive the migration: %v", err)
	}
	other := store.Target{Target: got.Target, Enabled: true}
	other.Kind = "smtps"
	if _, err := st.CreateTarget(t.Context(), other); err != nil {
		t.Errorf("a second kind on the same host and port: %v", err)
	}
}

// databaseAt writes a database file at schema version (its first
// migrations applied and recorded, as an older tlswarden left it), then
// the statements, foreign keys on, and returns its path.
func databaseAt(t *testing.T, version int, stmts ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := migrations.Load(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`}
	for _, m := range ms[:version] {
		all = append(all, m.SQL, `INSERT INTO schema_migrations VALUES (`+strconv.Itoa(m.Version)+`, '`+m.Name+`', 0)`)
	}
	for _, s := range append(all, stmts...) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

// TestMigrationLastSuccess upgrades a schema 8 database holding scans: the
// migration finds each target's last success as the walk over its scans
// did, passing over a later scan that reached no endpoint and one that
// failed.
func TestMigrationLastSuccess(t *testing.T) {
	path := databaseAt(t, 8,
		`INSERT INTO targets (id, host, port, kind, created_at, updated_at) VALUES (7, 'mx.example.org', 465, 'https', 1, 1)`,
		`INSERT INTO scans (id, target_id, trigger, started_at, finished_at, status) VALUES
			(1, 7, 'schedule', 10, 11, 'ok'), (2, 7, 'schedule', 20, 21, 'ok'), (3, 7, 'schedule', 30, 31, 'dns_error')`,
		`INSERT INTO endpoint_reports (scan_id, ordinal, address, status, report) VALUES
			(1, 0, '192.0.2.1:465', 'ok', '{}'), (2, 0, '192.0.2.1:465', 'timeout', '{}')`,
		`UPDATE targets SET latest_scan_id = 3 WHERE id = 7`)
	st := open(t, path)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	states, err := st.(store.PostureStore).ListScanStates(t.Context())
	if err != nil || len(states) != 1 || states[0].Latest.ID != 3 || states[0].LastSuccess.ID != 1 {
		t.Fatalf("scan states after the migration: %+v, %v; want latest 3, last success 1", states, err)
	}
}
