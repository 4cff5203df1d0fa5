package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

// apiClient talks to the service under test, with a bearer token when
// token is set.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (c apiClient) do(method, path string, body any, want int, out any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out == nil {
		return
	}
	if s, ok := out.(*string); ok {
		*s = string(data)
		return
	}
	if err := json.Unmarshal(data, out); err != nil {
		c.t.Fatalf("%s %s: %v\n%s", method, path, err, data)
	}
}

// scan asks for a scan of a target and polls until its job is done.
func (c apiClient) scan(targetID int64) jobs.Request {
	c.t.Helper()
	var req jobs.Request
	c.do("POST", fmt.Sprintf("/api/v1/targets/%d/scans", targetID), map[string]string{"requested_by": "e2e"}, http.StatusAccepted, &req)
	deadline := time.Now().Add(20 * time.Second)
	for !req.Done {
		if time.Now().After(deadline) {
			c.t.Fatalf("scan request %d not done after 20s: %+v", req.ID, req)
		}
		time.Sleep(50 * time.Millisecond)
		c.do("GET", fmt.Sprintf("/api/v1/scan-requests/%d", req.ID), nil, http.StatusOK, &req)
	}
	if req.State != "completed" || req.ScanID == 0 {
		c.t.Fatalf("scan request %d ended %s: %v", req.ID, req.State, req.Errors)
	}
	return req
}

// TestServeEndToEnd runs the service as `tlswarden serve` wires it, on
// 127.0.0.1:0 with the embedded store, and with Postgres: targets imported
// with the CLI, scanned on request through the API, then one server
// reconfigured to accept TLS 1.0 and scanned again, and the regression
// read back.
func TestServeEndToEnd(t *testing.T) {
	for _, backend := range testdb.Names {
		t.Run(backend, func(t *testing.T) { testServeEndToEnd(t, backend) })
	}
}

func testServeEndToEnd(t *testing.T, backend string) {
	ctx := t.Context()
	dir := t.TempDir()
	storeArgs := []string{"--data-dir", dir}
	if backend == "postgres" {
		storeArgs = []string{"--database-url", testdb.PostgresURL(t)}
	}

	ca := tlstest.NewCA(t, "e2e CA")
	cert := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
	modern := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	legacy := &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{cert}, CipherSuites: []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	web := tlstest.NewSwitchServer(t, modern, nil)
	mail := tlstest.NewSwitchServer(t, modern, nil)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.DER}), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	err := m.ParseFlags(append([]string{"--listen", "127.0.0.1:0", "--allow-cidr", "127.0.0.0/8",
		"--ca-file", caFile, "--schedule", "off", "--http-port", "1", "--log-level", "warn"}, storeArgs...))
	if err != nil {
		t.Fatal(err)
	}
	m.Jobs.PollInterval = 50 * time.Millisecond
	if err := m.Run(ctx); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	anon := apiClient{t: t, base: m.URL()}
	anon.do("GET", "/healthz", nil, http.StatusOK, nil)
	anon.do("GET", "/readyz", nil, http.StatusOK, nil)

	// Writes need an admin token, made with the CLI in the service's store.
	anon.do("POST", "/api/v1/targets", map[string]any{"host": "a.example"}, http.StatusUnauthorized, nil)
	c := apiClient{t: t, base: m.URL(), token: createToken(t, storeArgs, "e2e", "admin")}
	reader := apiClient{t: t, base: m.URL(), token: createToken(t, storeArgs, "grafana", "read")}
	reader.do("POST", "/api/v1/targets", map[string]any{"host": "a.example"}, http.StatusForbidden, nil)
	reader.do("GET", "/api/v1/targets", nil, http.StatusOK, nil)

	// Import with the CLI, straight into the store the service uses.
	file := filepath.Join(dir, "targets.yaml")
	yamlText := fmt.Sprintf(`targets:
  - host: %s
    port: %d
    owner: web-team
    tags: [prod]
  - host: %s:%d
    owner: mail-team
`, web.Addr.Addr(), web.Addr.Port(), mail.Addr.Addr(), mail.Addr.Port())
	if err := os.WriteFile(file, []byte(yamlText), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCmd(t, "", append(append([]string{"targets", "import"}, storeArgs...), file)...)
	if code != exitOK || !strings.Contains(out, "2 added, 0 changed, 0 unchanged") {
		t.Fatalf("targets import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "", append(append([]string{"targets", "import"}, storeArgs...), file)...)
	if code != exitOK || !strings.Contains(out, "0 added, 0 changed, 2 unchanged") {
		t.Errorf("second import is not idempotent: exit %d\n%s", code, out)
	}

	var list struct{ Targets []store.Target }
	c.do("GET", "/api/v1/targets?owner=web-team", nil, http.StatusOK, &list)
	if len(list.Targets) != 1 || list.Targets[0].Port != int(web.Addr.Port()) || !list.Targets[0].Enabled {
		t.Fatalf("targets of web-team: %+v", list.Targets)
	}
	webID := list.Targets[0].ID

	first := c.scan(webID)
	var result store.ScanResult
	c.do("GET", fmt.Sprintf("/api/v1/scans/%d/result", first.ScanID), nil, http.StatusOK, &result)
	if result.Report.Status != tlswarden.StatusOK || len(result.Report.Endpoints) != 1 || result.Evaluation == nil {
		t.Fatalf("first scan: %s, %d endpoints, evaluated %v", result.Report.Status, len(result.Report.Endpoints), result.Evaluation != nil)
	}
	if tr := result.Report.Endpoints[0].TLS; tr == nil || tr.Supported(tlswarden.TLS10) || !tr.Supported(tlswarden.TLS13) {
		t.Errorf("first scan's TLS facts: %+v", tr)
	}
	var ep struct {
		Report     tlswarden.EndpointReport
		Evaluation *tlswarden.EndpointEvaluation
	}
	c.do("GET", fmt.Sprintf("/api/v1/scans/%d/endpoints/0", first.ScanID), nil, http.StatusOK, &ep)
	if ep.Report.Endpoint.Addr != web.Addr || ep.Evaluation == nil || ep.Evaluation.Grade == nil {
		t.Errorf("endpoint report: %+v", ep)
	}
	var status struct {
		store.Target
		LatestScan *store.Scan `json:"latest_scan"`
		Endpoints  []store.EndpointSummary
	}
	c.do("GET", fmt.Sprintf("/api/v1/targets/%d", webID), nil, http.StatusOK, &status)
	if status.LatestScan == nil || status.LatestScan.ID != first.ScanID || len(status.Endpoints) != 1 || status.Endpoints[0].MinVersion != tlswarden.TLS12 {
		t.Errorf("target status: %+v", status)
	}
	var findings struct{ Findings []store.EstateFinding }
	c.do("GET", fmt.Sprintf("/api/v1/findings?target_id=%d", webID), nil, http.StatusOK, &findings)
	for _, f := range findings.Findings {
		if f.RuleID == "" || f.TargetID != webID || f.ScanID != first.ScanID {
			t.Errorf("finding %+v", f)
		}
	}

	// The operator re-enables TLS 1.0; the next scan shows the regression.
	web.SetConfig(legacy)
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	second := c.scan(webID)
	var regs struct{ Events []store.Event }
	c.do("GET", "/api/v1/regressions?since="+since, nil, http.StatusOK, &regs)
	var added []tlswarden.Version
	for _, e := range regs.Events {
		if !e.Regression || e.TargetID != webID || e.ScanID != second.ScanID {
			t.Errorf("regression %+v", e)
		}
		var d history.Details
		if err := json.Unmarshal(e.Details, &d); err != nil {
			t.Fatal(err)
		}
		if e.Kind == store.EventVersionAdded {
			added = append(added, d.Version)
			if d.Version == tlswarden.TLS10 && !d.BelowTLS12 {
				t.Errorf("TLS 1.0 added without below_tls12: %+v", d)
			}
		}
	}
	if len(added) != 2 || added[0] != tlswarden.TLS10 || added[1] != tlswarden.TLS11 {
		t.Errorf("versions added as regressions: %v, want TLSv1.0 and TLSv1.1; events %+v", added, regs.Events)
	}
	var opened struct{ Events []store.Event }
	c.do("GET", fmt.Sprintf("/api/v1/events?target_id=%d&kind=finding_opened", webID), nil, http.StatusOK, &opened)
	if len(opened.Events) == 0 {
		t.Errorf("no finding_opened event after TLS 1.0 was enabled")
	}

	var csv string
	c.do("GET", "/api/v1/posture.csv", nil, http.StatusOK, &csv)
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "target_id,host,port") ||
		!strings.Contains(csv, "TLSv1.0,TLSv1.3") || !strings.Contains(csv, "not_scanned") {
		t.Errorf("posture CSV:\n%s", csv)
	}
	var prom string
	c.do("GET", "/metrics", nil, http.StatusOK, &prom)
	for _, want := range []string{`tlswarden_scans_total{result="success"} 2`, "tlswarden_endpoint_info{", "tlswarden_tls_min_version{"} {
		if !strings.Contains(prom, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if stderr.Len() > 0 {
		t.Logf("service log:\n%s", stderr.String())
	}
}

// createToken makes an API token with the CLI and returns its secret.
func createToken(t *testing.T, storeArgs []string, name, role string) string {
	t.Helper()
	code, out, errOut := runCmd(t, "", append([]string{"tokens", "create", "--name", name, "--role", role}, storeArgs...)...)
	if code != exitOK || !strings.HasPrefix(out, "tlsw_") {
		t.Fatalf("tokens create: exit %d\n%s%s", code, out, errOut)
	}
	return strings.TrimSpace(out)
}

// syncBuffer is a bytes.Buffer safe to read while the service writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDemo runs `serve --demo` as a newcomer would, offline, and waits
// for its summary.
func TestServeDemo(t *testing.T) {
	var stdout, stderr syncBuffer
	m := NewMain(&stdout, &stderr)
	if err := m.ParseFlags([]string{"--demo", "--listen", "127.0.0.1:0", "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	m.Jobs.PollInterval = 50 * time.Millisecond
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	dir := m.tempDir
	defer func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the demo's temporary data directory %s is still there: %v", dir, err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "The demo's scans are done") {
		if time.Now().After(deadline) {
			t.Fatalf("no summary after 30s:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := stdout.String()
	if !strings.Contains(out, m.URL()+"/api/v1/findings") {
		t.Errorf("the demo does not say where to look:\n%s", out)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 5 {
			rows[f[0]] = line
		}
	}
	for name, want := range map[string]string{"modern": " compliant", "legacy": "non_compliant", "expired": "non_compliant", "self-signed": "non_compliant"} {
		if !strings.Contains(rows[name], want) {
			t.Errorf("demo endpoint %s: %q, want %q", name, rows[name], want)
		}
	}
	if !strings.Contains(rows["legacy"], "TLSv1.0-TLSv1.2") {
		t.Errorf("legacy endpoint's versions: %q", rows["legacy"])
	}
}
