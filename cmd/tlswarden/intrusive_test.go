package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/store"
)

// TestTargetIntrusiveSwitch exempts fragile appliances from the intrusive
// checks per target, on both stores: one target through the YAML import,
// one through the API, beside a third left intrusive, all scanned by the
// service's jobs: the exempt ones' reports skip Heartbleed, CCS injection
// and ROBOT, the other runs them.
func TestTargetIntrusiveSwitch(t *testing.T) {
	for _, backend := range testdb.Names {
		t.Run(backend, func(t *testing.T) { testTargetIntrusiveSwitch(t, backend) })
	}
}

func testTargetIntrusiveSwitch(t *testing.T, backend string) {
	dir := t.TempDir()
	storeArgs := []string{"--data-dir", dir}
	if backend == "postgres" {
		storeArgs = []string{"--database-url", testdb.PostgresURL(t)}
	}
	cert := tlstest.SelfSigned(t, tlstest.CertSpec{}).TLSCertificate()
	server := func() netip.AddrPort {
		return tlstest.GoServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_RSA_WITH_AES_128_GCM_SHA256}})
	}
	appliance, web, legacy := server(), server(), server()

	file := filepath.Join(dir, "targets.yaml")
	yamlText := fmt.Sprintf("targets:\n  - host: %s\n    intrusive: false\n  - host: %s\n", appliance, web)
	if err := os.WriteFile(file, []byte(yamlText), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCmd(t, "", append(append([]string{"targets", "import"}, storeArgs...), file)...); code != exitOK {
		t.Fatalf("targets import: exit %d\n%s%s", code, out, errOut)
	}

	var stdout, stderr bytes.Buffer
	m := NewMain(&stdout, &stderr)
	err := m.ParseFlags(append([]string{"--listen", "127.0.0.1:0", "--allow-cidr", "127.0.0.0/8",
		"--schedule", "off", "--no-http", "--no-groups", "--log-level", "warn"}, storeArgs...))
	if err != nil {
		t.Fatal(err)
	}
	m.Jobs.PollInterval = 50 * time.Millisecond
	if err := m.Run(t.Context()); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	c := apiClient{t: t, base: m.URL(), token: createToken(t, storeArgs, "e2e", "admin")}
	var created store.Target
	c.do("POST", "/api/v1/targets", map[string]any{"host": legacy.Addr().String(), "port": legacy.Port(), "intrusive": false}, http.StatusCreated, &created)
	if created.Intrusive {
		t.Fatalf("created with intrusive false: %+v", created)
	}

	var list struct{ Targets []store.Target }
	c.do("GET", "/api/v1/targets", nil, http.StatusOK, &list)
	ids := map[netip.AddrPort]int64{}
	for _, tg := range list.Targets {
		ap := netip.AddrPortFrom(netip.MustParseAddr(tg.Host), uint16(tg.Port))
		ids[ap] = tg.ID
		if want := ap == web; tg.Intrusive != want {
			t.Errorf("target %s intrusive %v, want %v", ap, tg.Intrusive, want)
		}
	}
	for _, ap := range []netip.AddrPort{appliance, web, legacy} {
		exempt := ap != web
		req := c.scan(ids[ap])
		var res store.ScanResult
		c.do("GET", fmt.Sprintf("/api/v1/scans/%d/result", req.ScanID), nil, http.StatusOK, &res)
		if len(res.Report.Endpoints) != 1 || res.Report.Endpoints[0].Vuln == nil {
			t.Fatalf("scan of %s: no weakness facts: %+v", ap, res.Report)
		}
		v := res.Report.Endpoints[0].Vuln
		skipped := slices.Equal(v.Skipped, []string{"heartbleed", "ccs_injection", "robot", "padding_oracle", "client_initiated_renegotiation"})
		if skipped != exempt || (v.CCSInjection == nil) != exempt || (v.ROBOT == nil) != exempt || (v.PaddingOracle == nil) != exempt {
			t.Errorf("%s (exempt %v): skipped %v, ccs %+v, robot %+v, padding oracle %+v", ap, exempt, v.Skipped, v.CCSInjection, v.ROBOT, v.PaddingOracle)
		}
	}

	// The switch is a setting like any other: the API turns it back on,
	// and the CLI lists it.
	var updated store.Target
	c.do("PATCH", fmt.Sprintf("/api/v1/targets/%d", ids[legacy]), map[string]any{"intrusive": true}, http.StatusOK, &updated)
	if !updated.Intrusive {
		t.Errorf("updated to intrusive: %+v", updated)
	}
	code, out, errOut := runCmd(t, "", append([]string{"targets", "list", "--json"}, storeArgs...)...)
	var listed []map[string]any
	if err := json.Unmarshal([]byte(out), &listed); code != exitOK || err != nil || len(listed) != 3 {
		t.Fatalf("targets list --json: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	if n := strings.Count(out, `"intrusive": false`); n != 1 {
		t.Errorf("targets list --json shows %d exempt targets, want 1 (the YAML's):\n%s", n, out)
	}
}
