package metrics_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tlswarden/tlswarden/metrics"
	"github.com/tlswarden/tlswarden/store"
)

// scrape serves one scrape through h and returns it parsed and normalised
// as the registry normalises what it gathers (families by name, labels by
// name, series by label values), in the text format, without the
// collection-time series, which vary from run to run. What Handler writes
// itself is so compared with what client_golang wrote for the same
// fixture, in the golden files.
func scrape(tb testing.TB, h http.Handler) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("scrape: %d", rec.Code)
	}
	return normalize(tb, parse(tb, rec.Body))
}

// parse parses a text exposition.
func parse(tb testing.TB, r io.Reader) map[string]*dto.MetricFamily {
	tb.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		tb.Fatalf("parse the scrape: %v", err)
	}
	return mfs
}

// normalize renders families as text the way the registry orders them,
// leaving out tlswarden_posture_collect_duration_seconds.
func normalize(tb testing.TB, mfs map[string]*dto.MetricFamily) string {
	tb.Helper()
	var buf bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(mfs)) {
		if name == "tlswarden_posture_collect_duration_seconds" {
			continue
		}
		mf := mfs[name]
		for _, m := range mf.Metric {
			slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
		}
		slices.SortStableFunc(mf.Metric, func(a, b *dto.Metric) int {
			for i := range min(len(a.Label), len(b.Label)) {
				if c := strings.Compare(a.Label[i].GetValue(), b.Label[i].GetValue()); c != 0 {
					return c
				}
			}
			return len(a.Label) - len(b.Label)
		})
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.String()
}

// postureHandler serves a registry with only a posture collector over s.
func postureHandler(tb testing.TB, s postureStore, cfg metrics.PostureConfig) http.Handler {
	tb.Helper()
	reg := prometheus.NewRegistry()
	c, err := metrics.RegisterPosture(reg, s, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return metrics.Handler(reg, c)
}

// TestPosture checks the full exposition of the fixture estate, as served
// by Handler, against a golden file, on both stores: they must give the
// same bytes. The golden files were written by client_golang's text
// encoder before the per-endpoint series bypassed the registry, and are
// unchanged since.
func TestPosture(t *testing.T) {
	for _, tc := range []struct {
		name   string
		open   func(testing.TB) postureStore
		detail metrics.Detail
		golden string
	}{
		{"sqlite", sqliteStore, metrics.DetailFull, "posture_full.txt"},
		{"postgres", postgresStore, metrics.DetailFull, "posture_full.txt"},
		{"sqlite summary", sqliteStore, metrics.DetailSummary, "posture_summary.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.open(t)
			seed(t, s)
			h := postureHandler(t, s, metrics.PostureConfig{Detail: tc.detail})
			got := scrape(t, h)
			golden(t, tc.golden, got)
			if again := scrape(t, h); again != got {
				t.Errorf("second (cached) scrape differs:\n%s", cmp.Diff(got, again))
			}
		})
	}
}

// TestPostureFromDocuments checks that scans finished before the store
// kept their postures (schema version 4) give the same exposition: the
// store derives their postures from the documents.
func TestPostureFromDocuments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tlswarden.db")
	s := sqliteStoreAt(t, path)
	seed(t, s)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.ExecContext(t.Context(), "DELETE FROM scan_postures")
	if n, _ := res.RowsAffected(); err != nil || n == 0 {
		t.Fatalf("forget the kept postures: %d rows, %v", n, err)
	}
	golden(t, "posture_full.txt", scrape(t, postureHandler(t, s, metrics.PostureConfig{})))
}

// TestPosturePrime checks that Prime caches what the first scrape would
// read, that a scrape arriving while it runs waits for it rather than
// reading the postures itself, and that a disabled target's scan is never
// read.
func TestPosturePrime(t *testing.T) {
	s := &countingStore{postureStore: sqliteStore(t), entered: make(chan struct{}), hold: make(chan struct{})}
	seed(t, s)
	off := addTarget(t, s, "disabled.example.org", "org-a")
	addScan(t, s, off.ID, result("disabled.example.org", base, modern("192.0.2.9:443")))
	off.Enabled = false
	if _, err := s.UpdateTarget(t.Context(), off); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	c, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := metrics.Handler(reg, c)
	primed := make(chan error, 1)
	go func() {
		n, err := c.Prime(t.Context())
		if err == nil && n != 3 {
			err = fmt.Errorf("%d targets with measurements, want 3", n)
		}
		primed <- err
	}()
	<-s.entered // Prime is reading the postures
	scraped := make(chan string, 1)
	go func() { scraped <- scrape(t, h) }()
	time.Sleep(50 * time.Millisecond) // the scrape reaches the collector and waits
	close(s.hold)
	if err := <-primed; err != nil {
		t.Fatalf("Prime: %v", err)
	}
	golden(t, "posture_full.txt", <-scraped)
	golden(t, "posture_full.txt", scrape(t, h))
	if n := s.reads.Load(); n != 1 {
		t.Errorf("the postures were read %d times, want once (by Prime)", n)
	}
}

// countingStore counts ListEndpointPostures calls and holds the first one
// until hold is closed, after closing entered.
type countingStore struct {
	postureStore
	reads   atomic.Int32
	entered chan struct{}
	hold    chan struct{}
}

func (c *countingStore) ListEndpointPostures(ctx context.Context, scanIDs []int64) ([]store.EndpointPosture, error) {
	if c.reads.Add(1) == 1 {
		close(c.entered)
		<-c.hold
	}
	return c.postureStore.ListEndpointPostures(ctx, scanIDs)
}

// golden compares got with testdata/name, rewriting it when
// TLSWARDEN_UPDATE_GOLDEN=1.
func golden(tb testing.TB, name, got string) {
	tb.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("TLSWARDEN_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read golden file (run with TLSWARDEN_UPDATE_GOLDEN=1 to create it): %v", err)
	}
	if d := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); d != "" {
		tb.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}
