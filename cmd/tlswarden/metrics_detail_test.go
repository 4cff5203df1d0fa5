package main

import (
	"io"
	"testing"

	"github.com/tlswarden/tlswarden/metrics"
)

// TestMetricsDetailFlag checks --metrics-detail and TLSWARDEN_METRICS_DETAIL
// on serve and worker: the flag wins over the environment, full is the
// default, and anything else is refused when the flags are parsed.
func TestMetricsDetailFlag(t *testing.T) {
	tests := []struct {
		name    string
		worker  bool
		env     string
		args    []string
		want    metrics.Detail
		wantErr bool
	}{
		{name: "default", want: metrics.DetailFull},
		{name: "flag", args: []string{"--metrics-detail", "summary"}, want: metrics.DetailSummary},
		{name: "env", env: "summary", want: metrics.DetailSummary},
		{name: "flag over env", env: "summary", args: []string{"--metrics-detail=full"}, want: metrics.DetailFull},
		{name: "worker", worker: true, args: []string{"--metrics-detail", "summary"}, want: metrics.DetailSummary},
		{name: "bad flag", args: []string{"--metrics-detail", "verbose"}, wantErr: true},
		{name: "bad env on worker", worker: true, env: "Full", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("TLSWARDEN_METRICS_DETAIL", tc.env)
			m := NewMain(io.Discard, io.Discard)
			m.Worker = tc.worker
			err := m.ParseFlags(tc.args)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseFlags(%q) with env %q: no error, detail %q", tc.args, tc.env, m.MetricsDetail)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFlags(%q): %v", tc.args, err)
			}
			if m.MetricsDetail != tc.want {
				t.Errorf("ParseFlags(%q) with env %q: detail %q, want %q", tc.args, tc.env, m.MetricsDetail, tc.want)
			}
		})
	}
}
