package jobs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/probes"
	"github.com/tlswarden/tlswarden/scanner"
	"github.com/tlswarden/tlswarden/store"
)

// newScanner returns a real scanner whose certificate probe trusts roots.
func newScanner(t *testing.T, roots ...*x509.Certificate) *scanner.Scanner {
	t.Helper()
	sc, err := scanner.New(scanner.Config{
		Probes: []tlswarden.Probe{
			probes.TLS(probes.TLSConfig{Timeout: 2 * time.Second}),
			probes.Cert(probes.CertConfig{Roots: roots, Timeout: 5 * time.Second}),
			probes.HTTP(probes.HTTPConfig{Timeout: 2 * time.Second, SkipPlainHTTP: true}),
		},
		ConnectTimeout:  2 * time.Second,
		EndpointTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// fast makes River poll and retry quickly.
func fast(cfg jobs.Config) jobs.Config {
	cfg.PollInterval = 50 * time.Millisecond
	cfg.RetryDelay = func(int) time.Duration { return 100 * time.Millisecond }
	cfg.Schedule = "off"
	return cfg
}

// pki is a CA and the configurations of a server before and after an
// operator re-enabled TLS 1.0.
type pki struct {
	ca             *tlstest.CA
	modern, legacy *tls.Config
}

func newPKI(t *testing.T) pki {
	ca := tlstest.NewCA(t, "jobs test CA")
	cert := ca.Issue(t, tlstest.CertSpec{Key: tlstest.ECDSA256}).TLSCertificate()
	return pki{
		ca:     ca,
		modern: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
		legacy: &tls.Config{MinVersion: tls.VersionTLS10, Certificates: []tls.Certificate{cert}, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
	}
}

func addTarget(t *testing.T, st store.Store, host string, port int, enabled bool) store.Target {
	t.Helper()
	tg, err := st.CreateTarget(t.Context(), store.Target{Target: tlswarden.Target{Host: host, Port: port, Owner: "web"}, Enabled: enabled})
	if err != nil {
		t.Fatalf("create target: %v", err)
	}
	return tg
}

// waitDone polls the request until its job is done.
func waitDone(t *testing.T, q *jobs.Queue, id int64) jobs.Request {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := q.Request(t.Context(), id)
		if err != nil {
			t.Fatalf("request %d: %v", id, err)
		}
		if r.Done {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %d not done after 30s: %+v", id, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestScanJob(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			p := newPKI(t)
			srv := tlstest.NewSwitchServer(t, p.modern, nil)
			tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)
			q := b.Queue(t, fast(jobs.Config{Scanner: newScanner(t, p.ca.Cert.Cert)}))
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}

			first := scanNow(t, q, tg.ID)
			res, err := b.Store.GetScanResult(ctx, first.ScanID)
			if err != nil {
				t.Fatal(err)
			}
			if res.Report.Status != tlswarden.StatusOK || len(res.Report.Endpoints) != 1 || res.Evaluation == nil {
				t.Fatalf("first scan: status %s, %d endpoints, evaluation %v", res.Report.Status, len(res.Report.Endpoints), res.Evaluation != nil)
			}
			if tr := res.Report.Endpoints[0].TLS; tr == nil || tr.Supported(tlswarden.TLS10) || !tr.Supported(tlswarden.TLS12) {
				t.Errorf("first scan: TLS facts %+v", tr)
			}
			if len(res.Events) != 0 {
				t.Errorf("first scan has events: %+v", res.Events)
			}

			srv.SetConfig(p.legacy)
			second := scanNow(t, q, tg.ID)
			evs, err := b.Store.ListEvents(ctx, store.EventFilter{TargetID: tg.ID, Regression: true})
			if err != nil {
				t.Fatal(err)
			}
			var added []tlswarden.Version
			for _, e := range evs {
				if e.ScanID != second.ScanID {
					t.Errorf("regression %s belongs to scan %d, want %d", e.Kind, e.ScanID, second.ScanID)
				}
				if e.Kind == store.EventVersionAdded {
					var d history.Details
					if err := json.Unmarshal(e.Details, &d); err != nil {
						t.Fatal(err)
					}
					added = append(added, d.Version)
				}
			}
			if want := []tlswarden.Version{tlswarden.TLS10, tlswarden.TLS11}; !cmp.Equal(added, want) {
				t.Errorf("versions added as regressions: %v, want %v (events %+v)", added, want, evs)
			}
			latest, err := b.Store.LatestScan(ctx, tg.ID)
			if err != nil || latest.ID != second.ScanID || latest.Trigger != store.TriggerRequest || latest.RequestedBy != "test" {
				t.Errorf("latest scan %+v, %v; want scan %d requested by test", latest, err, second.ScanID)
			}
		})
	}
}

// scanNow requests a scan and waits for it; the job must complete.
func scanNow(t *testing.T, q *jobs.Queue, targetID int64) jobs.Request {
	t.Helper()
	req, err := q.RequestScan(t.Context(), targetID, "test")
	if err != nil {
		t.Fatal(err)
	}
	done := waitDone(t, q, req.ID)
	if done.State != "completed" || done.ScanID == 0 {
		t.Fatalf("scan job ended %s (scan %d): %v", done.State, done.ScanID, done.Errors)
	}
	return done
}

func TestScanJobCancelled(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			gone := addTarget(t, b.Store, "127.0.0.1", 1, true)
			disabled := addTarget(t, b.Store, "127.0.0.1", 2, false)
			q := b.Queue(t, fast(jobs.Config{Scanner: newScanner(t)}))
			reqGone, err := q.RequestScan(ctx, gone.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Store.DeleteTarget(ctx, gone.ID); err != nil {
				t.Fatal(err)
			}
			// A disabled target is scanned on request, never on schedule.
			if n, err := q.ScheduleAll(ctx); err != nil || n != 0 {
				t.Fatalf("ScheduleAll with only a disabled target left: %d, %v", n, err)
			}
			reqDisabled, err := q.RequestScan(ctx, disabled.ID, "test")
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if r := waitDone(t, q, reqGone.ID); r.State != "cancelled" || r.Attempt != 1 {
				t.Errorf("scan of a deleted target: %s after %d attempts, want cancelled after 1", r.State, r.Attempt)
			}
			// Port 2 refuses connections: the scan completes with the
			// failure recorded in it.
			r := waitDone(t, q, reqDisabled.ID)
			if r.State != "completed" {
				t.Fatalf("scan of a disabled target on request: %s %v", r.State, r.Errors)
			}
			sc, err := b.Store.GetScan(ctx, r.ScanID)
			if err != nil || sc.Status == tlswarden.StatusOK && sc.Compliance == tlswarden.Compliant {
				t.Errorf("scan of a refused port: %+v, %v", sc, err)
			}
		})
	}
}

func TestRequestScanUnique(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			a := addTarget(t, b.Store, "a.example", 443, true)
			c := addTarget(t, b.Store, "c.example", 443, true)
			addTarget(t, b.Store, "off.example", 443, false)
			now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
			// Not started: jobs stay where they are put.
			q := b.Queue(t, fast(jobs.Config{Scanner: newScanner(t), Jitter: time.Hour, Now: func() time.Time { return now }}))

			n, err := q.ScheduleAll(ctx)
			if err != nil || n != 2 {
				t.Fatalf("ScheduleAll: %d, %v; want the 2 enabled targets", n, err)
			}
			if n, err := q.ScheduleAll(ctx); err != nil || n != 0 {
				t.Errorf("ScheduleAll again: %d, %v; want 0 (already queued)", n, err)
			}
			if d, err := q.Depth(ctx); err != nil || d != 2 {
				t.Errorf("Depth after scheduling: %d, %v; want 2", d, err)
			}
			reqs, err := q.Requests(ctx, a.ID, 10)
			if err != nil || len(reqs) != 1 {
				t.Fatalf("requests of target a: %+v, %v", reqs, err)
			}
			sched := reqs[0]
			if sched.State != "scheduled" || sched.Trigger != store.TriggerSchedule ||
				sched.ScheduledAt.Before(now) || !sched.ScheduledAt.Before(now.Add(time.Hour)) {
				t.Errorf("scheduled scan: %+v; want scheduled within the hour after %v", sched, now)
			}

			// Asking now brings the scheduled job forward rather than adding one.
			req, err := q.RequestScan(ctx, a.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if !req.Duplicate || req.ID != sched.ID || req.State != "available" {
				t.Errorf("request of a scheduled target: %+v; want job %d made available", req, sched.ID)
			}
			again, err := q.RequestScan(ctx, a.ID, "bob")
			if err != nil || !again.Duplicate || again.ID != sched.ID {
				t.Errorf("second request: %+v, %v; want a duplicate of job %d", again, err, sched.ID)
			}
			other, err := q.RequestScan(ctx, c.ID, "alice")
			if err != nil || other.ID == sched.ID {
				t.Errorf("request of another target: %+v, %v", other, err)
			}
			// Requests bring the scheduled jobs forward: still two waiting.
			if d, err := q.Depth(ctx); err != nil || d != 2 {
				t.Errorf("Depth after requests: %d, %v; want 2", d, err)
			}
			if _, err := q.RequestScan(ctx, 999999, "alice"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("request of a missing target: %v, want ErrNotFound", err)
			}
			if _, err := q.Request(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("missing request: %v, want ErrNotFound", err)
			}
		})
	}
}

// blockingScanner scans nothing: it waits for the job's context to end,
// as a scan of a very slow server would.
type blockingScanner struct{ started chan struct{} }

func (s blockingScanner) Scan(ctx context.Context, t tlswarden.Target) *tlswarden.Report {
	s.started <- struct{}{}
	<-ctx.Done()
	return &tlswarden.Report{Schema: tlswarden.ReportSchema, Target: t, Status: tlswarden.StatusOK,
		Started: time.Now(), Finished: time.Now(), Endpoints: []tlswarden.EndpointReport{}}
}

func TestStopDrainsThenCancels(t *testing.T) {
	ctx := t.Context()
	b := testdb.Open(t, "sqlite")
	tg := addTarget(t, b.Store, "127.0.0.1", 3, true)
	sc := blockingScanner{started: make(chan struct{}, 1)}
	cfg := fast(jobs.Config{Scanner: sc, DrainTimeout: 200 * time.Millisecond})
	cfg.RetryDelay = func(int) time.Duration { return time.Hour }
	cfg.Store = b.Store
	q := b.Queue(t, cfg)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req, err := q.RequestScan(ctx, tg.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	<-sc.started
	start := time.Now()
	if err := q.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v", d)
	}
	r, err := q.Request(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	// River makes a job cancelled by a stop available again at once,
	// without counting the attempt.
	if r.State != "available" || r.Attempt != 0 {
		t.Errorf("cancelled job: %+v; want available again", r)
	}
	scans, err := b.Store.ListScans(ctx, store.ScanFilter{TargetID: tg.ID})
	if err != nil || len(scans) != 1 || scans[0].Running() || scans[0].Status != tlswarden.StatusCanceled {
		t.Errorf("scans after a cancelled job: %+v, %v; want one, canceled", scans, err)
	}
}

func TestConfigValidate(t *testing.T) {
	b := testdb.Open(t, "sqlite")
	for _, tc := range []struct {
		cfg  jobs.Config
		want string
	}{
		{jobs.Config{Schedule: "every night"}, `schedule "every night" is not a cron expression`},
		{jobs.Config{Workers: -1}, "workers must not be negative"},
		{jobs.Config{RescueAfter: time.Minute}, "rescue-after (1m0s) must not be shorter than the job timeout (30m0s)"},
		{jobs.Config{RescueAfter: time.Second, JobTimeout: 2 * time.Second}, "must not be shorter than the job timeout"},
	} {
		cfg := tc.cfg
		cfg.Store = b.Store
		_, err := jobs.NewSQLite(nil, cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
