package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	runtimemetrics "runtime/metrics"
	"sync"
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

// discardResponse is an http.ResponseWriter that counts the body and drops
// it, as a socket takes it; a recorder would keep the whole body and count
// its own growth in the allocations.
type discardResponse struct {
	header http.Header
	code   int
	n      int
}

func (d *discardResponse) Header() http.Header { return d.header }
func (d *discardResponse) WriteHeader(code int) {
	if d.code == 0 {
		d.code = code
	}
}
func (d *discardResponse) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	d.n += len(p)
	return len(p), nil
}

// scrapeHTTP serves one scrape through h into a discarding response, with
// Accept-Encoding: gzip when gzipped, and returns the body's size.
func scrapeHTTP(b *testing.B, h http.Handler, gzipped bool) int {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if gzipped {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	rec := &discardResponse{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.code != http.StatusOK || rec.n == 0 || (rec.header.Get("Content-Encoding") == "gzip") != gzipped {
		b.Fatalf("scrape: %d, %d bytes, Content-Encoding %q", rec.code, rec.n, rec.header.Get("Content-Encoding"))
	}
	return rec.n
}

// heapPeak samples the bytes of heap objects (live or not yet collected)
// every millisecond until the returned function is called, which returns
// the highest sample.
func heapPeak() (stop func() uint64) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak uint64
	wg.Go(func() {
		s := []runtimemetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtimemetrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak }
}

// BenchmarkScrape10kSQLite measures scrapes of 10,000 endpoints on SQLite.
func BenchmarkScrape10kSQLite(b *testing.B) { benchScrape(b, seedEstate(b, sqliteStore(b), 10_000)) }

// BenchmarkScrape10kPostgres measures scrapes of 10,000 endpoints on
// Postgres.
func BenchmarkScrape10kPostgres(b *testing.B) {
	benchScrape(b, seedEstate(b, postgresStore(b), 10_000))
}

// benchScrape measures a scrape of an estate of 10,000 endpoints (20,000
// addresses) through metrics.Handler: cold is the first scrape after a
// start, without Prime (every scan's postures read and measured), prime
// is Prime alone (what serve does at start, so that the first scrape is
// warm), warm every later scrape (scan states only), in full and summary
// detail, plain and gzipped. Besides time and allocations it reports the
// body's size and the peak of the heap (the process's heap objects,
// garbage not yet collected included) over the scrapes.
func benchScrape(b *testing.B, s postureStore) {
	b.Run("cold", func(b *testing.B) {
		measure(b, func() int {
			reg := prometheus.NewRegistry()
			c, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{})
			if err != nil {
				b.Fatal(err)
			}
			return scrapeHTTP(b, metrics.Handler(reg, c), false)
		})
	})
	b.Run("prime", func(b *testing.B) {
		measure(b, func() int {
			c, err := metrics.NewPostureCollector(s, metrics.PostureConfig{})
			if err != nil {
				b.Fatal(err)
			}
			if n, err := c.Prime(b.Context()); err != nil || n != 10_000 {
				b.Fatalf("Prime: %d targets with measurements, %v", n, err)
			}
			return 0
		})
	})
	for _, tc := range []struct {
		name    string
		detail  metrics.Detail
		gzipped bool
	}{
		{"warm-full", metrics.DetailFull, false},
		{"warm-full-gzip", metrics.DetailFull, true},
		{"warm-summary", metrics.DetailSummary, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			c, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{Detail: tc.detail})
			if err != nil {
				b.Fatal(err)
			}
			h := metrics.Handler(reg, c)
			scrapeHTTP(b, h, tc.gzipped)
			measure(b, func() int { return scrapeHTTP(b, h, tc.gzipped) })
		})
	}
}

// measure runs scrape in the benchmark loop and reports the body's size
// and the heap's peak.
func measure(b *testing.B, scrape func() int) {
	runtime.GC()
	stop := heapPeak()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = scrape()
	}
	b.ReportMetric(float64(stop())/1e6, "peak-heap-MB")
	b.ReportMetric(float64(n)/1e6, "body-MB")
}
