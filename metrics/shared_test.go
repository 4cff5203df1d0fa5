package metrics_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden/metrics"
)

// slowCollector takes a while to collect, as the posture collector does
// on a large estate, and counts its collections.
type slowCollector struct {
	calls atomic.Int32
	desc  *prometheus.Desc
}

func (c *slowCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *slowCollector) Collect(ch chan<- prometheus.Metric) {
	c.calls.Add(1)
	time.Sleep(time.Second)
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1)
}

// TestConcurrentScrapesShareOneBody: scrapes that arrive while one is
// being built get its body, plain or gzipped, instead of each gathering
// and encoding its own.
func TestConcurrentScrapesShareOneBody(t *testing.T) {
	s := sqliteStore(t)
	seed(t, s)
	reg := prometheus.NewRegistry()
	c, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowCollector{desc: prometheus.NewDesc("test_slow", "A slow collector.", nil, nil)}
	reg.MustRegister(slow)
	h := metrics.Handler(reg, c)
	plain := scrape(t, h)
	slow.calls.Store(0)

	const n = 40
	var wg sync.WaitGroup
	bodies := make([]string, n)
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if i%2 == 0 {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			codes[i] = rec.Code
			if rec.Code == http.StatusOK {
				bodies[i] = normalize(t, parse(t, decoded(t, rec)))
			}
		})
	}
	wg.Wait()
	for i := range n {
		if codes[i] != http.StatusOK || bodies[i] != plain {
			t.Errorf("scrape %d: %d, body differs from a lone scrape's: %v", i, codes[i], bodies[i] != plain)
		}
	}
	// Each gathering takes a second: 40 scrapes one after the other would
	// gather 40 times.
	if got := slow.calls.Load(); got > n/4 {
		t.Errorf("%d concurrent scrapes gathered %d times; want them to share", n, got)
	}
}

// decoded returns a recorded body, gunzipped when it is gzipped.
func decoded(t *testing.T, rec *httptest.ResponseRecorder) io.Reader {
	t.Helper()
	if rec.Header().Get("Content-Encoding") != "gzip" {
		return rec.Body
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Error(err)
		return strings.NewReader("")
	}
	return zr
}
