package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden/internal/tlstest"
)

// e2eBudget bounds TestPrometheusAlertsE2E from the start of serve to the
// last assertion.
const e2eBudget = 40 * time.Second

// TestPrometheusAlertsE2E runs `serve --demo` in process on 127.0.0.1 and
// Debian's Prometheus scraping it every second with the rules of
// deploy/prometheus/alerts.yml, and asserts through Prometheus's HTTP API
// that TLSWardenLegacyTLSVersion fires for the demo's legacy endpoint
// (TLS 1.0) and not for its modern one (TLS 1.2 and 1.3). Everything
// listens on loopback and is stopped on cleanup.
func TestPrometheusAlertsE2E(t *testing.T) {
	promBin := tlstest.RequireBinary(t, "prometheus")
	ctx, cancel := context.WithTimeout(t.Context(), e2eBudget)
	defer cancel()

	var stdout, stderr lockedBuffer
	m := NewMain(&stdout, &stderr)
	if err := m.ParseFlags([]string{"--demo", "--listen", "127.0.0.1:0", "--schedule", "off", "--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	endpoints := map[string]string{} // testbed name -> endpoint label
	for _, ep := range m.testbed.Endpoints {
		endpoints[ep.Name] = ep.Addr.String()
		if !ep.Kind.SpeaksHTTP() {
			endpoints[ep.Name] = string(ep.Kind) + "://" + ep.Addr.String()
		}
	}
	legacy, modern := endpoints["legacy"], endpoints["modern"]
	plainMail, mail := endpoints["mail-no-starttls"], endpoints["mail-tls10"]
	if legacy == "" || modern == "" || plainMail == "" || mail == "" {
		t.Fatalf("the testbed has no legacy, modern or mail endpoints: %v", endpoints)
	}

	prom := startPrometheus(t, promBin, strings.TrimPrefix(m.URL(), "http://"))
	const alert = "TLSWardenLegacyTLSVersion"
	const noSTARTTLS = "TLSWardenSTARTTLSNotOffered"
	var firing, plain map[string]bool
	for {
		firing, plain = prom.firing(ctx, alert), prom.firing(ctx, noSTARTTLS)
		if firing[legacy] && prom.minVersion(ctx, modern) != "" && plain[plainMail] && firing[mail] {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %s, %s fires for %v, want the legacy endpoint %s and the mail one %s (and the modern one %s measured); %s for %v, want %s\nserve stderr:\n%s\nprometheus:\n%s",
				e2eBudget, alert, firing, legacy, mail, modern, noSTARTTLS, plain, plainMail, stderr.String(), prom.log.String())
		case <-time.After(250 * time.Millisecond):
		}
	}
	// The modern endpoint is measured (tlswarden_tls_min_version is there)
	// and evaluated in the same rule evaluation as the legacy one.
	if v := prom.minVersion(ctx, modern); v != "1.2" {
		t.Errorf("tlswarden_tls_min_version of the modern endpoint %s is %q in Prometheus, want 1.2", modern, v)
	}
	t.Logf("%s fires for %v; legacy %s, modern %s", alert, firing, legacy, modern)
	if firing[modern] {
		t.Errorf("%s fires for the modern endpoint %s (TLS 1.2 and 1.3 only)", alert, modern)
	}
	// The mail server that offers STARTTLS was scanned in the same run
	// (its TLS 1.0 fires the version alert): only the other one lacks it.
	if plain[mail] || plain[legacy] {
		t.Errorf("%s fires for %v, want only %s", noSTARTTLS, plain, plainMail)
	}
}

// promServer is a Prometheus started by the test.
type promServer struct {
	t    *testing.T
	base string
	log  *lockedBuffer
}

// startPrometheus starts prometheus scraping target (HOST:PORT) every
// second with the repository's alert rules, evaluated every second, and
// waits until it is ready. It is killed on cleanup.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(dir, "alerts.yml")
	writeInstantRules(t, filepath.Join("..", "..", "deploy", "prometheus", "alerts.yml"), rules)
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: tlswarden
    static_configs:
      - targets: [%q]
`, rules, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	p := &promServer{t: t, base: "http://" + addr, log: new(lockedBuffer)}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	// Registered after t.TempDir, so it runs first: the data directory is
	// removed only once Prometheus has exited.
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(p.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-done:
			t.Fatalf("prometheus exited: %v\n%s", cmd.ProcessState, p.log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready on %s after 15s: %v\n%s", addr, err, p.log.String())
		}
	}
}

// writeInstantRules copies the alert rules at src to dst with every `for:`
// set to 0s: the rules wait 5 minutes before firing, which a bounded test
// cannot. The YAML is parsed (go.yaml.in/yaml/v3) and only the `for` values
// are changed, so the expressions under test are the shipped ones.
func writeInstantRules(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	n := zeroFor(&doc)
	if n == 0 {
		t.Logf("%s has no `for:`; the rules are used as they are", src)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// zeroFor sets the value of every mapping key `for` under n to 0s and says
// how many it changed.
func zeroFor(n *yaml.Node) int {
	changed := 0
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, v := n.Content[i], n.Content[i+1]; k.Value == "for" && v.Kind == yaml.ScalarNode {
				v.Value = "0s"
				changed++
			}
		}
	}
	for _, c := range n.Content {
		changed += zeroFor(c)
	}
	return changed
}

// freeLoopbackAddr returns 127.0.0.1:PORT with a port that was free a
// moment ago (Prometheus takes its address as a flag).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// firing returns the endpoints for which the alert named name fires, from
// GET /api/v1/alerts (nil while Prometheus cannot answer).
func (p *promServer) firing(ctx context.Context, name string) map[string]bool {
	var data struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if !p.get(ctx, "/api/v1/alerts", &data) {
		return nil
	}
	out := map[string]bool{}
	for _, a := range data.Alerts {
		if a.Labels["alertname"] == name && a.State == "firing" {
			out[a.Labels["endpoint"]] = true
		}
	}
	return out
}

// minVersion returns tlswarden_tls_min_version of endpoint as Prometheus
// has it now, "" when it has none.
func (p *promServer) minVersion(ctx context.Context, endpoint string) string {
	var data struct {
		Result []struct {
			Value [2]any `json:"value"`
		} `json:"result"`
	}
	q := fmt.Sprintf(`tlswarden_tls_min_version{endpoint=%q}`, endpoint)
	if !p.get(ctx, "/api/v1/query?query="+url.QueryEscape(q), &data) || len(data.Result) != 1 {
		return ""
	}
	s, _ := data.Result[0].Value[1].(string)
	return s
}

// get reads a Prometheus API answer's data into out; false when the API
// cannot answer (yet).
func (p *promServer) get(ctx context.Context, path string, out any) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&env) != nil || env.Status != "success" {
		return false
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	return true
}

// lockedBuffer is a bytes.Buffer written by a process and a test at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
