package metrics_test

import (
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/metrics"
	"github.com/tlswarden/tlswarden/store"
)

// Each endpoint exports how long it may wait between scheduled scans, as
// PostureConfig.Interval says; one scanned on no schedule exports none.
func TestScanInterval(t *testing.T) {
	s := sqliteStore(t)
	addTarget(t, s, "daily.example.org", "a")
	hourly := addTarget(t, s, "hourly.example.org", "a")
	addTarget(t, s, "manual.example.org", "a")
	interval := func(tg store.Target) time.Duration {
		switch tg.Host {
		case "daily.example.org":
			return 25 * time.Hour
		case "hourly.example.org":
			return time.Hour
		}
		return 0
	}
	addScan(t, s, hourly.ID, result("hourly.example.org", base, modern("192.0.2.9:443")))
	mfs := parse(t, get(t, postureHandler(t, s, metrics.PostureConfig{Interval: interval}), "").Body)
	mf := mfs["tlswarden_endpoint_scan_interval_seconds"]
	got := map[string]float64{}
	if mf != nil {
		for _, m := range mf.Metric {
			got[labels(m)["endpoint"]] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{"daily.example.org:443": 25 * 3600, "hourly.example.org:443": 3600}
	if len(got) != len(want) || got["daily.example.org:443"] != want["daily.example.org:443"] || got["hourly.example.org:443"] != want["hourly.example.org:443"] {
		t.Errorf("tlswarden_endpoint_scan_interval_seconds: %v, want %v", got, want)
	}
	if mfs := parse(t, get(t, postureHandler(t, s, metrics.PostureConfig{}), "").Body); mfs["tlswarden_endpoint_scan_interval_seconds"] != nil {
		t.Error("interval exported without PostureConfig.Interval")
	}
}
