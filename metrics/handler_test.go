package metrics_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tlswarden/tlswarden/metrics"
	"github.com/tlswarden/tlswarden/store"
)

// get serves one request through h with the given Accept-Encoding.
func get(t *testing.T, h http.Handler, acceptEncoding string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	return rec
}

// TestHandlerWellFormed checks the raw text of a full scrape: every family
// has one HELP and one TYPE line, before its samples, and its samples
// together (the parser would accept them scattered; Prometheus's format
// does not allow it).
func TestHandlerWellFormed(t *testing.T) {
	s := sqliteStore(t)
	seed(t, s)
	body := get(t, fullHandler(t, s), "").Body.Bytes()
	seen := map[string]bool{}
	current := ""
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ := strings.Cut(rest, " ")
			if seen[name] {
				t.Errorf("family %s appears twice", name)
			}
			seen[name], current = true, name
			continue
		}
		if strings.HasPrefix(line, "# TYPE "+current+" ") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && b == current {
				base = b
			}
		}
		if base != current {
			t.Errorf("line %q is not in its family's section (%s)", line, current)
		}
	}
	for _, name := range []string{"tlswarden_endpoint_info", "tlswarden_tls_cipher_suites", "tlswarden_endpoints",
		"tlswarden_scans_total", "go_goroutines"} {
		if !seen[name] {
			t.Errorf("no family %s", name)
		}
	}
}

// TestHandlerGzip checks that the body is gzipped when the client accepts
// gzip, and the same text either way.
func TestHandlerGzip(t *testing.T) {
	s := sqliteStore(t)
	seed(t, s)
	h := postureHandler(t, s, metrics.PostureConfig{})
	plain := normalize(t, parse(t, get(t, h, "").Body))
	for _, tc := range []struct {
		acceptEncoding string
		gzipped        bool
	}{
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"*", true},
		{"identity", false},
		{"gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"deflate, *;q=0", false},
	} {
		t.Run(tc.acceptEncoding, func(t *testing.T) {
			rec := get(t, h, tc.acceptEncoding)
			if got := rec.Header().Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip %v", rec.Header().Get("Content-Encoding"), tc.gzipped)
			}
			if rec.Header().Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", rec.Header().Get("Vary"))
			}
			var body io.Reader = rec.Body
			if tc.gzipped {
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			if d := cmp.Diff(plain, normalize(t, parse(t, body))); d != "" {
				t.Errorf("scrape differs from the plain one (-plain +got):\n%s", d)
			}
		})
	}
}

// TestHandlerHostileLabels checks label values that need escaping (double
// quote, backslash, line feed) or are not valid UTF-8, from an owner and a
// profile name (the store refuses an owner that is not valid UTF-8, so only
// the profile has that): the scrape still parses and gives them back,
// invalid UTF-8 as U+FFFD, on the per-endpoint series and in the fleet
// summaries.
func TestHandlerHostileLabels(t *testing.T) {
	s := sqliteStore(t)
	owner := `o"w\ner \\"` + " end"
	profile := "p\"r\\o\nfile\n\xc3("
	tg := addTarget(t, s, "hostile.example.org", owner)
	r := result("hostile.example.org", base, modern("192.0.2.9:443"))
	r.Evaluation.Profile.Name = profile
	addScan(t, s, tg.ID, r)
	states, err := s.ListScanStates(t.Context())
	if err != nil || len(states) != 1 || states[0].Target.Owner != owner {
		t.Fatalf("the store does not keep the owner's bytes: %v %+v", err, states)
	}

	mfs := parse(t, get(t, postureHandler(t, s, metrics.PostureConfig{}), "").Body)
	wantOwner, wantProfile := strings.ToValidUTF8(owner, "\uFFFD"), strings.ToValidUTF8(profile, "\uFFFD")
	for _, tc := range []struct {
		family string
		want   map[string]string
	}{
		{"tlswarden_endpoint_info", map[string]string{"endpoint": "hostile.example.org:443", "org": wantOwner,
			"host": "hostile.example.org", "port": "443", "kind": "https", "profile": wantProfile}},
		{"tlswarden_endpoint_compliant", map[string]string{"endpoint": "hostile.example.org:443", "org": wantOwner,
			"profile": wantProfile}},
		{"tlswarden_endpoints", map[string]string{"org": wantOwner}},
		{"tlswarden_endpoints_by_compliance", map[string]string{"org": wantOwner, "profile": wantProfile, "compliance": "compliant"}},
	} {
		mf := mfs[tc.family]
		if mf == nil || len(mf.Metric) != 1 {
			t.Errorf("%s: %v, want one series", tc.family, mf)
			continue
		}
		if d := cmp.Diff(tc.want, labels(mf.Metric[0])); d != "" {
			t.Errorf("%s labels (-want +got):\n%s", tc.family, d)
		}
	}
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.Label {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestHandlerWithoutPosture checks a handler over a registry alone, as a
// worker serves it, and one whose posture collector is not registered
// with the gatherer: it writes no per-endpoint series.
func TestHandlerWithoutPosture(t *testing.T) {
	s := sqliteStore(t)
	seed(t, s)
	reg := prometheus.NewRegistry()
	if err := metrics.RegisterQueueDepth(reg, func() float64 { return 2 }); err != nil {
		t.Fatal(err)
	}
	c, err := metrics.NewPostureCollector(s, metrics.PostureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := "# HELP tlswarden_job_queue_depth Jobs waiting in the queue to run, read at scrape time.\n" +
		"# TYPE tlswarden_job_queue_depth gauge\ntlswarden_job_queue_depth 2\n"
	for name, h := range map[string]http.Handler{"nil": metrics.Handler(reg, nil), "unregistered": metrics.Handler(reg, c)} {
		if got := get(t, h, "").Body.String(); got != want {
			t.Errorf("%s posture: %q, want %q", name, got, want)
		}
	}
}

// TestHandlerFamilyClash checks that a family of the registry named like a
// per-endpoint family (from an unchecked collector, which the registry
// cannot refuse) is left out, so that no name appears twice.
func TestHandlerFamilyClash(t *testing.T) {
	s := sqliteStore(t)
	seed(t, s)
	reg := prometheus.NewRegistry()
	c, err := metrics.RegisterPosture(reg, s, metrics.PostureConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(prometheus.NewGauge(prometheus.GaugeOpts{Name: "tlswarden_endpoint_grade", Help: "x"})); err == nil {
		t.Error("the registry accepts a collector of tlswarden_endpoint_grade")
	}
	reg.MustRegister(unchecked{prometheus.NewGauge(prometheus.GaugeOpts{Name: "tlswarden_endpoint_grade", Help: "clash"})})
	body := get(t, metrics.Handler(reg, c), "").Body.String()
	if n := strings.Count(body, "# HELP tlswarden_endpoint_grade "); n != 1 || strings.Contains(body, "clash") {
		t.Errorf("tlswarden_endpoint_grade has %d HELP lines:\n%s", n, body)
	}
}

// unchecked is a collector that describes nothing, which the registry
// takes without checking its names.
type unchecked struct{ prometheus.Collector }

func (unchecked) Describe(chan<- *prometheus.Desc) {}

// TestHandlerStoreDownAfterSuccess checks that a scrape whose store read
// fails writes no per-endpoint series, also after scrapes that did.
func TestHandlerStoreDownAfterSuccess(t *testing.T) {
	s := &flakyStore{postureStore: sqliteStore(t)}
	seed(t, s)
	h := postureHandler(t, s, metrics.PostureConfig{})
	if got := parse(t, get(t, h, "").Body); got["tlswarden_endpoint_info"] == nil {
		t.Fatal("no tlswarden_endpoint_info while the store answers")
	}
	s.down = true
	got := parse(t, get(t, h, "").Body)
	if len(got) != 2 || got["tlswarden_posture_collect_success"].GetMetric()[0].GetGauge().GetValue() != 0 {
		t.Errorf("with the store down: %v", got)
	}
}

// flakyStore fails ListScanStates while down.
type flakyStore struct {
	postureStore
	down bool
}

func (f *flakyStore) ListScanStates(ctx context.Context) ([]store.ScanState, error) {
	if f.down {
		return nil, errors.New("database is down")
	}
	return f.postureStore.ListScanStates(ctx)
}

// TestHandlerConcurrentScrapes checks that scrapes at the same time each
// get the whole estate once.
func TestHandlerConcurrentScrapes(t *testing.T) {
	s := sqliteStore(t)
	seed(t, s)
	h := postureHandler(t, s, metrics.PostureConfig{})
	want := scrape(t, h)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := scrape(t, h); got != want {
				t.Errorf("concurrent scrape differs:\n%s", cmp.Diff(want, got))
			}
		})
	}
	wg.Wait()
}
