package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
)

// TestWorker runs a worker beside nothing else: a scan asked for with the
// CLI is worked by it, and it serves its metrics.
func TestWorker(t *testing.T) {
	dir := t.TempDir()
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
	srv := tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert}})
	code, _, errOut := runCmd(t, "", "targets", "add", "--data-dir", dir, srv.String())
	if code != exitOK {
		t.Fatalf("targets add: %s", errOut)
	}
	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	m.Worker = true
	if err := m.ParseFlags([]string{"--data-dir", dir, "--listen", "127.0.0.1:0", "--allow-cidr", "127.0.0.1", "--schedule", "off", "--no-http", "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	m.Jobs.PollInterval = 50 * time.Millisecond
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	code, out, errOut := runCmd(t, "", "targets", "scan", "--data-dir", dir, srv.String())
	if code != exitOK {
		t.Fatalf("targets scan: %s", errOut)
	}
	_, after, _ := strings.Cut(out, "scan request ")
	var id int64
	if _, err := fmt.Sscan(after, &id); err != nil {
		t.Fatalf("targets scan said %q", out)
	}
	deadline := time.Now().Add(20 * time.Second)
	var r jobs.Request
	for !r.Done && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		var err error
		if r, err = m.queue.Request(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if r.State != "completed" || r.ScanID == 0 {
		t.Fatalf("scan request worked by the worker: %+v", r)
	}
	resp, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.String(), "tlswarden_scans_total") || !strings.Contains(body.String(), "tlswarden_job_queue_depth 0") {
		t.Errorf("worker metrics lack tlswarden_scans_total or an empty queue's tlswarden_job_queue_depth 0")
	}
	resp, err = http.Get(m.URL() + "/api/v1/targets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("a worker serves the API: %s", resp.Status)
	}
}

// TestWorkerAuthMetrics: with --auth-metrics a worker's /metrics needs a
// token from the shared store.
func TestWorkerAuthMetrics(t *testing.T) {
	dir := t.TempDir()
	code, secret, errOut := runCmd(t, "", "tokens", "create", "--data-dir", dir, "--name", "prometheus", "--role", "read")
	if code != exitOK {
		t.Fatalf("tokens create: %s", errOut)
	}
	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	m.Worker = true
	if err := m.ParseFlags([]string{"--data-dir", dir, "--listen", "127.0.0.1:0", "--auth-metrics", "--schedule", "off", "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, tc := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"tlsw_wrong", http.StatusUnauthorized}, {strings.TrimSpace(secret), http.StatusOK}} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m.URL()+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET /metrics with token %q: %s, want %d", tc.token, resp.Status, tc.want)
		}
	}
}
