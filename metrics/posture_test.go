package metrics_test

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tlswarden/tlswarden/metrics"
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
