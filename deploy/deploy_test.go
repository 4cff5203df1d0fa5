// Package deploy_test checks the deployment files: the Prometheus alert
// rules with promtool, the Grafana dashboard's queries against the metrics
// tlswarden exports, and that every YAML file parses.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/tlswarden/tlswarden/internal/testenv"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/metrics"
)

// TestAlertRules runs the rules' unit tests with promtool.
func TestAlertRules(t *testing.T) {
	bin := tlstest.RequireBinary(t, "promtool")
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestAlertmanagerConfig checks the shipped Alertmanager configuration
// with amtool and that its routes send each severity where its comment
// says: critical alerts to the pager relay and the chat channel, warnings
// to the chat channel only.
func TestAlertmanagerConfig(t *testing.T) {
	bin := testenv.Binary(t, "amtool")
	run := func(args ...string) string {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("check-config", "alertmanager.yml")
	for labels, want := range map[string]string{
		"severity=critical": "oncall,team-chat",
		"severity=warning":  "team-chat",
	} {
		got := run("config", "routes", "test", "--config.file=alertmanager.yml", labels, "org=web", "alertname=TLSWardenTest")
		if got != want {
			t.Errorf("an alert with %s goes to %q, want %q", labels, got, want)
		}
	}
}

// collecting is a Registerer that only asks collectors to describe
// themselves.
type collecting struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (c *collecting) Register(col prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 100)
	go func() { col.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			c.names[m[1]] = true
		}
	}
	return nil
}
func (c *collecting) MustRegister(cs ...prometheus.Collector) {
	for _, col := range cs {
		_ = c.Register(col)
	}
}
func (c *collecting) Unregister(prometheus.Collector) bool { return false }

// exported returns the names of every tlswarden metric, from the
// collectors' Describe output; a histogram's series names are added.
func exported(t *testing.T) map[string]bool {
	c := &collecting{names: map[string]bool{}}
	if _, err := metrics.RegisterPosture(c, nil, metrics.PostureConfig{}); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewOperations(c); err != nil {
		t.Fatal(err)
	}
	if err := metrics.RegisterQueueDepth(c, func() float64 { return 0 }); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"tlswarden_scan_duration_seconds", "tlswarden_store_operation_duration_seconds"} {
		if !c.names[n] {
			t.Fatalf("histogram %s not described", n)
		}
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			c.names[n+s] = true
		}
	}
	return c.names
}

// metricName finds the tlswarden metric names in a PromQL expression:
// identifiers starting tlswarden_ outside quotes (label names never do).
var metricName = regexp.MustCompile(`\btlswarden_[a-zA-Z0-9_]+`)

func namesIn(expr string) []string {
	var unquoted strings.Builder
	inQuote := false
	for _, r := range expr {
		if r == '"' {
			inQuote = !inQuote
			continue
		}
		if !inQuote {
			unquoted.WriteRune(r)
		}
	}
	return metricName.FindAllString(unquoted.String(), -1)
}

// panelExprs returns every target expression of the dashboard's panels,
// rows' nested panels included, by panel title.
func panelExprs(t *testing.T, path string) map[string][]string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string                  `json:"title"`
		Targets []struct{ Expr string } `json:"targets"`
		Panels  []json.RawMessage       `json:"panels"`
	}
	var dash struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct{ Name, Type string } `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !slices.ContainsFunc(dash.Templating.List, func(v struct{ Name, Type string }) bool { return v.Type == "datasource" }) {
		t.Errorf("%s has no datasource variable", path)
	}
	out := map[string][]string{}
	var walk func(raw []json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: panel: %v", path, err)
			}
			for _, tg := range p.Targets {
				out[p.Title] = append(out[p.Title], tg.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(dash.Panels)
	return out
}

// TestDashboardMetricsExist checks that every panel query names only
// metrics that tlswarden exports, and names at least one.
func TestDashboardMetricsExist(t *testing.T) {
	known := exported(t)
	panels := panelExprs(t, filepath.Join("grafana", "dashboards", "tlswarden.json"))
	if len(panels) < 10 {
		t.Fatalf("only %d panels with queries", len(panels))
	}
	for title, exprs := range panels {
		for _, e := range exprs {
			names := namesIn(e)
			if len(names) == 0 {
				t.Errorf("panel %q: query names no tlswarden metric: %s", title, e)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("panel %q: %s is not a metric tlswarden exports (%s)", title, n, e)
				}
			}
		}
	}
}

// TestAlertMetricsExist checks the alert rules' expressions the same way.
func TestAlertMetricsExist(t *testing.T) {
	known := exported(t)
	var rules struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	decodeYAML(t, filepath.Join("prometheus", "alerts.yml"), &rules)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, n := range namesIn(r.Expr) {
				if !known[n] {
					t.Errorf("alert %s: %s is not a metric tlswarden exports", r.Alert, n)
				}
			}
		}
	}
}

func decodeYAML(t *testing.T, path string, v any) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestYAMLParses parses every YAML document under deploy/.
func TestYAMLParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".yml") && !strings.HasSuffix(path, ".yaml")) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Errorf("%s: %v", path, err)
				break
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Errorf("only %d YAML documents found", n)
	}
}
