package storetest

import (
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
)

// BenchmarkScan10k measures storing one scan of 10,000 endpoints, each
// with a full report and an evaluation of 30 findings, 5 of which need
// attention (so 50,000 rows in the findings table), as CreateScan then
// FinishScan; an operation is one scan.
func BenchmarkScan10k(b *testing.B, newDB NewDB) {
	s := migrated(b, newDB)
	tgt := createTarget(b, s, "estate.example.org", "web")
	const endpoints = 10_000
	fss := make([][]tlswarden.Finding, endpoints)
	for i := range fss {
		fss[i] = append(failing(5), passing(25)...)
	}
	r := judged(base, fss...)
	started := base
	for b.Loop() {
		started = started.Add(time.Hour)
		r.Report.Finished = started.Add(time.Minute)
		sc := createScan(b, s, tgt.ID, started)
		check(b, "FinishScan", s.FinishScan(b.Context(), sc.ID, r))
	}
	b.ReportMetric(float64(endpoints*b.N)/b.Elapsed().Seconds(), "endpoints/s")
}
