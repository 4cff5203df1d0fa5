package api_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/scanner"
	"github.com/tlswarden/tlswarden/store"
)

// env is an API on a real store and queue, served by httptest. Requests
// carry token, an admin token, unless it is emptied.
type env struct {
	t     *testing.T
	url   string
	st    store.Store
	token string
}

func newEnv(t *testing.T, backend string, withQueue bool) *env {
	return newEnvWith(t, backend, withQueue, nil)
}

// newEnvWith is newEnv with edit applied to the API's configuration.
func newEnvWith(t *testing.T, backend string, withQueue bool, edit func(*api.Config)) *env {
	t.Helper()
	b := testdb.Open(t, backend)
	cfg := api.Config{Store: b.Store, MaxBodyBytes: 4096}
	if edit != nil {
		edit(&cfg)
	}
	if withQueue {
		sc, err := scanner.New(scanner.Config{Probes: []tlswarden.Probe{
			probes.TLS(probes.TLSConfig{Timeout: 2 * time.Second}),
			probes.Cert(probes.CertConfig{Timeout: 5 * time.Second}),
		}})
		if err != nil {
			t.Fatal(err)
		}
		q := b.Queue(t, jobs.Config{Scanner: sc, Schedule: "off", PollInterval: 50 * time.Millisecond})
		if err := q.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		cfg.Scans = q
	}
	h, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, st: b.Store, token: createToken(t, b.Store, "test", store.RoleAdmin)}
}

// createToken stores a new token and returns its secret.
func createToken(t *testing.T, st store.Store, name string, role store.Role) string {
	t.Helper()
	secret, tok := api.NewToken(name, role)
	if _, err := st.(store.TokenStore).CreateToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return secret
}

// call sends a request with a JSON body (a string is sent as is) and
// returns the status and the body.
func (e *env) call(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// want calls and checks the status, decoding the body into out.
func (e *env) want(method, path string, body any, status int, out any) {
	e.t.Helper()
	got, data := e.call(method, path, body)
	if got != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}

type errorBody struct {
	Error string
	Field string
	Rows  []struct {
		Row   int
		Field string
		Error string
	}
}

func TestTargets(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			var a store.Target
			e.want("POST", "/api/v1/targets", map[string]any{"host": "WWW.Example.ORG.", "owner": "web", "tags": []string{"Prod", "pci"}}, http.StatusCreated, &a)
			if a.ID == 0 || a.Host != "www.example.org" || a.Port != 443 || !a.Enabled || !cmp.Equal(a.Tags, []string{"pci", "prod"}) {
				t.Errorf("created %+v", a)
			}
			var b store.Target
			e.want("POST", "/api/v1/targets", map[string]any{"host": "mail.example.org", "port": 8443, "enabled": false}, http.StatusCreated, &b)

			var eb errorBody
			e.want("POST", "/api/v1/targets", map[string]any{"host": "www.example.org"}, http.StatusConflict, &eb)
			e.want("POST", "/api/v1/targets", map[string]any{"host": "bad host"}, http.StatusBadRequest, &eb)
			if eb.Field != "host" {
				t.Errorf("invalid host: %+v, want field host", eb)
			}
			e.want("POST", "/api/v1/targets", map[string]any{"host": "x.example", "port": 70000}, http.StatusBadRequest, &eb)
			if eb.Field != "port" {
				t.Errorf("invalid port: %+v", eb)
			}
			e.want("POST", "/api/v1/targets", `{"host": "x.example", "colour": "red"}`, http.StatusBadRequest, &eb)
			if !strings.Contains(eb.Error, "colour") {
				t.Errorf("unknown field: %+v", eb)
			}
			e.want("POST", "/api/v1/targets", `{"host": "`+strings.Repeat("a", 5000)+`"}`, http.StatusRequestEntityTooLarge, nil)
			e.want("POST", "/api/v1/targets", ``, http.StatusBadRequest, nil)

			var list struct{ Targets []store.Target }
			e.want("GET", "/api/v1/targets?enabled=true", nil, http.StatusOK, &list)
			if len(list.Targets) != 1 || list.Targets[0].ID != a.ID {
				t.Errorf("enabled targets: %+v", list.Targets)
			}
			e.want("GET", "/api/v1/targets?tag=pci", nil, http.StatusOK, &list)
			if len(list.Targets) != 1 || list.Targets[0].ID != a.ID {
				t.Errorf("targets tagged pci: %+v", list.Targets)
			}
			e.want("GET", "/api/v1/targets?enabled=maybe", nil, http.StatusBadRequest, &eb)
			if eb.Field != "enabled" {
				t.Errorf("bad filter: %+v", eb)
			}

			var patched store.Target
			e.want("PATCH", fmt.Sprintf("/api/v1/targets/%d", b.ID), map[string]any{"enabled": true, "schedule": "0 3 * * *"}, http.StatusOK, &patched)
			if !patched.Enabled || patched.Schedule != "0 3 * * *" || patched.Port != 8443 || patched.Host != "mail.example.org" {
				t.Errorf("patched %+v", patched)
			}
			e.want("PATCH", fmt.Sprintf("/api/v1/targets/%d", b.ID), map[string]any{"host": "www.example.org", "port": 443}, http.StatusConflict, nil)

			var got struct {
				store.Target
				LatestScan *store.Scan `json:"latest_scan"`
				Endpoints  []store.EndpointSummary
			}
			e.want("GET", fmt.Sprintf("/api/v1/targets/%d", a.ID), nil, http.StatusOK, &got)
			if got.ID != a.ID || got.LatestScan != nil || got.Endpoints == nil {
				t.Errorf("target status of an unscanned target: %+v", got)
			}
			e.want("DELETE", fmt.Sprintf("/api/v1/targets/%d", a.ID), nil, http.StatusNoContent, nil)
			e.want("GET", fmt.Sprintf("/api/v1/targets/%d", a.ID), nil, http.StatusNotFound, &eb)
			e.want("DELETE", fmt.Sprintf("/api/v1/targets/%d", a.ID), nil, http.StatusNotFound, nil)
			e.want("GET", "/api/v1/targets/abc", nil, http.StatusNotFound, nil)
			e.want("GET", "/api/v1/nothing", nil, http.StatusNotFound, &eb)
			e.want("PUT", "/api/v1/targets", nil, http.StatusMethodNotAllowed, nil)
			e.want("POST", fmt.Sprintf("/api/v1/targets/%d/scans", b.ID), nil, http.StatusServiceUnavailable, nil)
		})
	}
}

func TestImport(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, false)
			rows := []map[string]any{{"host": "a.example"}, {"host": "b.example", "port": 8443, "owner": "ops"}}
			var res store.ImportResult
			e.want("POST", "/api/v1/targets/import", rows, http.StatusOK, &res)
			if res.Added != 2 {
				t.Errorf("first import: %+v", res)
			}
			rows[1]["owner"] = "web"
			e.want("POST", "/api/v1/targets/import", rows, http.StatusOK, &res)
			if res.Added != 0 || res.Changed != 1 || res.Unchanged != 1 {
				t.Errorf("second import: %+v", res)
			}
			bad := []map[string]any{{"host": "c.example"}, {"host": "bad host"}, {"port": 1}, {"host": "a.example"}, {"host": "a.example"}}
			var eb errorBody
			e.want("POST", "/api/v1/targets/import", bad, http.StatusBadRequest, &eb)
			if len(eb.Rows) == 0 {
				t.Fatalf("bad import: %+v", eb)
			}
			if eb.Rows[0].Row != 2 && eb.Rows[0].Row != 3 {
				t.Errorf("bad rows: %+v", eb.Rows)
			}
			var list struct{ Targets []store.Target }
			e.want("GET", "/api/v1/targets", nil, http.StatusOK, &list)
			if len(list.Targets) != 2 {
				t.Errorf("a failed import left %d targets, want the 2 of before", len(list.Targets))
			}
		})
	}
}

func TestScansFindingsEvents(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, name, true)
			cert := tlstest.SelfSigned(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
			srv := tlstest.NewSwitchServer(t, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil)
			var tg store.Target
			e.want("POST", "/api/v1/targets", map[string]any{"host": "127.0.0.1", "port": srv.Addr.Port(), "owner": "web", "tags": []string{"prod"}}, http.StatusCreated, &tg)

			var req jobs.Request
			e.want("POST", fmt.Sprintf("/api/v1/targets/%d/scans", tg.ID), nil, http.StatusAccepted, &req)
			if req.TargetID != tg.ID || req.RequestedBy != "api" || req.Trigger != store.TriggerRequest {
				t.Errorf("request %+v", req)
			}
			deadline := time.Now().Add(20 * time.Second)
			for !req.Done && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				e.want("GET", fmt.Sprintf("/api/v1/scan-requests/%d", req.ID), nil, http.StatusOK, &req)
			}
			if req.State != "completed" || req.ScanID == 0 {
				t.Fatalf("scan request: %+v", req)
			}
			var reqs struct {
				ScanRequests []jobs.Request `json:"scan_requests"`
			}
			e.want("GET", fmt.Sprintf("/api/v1/targets/%d/scan-requests", tg.ID), nil, http.StatusOK, &reqs)
			if len(reqs.ScanRequests) != 1 || reqs.ScanRequests[0].ID != req.ID {
				t.Errorf("scan requests of the target: %+v", reqs)
			}
			e.want("GET", "/api/v1/scan-requests/99999", nil, http.StatusNotFound, nil)
			e.want("POST", "/api/v1/targets/99999/scans", nil, http.StatusNotFound, nil)

			var sc store.Scan
			e.want("GET", fmt.Sprintf("/api/v1/scans/%d", req.ScanID), nil, http.StatusOK, &sc)
			if sc.TargetID != tg.ID || sc.Running() || sc.Compliance != tlswarden.NonCompliant {
				t.Errorf("scan %+v; want finished and non-compliant (self-signed)", sc)
			}
			var scans struct{ Scans []store.Scan }
			e.want("GET", fmt.Sprintf("/api/v1/scans?target_id=%d", tg.ID), nil, http.StatusOK, &scans)
			if len(scans.Scans) != 1 {
				t.Errorf("scans: %+v", scans)
			}
			e.want("GET", fmt.Sprintf("/api/v1/targets/%d/scans", tg.ID), nil, http.StatusOK, &scans)
			var eps struct{ Endpoints []store.EndpointSummary }
			e.want("GET", fmt.Sprintf("/api/v1/scans/%d/endpoints", req.ScanID), nil, http.StatusOK, &eps)
			if len(eps.Endpoints) != 1 || eps.Endpoints[0].MaxVersion != tlswarden.TLS13 {
				t.Errorf("endpoints of the scan: %+v", eps)
			}
			e.want("GET", fmt.Sprintf("/api/v1/scans/%d/endpoints/1", req.ScanID), nil, http.StatusNotFound, nil)
			// One endpoint, read on its own, is the whole result's.
			var one struct {
				Report     json.RawMessage `json:"report"`
				Evaluation json.RawMessage `json:"evaluation"`
			}
			var whole struct {
				Report struct {
					Endpoints []json.RawMessage `json:"endpoints"`
				} `json:"report"`
				Evaluation struct {
					Endpoints []json.RawMessage `json:"endpoints"`
				} `json:"evaluation"`
			}
			e.want("GET", fmt.Sprintf("/api/v1/scans/%d/endpoints/0", req.ScanID), nil, http.StatusOK, &one)
			e.want("GET", fmt.Sprintf("/api/v1/scans/%d/result", req.ScanID), nil, http.StatusOK, &whole)
			if len(whole.Report.Endpoints) != 1 || !jsonEqual(one.Report, whole.Report.Endpoints[0]) || !jsonEqual(one.Evaluation, whole.Evaluation.Endpoints[0]) {
				t.Errorf("endpoint 0 read alone differs from the result's")
			}
			e.want("GET", "/api/v1/endpoints?owner=web&compliance=non_compliant", nil, http.StatusOK, &eps)
			if len(eps.Endpoints) != 1 {
				t.Errorf("non-compliant endpoints of web: %+v", eps)
			}
			e.want("GET", "/api/v1/endpoints?accepts_below=TLSv1.2", nil, http.StatusOK, &eps)
			if len(eps.Endpoints) != 0 {
				t.Errorf("endpoints accepting TLS 1.1 or older: %+v", eps)
			}

			var fs struct {
				Findings    []store.EstateFinding
				NextAfterID int64 `json:"next_after_id"`
			}
			e.want("GET", "/api/v1/findings?owner=web&tag=prod", nil, http.StatusOK, &fs)
			if len(fs.Findings) == 0 {
				t.Fatal("no findings for a self-signed certificate")
			}
			var rule string
			for _, f := range fs.Findings {
				if f.Outcome == tlswarden.RuleFail {
					rule = f.RuleID
				}
			}
			e.want("GET", "/api/v1/findings?rule="+rule, nil, http.StatusOK, &fs)
			for _, f := range fs.Findings {
				if f.RuleID != rule {
					t.Errorf("filtered by rule %s, got %s", rule, f.RuleID)
				}
			}
			e.want("GET", "/api/v1/findings?owner=nobody", nil, http.StatusOK, &fs)
			if len(fs.Findings) != 0 {
				t.Errorf("findings of nobody: %+v", fs.Findings)
			}
			e.want("GET", "/api/v1/findings?limit=1", nil, http.StatusOK, &fs)
			if len(fs.Findings) != 1 || fs.NextAfterID == 0 {
				t.Errorf("first page: %d findings, next %d", len(fs.Findings), fs.NextAfterID)
			}
			var eb errorBody
			e.want("GET", "/api/v1/findings?severity=dire", nil, http.StatusBadRequest, &eb)
			if eb.Field != "severity" {
				t.Errorf("bad severity: %+v", eb)
			}
			e.want("GET", "/api/v1/events?since=yesterday", nil, http.StatusBadRequest, &eb)
			var evs struct{ Events []store.Event }
			e.want("GET", "/api/v1/events?since=1h", nil, http.StatusOK, &evs)
			if evs.Events == nil {
				t.Error("events: want [], got null")
			}

			status, body := e.call("GET", "/api/v1/posture.csv?owner=web", nil)
			if status != http.StatusOK || !strings.Contains(string(body), fmt.Sprintf("%d,127.0.0.1,%d,web,prod,true,127.0.0.1:%d", tg.ID, srv.Addr.Port(), srv.Addr.Port())) {
				t.Errorf("posture: %d\n%s", status, body)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, "sqlite", false)
	e.want("GET", "/healthz", nil, http.StatusOK, nil)
	e.want("GET", "/readyz", nil, http.StatusOK, nil)
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.want("GET", "/readyz", nil, http.StatusServiceUnavailable, nil)
}

// jsonEqual reports whether two JSON documents hold the same value.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && cmp.Equal(x, y)
}
