package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/metrics"
)

// seedEstate adds n targets, each with one scan of two addresses whose
// evaluation has 30 findings (4 failed), to a SQLite store.
func seedEstate(b *testing.B, s postureStore, n int) postureStore {
	for i := range n {
		host := fmt.Sprintf("h%05d.example.org", i)
		t := addTarget(b, s, host, fmt.Sprintf("org-%02d", i%40))
		sp1, sp2 := modern(fmt.Sprintf("10.%d.%d.1:443", i>>8&255, i&255)), legacy(fmt.Sprintf("10.%d.%d.2:443", i>>8&255, i&255))
		for j := range 26 {
			f := tlswarden.Finding{RuleID: fmt.Sprintf("rule-%02d", j), Title: "A rule", Severity: tlswarden.SeverityMedium,
				Outcome: tlswarden.RulePass, Message: "ok"}
			sp1.failed, sp2.failed = append(sp1.failed, f), append(sp2.failed, f)
		}
		r := result(host, base.Add(time.Duration(i)*time.Second), sp1, sp2)
		addScan(b, s, t.ID, r)
	}
	return s
}

// scrapeHTTP serves one scrape of reg into a discarding recorder.
func scrapeHTTP(b *testing.B, h http.Handler) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("scrape: %d", rec.Code)
	}
}

// BenchmarkScrape10kSQLite measures scrapes of 10,000 endpoints on SQLite.
func BenchmarkScrape10kSQLite(b *testing.B) { benchScrape(b, seedEstate(b, sqliteStore(b), 10_000)) }

// BenchmarkScrape10kPostgres measures scrapes of 10,000 endpoints on
// Postgres.
func BenchmarkScrape10kPostgres(b *testing.B) {
	benchScrape(b, seedEstate(b, postgresStore(b), 10_000))
}

// benchScrape measures a scrape of an estate of 10,000 endpoints (20,000
// addresses), encoded as the HTTP handler does: cold is the first scrape
// after a start (every scan's documents decoded), warm every later one
// (scan states only), in full and summary detail.
func benchScrape(b *testing.B, s postureStore) {
	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			reg := prometheus.NewRegistry()
			if _, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{}); err != nil {
				b.Fatal(err)
			}
			scrapeHTTP(b, metrics.Handler(reg))
		}
	})
	for _, detail := range []metrics.Detail{metrics.DetailFull, metrics.DetailSummary} {
		b.Run("warm-"+string(detail), func(b *testing.B) {
			reg := prometheus.NewRegistry()
			if _, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{Detail: detail}); err != nil {
				b.Fatal(err)
			}
			h := metrics.Handler(reg)
			scrapeHTTP(b, h)
			b.ReportAllocs()
			for b.Loop() {
				scrapeHTTP(b, h)
			}
		})
	}
}
