package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/metrics"
	"github.com/tlswarden/tlswarden/store"
)

// fullHandler serves what tlswarden serve exports: the standard
// collectors, the posture and the operational metrics, with some activity.
func fullHandler(tb testing.TB, s postureStore) http.Handler {
	tb.Helper()
	reg, err := metrics.NewRegistry()
	if err != nil {
		tb.Fatal(err)
	}
	posture, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{})
	if err != nil {
		tb.Fatal(err)
	}
	ops, err := metrics.NewOperations(reg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := metrics.RegisterQueueDepth(reg, func() float64 { return 3 }); err != nil {
		tb.Fatal(err)
	}
	r := result("legacy.example.org", base, legacy("192.0.2.1:443"))
	ops.ObserveScan(&r.Report)
	ops.JobError("scan")
	ops.ObserveStore("finish_scan", time.Now().Add(-5*time.Millisecond))
	return metrics.Handler(reg, posture)
}

// TestPromtoolCheckMetrics lints a real scrape over HTTP with promtool.
func TestPromtoolCheckMetrics(t *testing.T) {
	bin := tlstest.RequireBinary(t, "promtool")
	s := sqliteStore(t)
	seed(t, s)
	srv := httptest.NewServer(fullHandler(t, s))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	for _, want := range []string{"tlswarden_tls_min_version{", "tlswarden_scans_total{result=\"failed\"} 0",
		"tlswarden_job_queue_depth 3", "tlswarden_build_info{", "go_goroutines"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	cmd := exec.CommandContext(t.Context(), bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// failingStore is a posture store whose reads fail.
type failingStore struct{ postureStore }

func (failingStore) ListScanStates(context.Context) ([]store.ScanState, error) {
	return nil, errors.New("database is down")
}

// TestPostureStoreDown checks that a store error gives
// tlswarden_posture_collect_success 0 and no stale posture.
func TestPostureStoreDown(t *testing.T) {
	got := scrape(t, postureHandler(t, failingStore{sqliteStore(t)}, metrics.PostureConfig{}))
	want := "# HELP tlswarden_posture_collect_success"
	if !strings.HasPrefix(got, want) || !strings.Contains(got, "tlswarden_posture_collect_success 0") ||
		strings.Count(got, "# TYPE") != 1 {
		t.Errorf("scrape with the store down:\n%s", got)
	}
}

// TestScanResult checks how reports are classified for
// tlswarden_scans_total.
func TestScanResult(t *testing.T) {
	ok := result("a.example.org", base, modern("192.0.2.1:443"), modern("192.0.2.2:443"))
	partial := ok
	partial.Report.Endpoints = append([]tlswarden.EndpointReport{}, ok.Report.Endpoints...)
	partial.Report.Endpoints[1].Status = tlswarden.StatusRefused
	failed := failedResult("a.example.org", base, "192.0.2.1:443")
	dns := tlswarden.Report{Status: tlswarden.StatusDNSError}
	canceled := tlswarden.Report{Status: tlswarden.StatusCanceled}
	for _, tc := range []struct {
		r    *tlswarden.Report
		want string
	}{
		{&ok.Report, metrics.ScanSuccess}, {&partial.Report, metrics.ScanPartial}, {&failed.Report, metrics.ScanFailed},
		{&dns, metrics.ScanFailed}, {&canceled, metrics.ScanCanceled},
	} {
		if got := metrics.ScanResult(tc.r); got != tc.want {
			t.Errorf("ScanResult(status %s, %d endpoints) = %s, want %s", tc.r.Status, len(tc.r.Endpoints), got, tc.want)
		}
	}
	var nilOps *metrics.Operations
	nilOps.ObserveScan(&dns) // a nil *Operations does nothing
}
