package postgres_test

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tlswarden/tlswarden/migrations"
	"github.com/tlswarden/tlswarden/store"
)

// seedEstate writes, straight in SQL, targets with scans each, two
// endpoints a scan; the latest scan of every tenth target failed, so its
// last success is one further back.
func seedEstate(tb testing.TB, pool *pgxpool.Pool, targets, scans int) {
	ctx := tb.Context()
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO targets (id, host, port, kind, owner, created_at, updated_at)
			SELECT i, 'h' || i || '.example', 443, 'https', 'web', now(), now() FROM generate_series(1, $1::int) i`, []any{targets}},
		{`INSERT INTO scans (id, target_id, trigger, started_at, finished_at, status, profile, compliance, report, evaluation)
			SELECT (t - 1) * $2::int + n, t, 'schedule', timestamptz '2026-11-01' + n * interval '1 day' + t * interval '1 ms',
				timestamptz '2026-11-01' + n * interval '1 day' + t * interval '1 ms' + interval '5 s',
				CASE WHEN n = $2::int AND t % 10 = 0 THEN 'error' ELSE 'ok' END, 'p', 'compliant', '{}', '{}'
			FROM generate_series(1, $1::int) t, generate_series(1, $2::int) n`, []any{targets, scans}},
		{`INSERT INTO endpoint_reports (scan_id, ordinal, address, status, report)
			SELECT s.id, o, '192.0.2.' || o || ':443', 'ok', '{}' FROM scans s, generate_series(0, 1) o WHERE s.status = 'ok'`, nil},
		{`UPDATE targets SET latest_scan_id = id * $1::int`, []any{scans}},
	} {
		if _, err := pool.Exec(ctx, st.sql, st.args...); err != nil {
			tb.Fatalf("seed: %v\n%s", err, st.sql)
		}
	}
}

// BenchmarkListScanStates10k reads the scan states of 10,000 targets with
// four scans each (40,000 scans, 78,000 endpoint reports), as the metrics
// collector and the digests do: fresh is the tables as written, with no
// statistics (this Postgres runs with autovacuum off, as CI's does);
// analyzed is after ANALYZE.
func BenchmarkListScanStates10k(b *testing.B) {
	schema := newSchema(b)
	s := open(b, schema).(interface {
		store.Store
		store.PostureStore
	})
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	pool := adminPool(b)
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	seed, err := pgxpool.NewWithConfig(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer seed.Close()
	seedEstate(b, seed, 10_000, 4)
	// The pointer FinishScan keeps, as the migration sets it.
	if _, err := seed.Exec(b.Context(), `UPDATE targets SET last_success_scan_id = id * 4 - (CASE WHEN id % 10 = 0 THEN 1 ELSE 0 END)`); err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B) {
		for b.Loop() {
			states, err := s.ListScanStates(b.Context())
			if err != nil || len(states) != 10_000 {
				b.Fatalf("ListScanStates: %d states, %v", len(states), err)
			}
			for _, st := range states {
				if st.Target.ID == 10 && (st.Latest.ID != 40 || st.LastSuccess.ID != 39) {
					b.Fatalf("target 10: latest scan %d, last success %d; want 40, 39", st.Latest.ID, st.LastSuccess.ID)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	}
	b.Run("fresh", run)
	if _, err := seed.Exec(b.Context(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Run("analyzed", run)
}

// TestMigrationLastSuccess upgrades a schema 8 database holding scans: the
// migration finds each target's last success as the walk over its scans
// did.
func TestMigrationLastSuccess(t *testing.T) {
	schema := newSchema(t)
	cfg := adminPool(t).Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ms, err := migrations.Load(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`}
	for _, m := range ms[:8] {
		stmts = append(stmts, m.SQL, fmt.Sprintf(`INSERT INTO schema_migrations (version, name) VALUES (%d, '%s')`, m.Version, m.Name))
	}
	for _, s := range stmts {
		if _, err := pool.Exec(t.Context(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	seedEstate(t, pool, 20, 4)
	s := open(t, schema).(store.PostureStore)
	if err := s.(store.Store).Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	states, err := s.ListScanStates(t.Context())
	if err != nil || len(states) != 20 {
		t.Fatalf("ListScanStates: %d states, %v", len(states), err)
	}
	for _, st := range states {
		want := st.Target.ID * 4
		if st.Target.ID%10 == 0 {
			want-- // its latest scan failed
		}
		if st.LastSuccess.ID != want || st.Latest.ID != st.Target.ID*4 {
			t.Errorf("target %d: latest %d, last success %d; want %d, %d", st.Target.ID, st.Latest.ID, st.LastSuccess.ID, st.Target.ID*4, want)
		}
	}
}
