package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden/metrics"
)

// BenchmarkScrapeUnderLoad10k measures one scrape of 10,000 endpoints (full
// detail, gzipped, over HTTP on loopback) while 40 other clients scrape
// the same handler without pause, as unauthenticated scrapers could. It
// reports the median, 90th percentile and worst of the measured scrapes.
//
//	go test -run '^$' -bench ScrapeUnderLoad10k -benchtime 20x ./metrics/
func BenchmarkScrapeUnderLoad10k(b *testing.B) {
	s := seedEstate(b, sqliteStore(b), 10_000)
	reg := prometheus.NewRegistry()
	c, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Prime(b.Context()); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(metrics.Handler(reg, c))
	defer srv.Close()
	ctx, cancel := context.WithCancel(b.Context())
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			for ctx.Err() == nil {
				scrapeURL(ctx, srv.URL)
			}
		})
	}
	time.Sleep(time.Second) // let the load build up
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := scrapeURL(b.Context(), srv.URL); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	cancel()
	wg.Wait()
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "median-s")
	b.ReportMetric(took[len(took)*9/10].Seconds(), "p90-s")
	b.ReportMetric(took[len(took)-1].Seconds(), "max-s")
}

// scrapeURL scrapes url as Prometheus does (gzip) and reads the whole body.
func scrapeURL(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
