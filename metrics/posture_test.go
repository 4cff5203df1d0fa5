package metrics_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/tlswarden/tlswarden/metrics"
)

// scrape gathers reg and returns the text exposition without the
// collection-time series, which vary from run to run.
func scrape(tb testing.TB, reg prometheus.Gatherer) string {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatalf("Gather: %v", err)
	}
	var buf bytes.Buffer
	for _, mf := range mfs {
		if mf.GetName() == "tlswarden_posture_collect_duration_seconds" {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.String()
}

func postureRegistry(tb testing.TB, s postureStore, cfg metrics.PostureConfig) *prometheus.Registry {
	tb.Helper()
	reg := prometheus.NewRegistry()
	if _, err := metrics.RegisterPosture(reg, s, cfg); err != nil {
		tb.Fatal(err)
	}
	return reg
}

// TestPosture checks the full exposition of the fixture estate against a
// golden file, on both stores: they must give the same bytes.
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
			reg := postureRegistry(t, s, metrics.PostureConfig{Detail: tc.detail})
			got := scrape(t, reg)
			golden(t, tc.golden, got)
			if again := scrape(t, reg); again != got {
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
