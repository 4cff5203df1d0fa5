package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tlswarden/tlswarden/api"
	"github.com/tlswarden/tlswarden/docs"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/metrics"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/scope"
	"github.com/tlswarden/tlswarden/store"
	"github.com/tlswarden/tlswarden/testbed"
	"github.com/tlswarden/tlswarden/waivers"
	"github.com/tlswarden/tlswarden/web"
)

// DefaultListen is where serve listens unless told otherwise.
const DefaultListen = "127.0.0.1:8080"

// Main is the long-running service: `serve` (the API, the scheduler and
// workers) or `worker` (workers only). ParseFlags reads the command line,
// Run opens the store, migrates, starts the workers and the listener and
// returns, and Close drains and stops everything; the end-to-end test runs
// exactly this on 127.0.0.1:0.
type Main struct {
	// Worker runs workers only: no API, no listener.
	Worker bool
	// Listen is the API's address; its port 0 picks a free one (URL says
	// which).
	Listen string
	// Demo starts the testbed, registers its endpoints and scans them.
	Demo     bool
	Store    storeFlags
	Scan     scanFlagsSvc
	Jobs     jobs.Config // Workers, Schedule, Jitter, timeouts; the rest is wired
	LogLevel string
	// MetricsDetail is the posture metrics' detail (full or summary). A
	// worker exports no posture metrics: it only checks the value, so that
	// serve and workers can share one environment.
	MetricsDetail metrics.Detail
	// AuthReads and AuthMetrics make reads of the API and /metrics need a
	// bearer token (role read or admin); writes always need one of role
	// admin, except in a demo listening on loopback.
	AuthReads, AuthMetrics bool
	// TLSCert and TLSKey are PEM files: when set, the API serves HTTPS.
	TLSCert, TLSKey string
	// PublicURLs are the URLs people and Prometheus reach serve at: their
	// host names are the ones, besides IP literals and localhost, that
	// requests may name in Host.
	PublicURLs publicURLs
	// NoNotify keeps this process from working notification jobs.
	NoNotify bool

	Stdout, Stderr io.Writer

	dataDirSet bool // --data-dir was given
	log        *slog.Logger
	registry   *prometheus.Registry
	backend    *backend
	queue      *jobs.Queue
	server     *http.Server
	ln         net.Listener
	served     chan error
	testbed    *testbed.Testbed
	tempDir    string
	demoDone   chan struct{}
	stopDemo   context.CancelFunc
	primed     chan struct{} // closed when the posture cache is primed
	stopPrime  context.CancelFunc
	profile    *policy.Profile
	waiversRun chan struct{} // closed when the waiver expiry loop has stopped
	stopWaiver context.CancelFunc
}

// startWaivers returns the waiver service and starts its expiry loop
// (Close stops it), or nil when the store keeps no waivers.
func (m *Main) startWaivers() (*waivers.Service, error) {
	if _, ok := m.backend.store.(store.WaiverStore); !ok {
		return nil, nil
	}
	cfg := waivers.Config{Store: m.backend.store, Profile: m.profile, Logger: m.log}
	if m.queue != nil {
		cfg.Judged = m.queue.NotifyJudged // the events reach subscribers as a scan's do
	}
	svc, err := waivers.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopWaiver, m.waiversRun = cancel, make(chan struct{})
	go func() {
		defer close(m.waiversRun)
		svc.Run(ctx, waivers.DefaultExpiryCheck)
	}()
	return svc, nil
}

// NewMain returns a Main that writes to stdout and stderr, with the
// defaults the flags have.
func NewMain(stdout, stderr io.Writer) *Main {
	lw := &lockedWriter{w: stdout}
	return &Main{Listen: DefaultListen, LogLevel: "info", Stdout: lw, Stderr: &lockedWriter{w: stderr}}
}

// ParseFlags reads the command line of serve (or of worker, when m.Worker
// is set).
func (m *Main) ParseFlags(args []string) error {
	name := "serve"
	if m.Worker {
		name = "worker"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.Usage = func() { m.usage(fs) }
	if err := m.PublicURLs.Set(os.Getenv("TLSWARDEN_PUBLIC_URL")); err != nil {
		return fmt.Errorf("TLSWARDEN_PUBLIC_URL: %w", err)
	}
	if m.Worker {
		fs.StringVar(&m.Listen, "listen", os.Getenv("TLSWARDEN_LISTEN"), "serve /metrics and /healthz on `HOST:PORT` (env TLSWARDEN_LISTEN; default: no listener)")
		fs.Var(&m.PublicURLs, "public-url", "serve's `URL`, for the links in notifications (env TLSWARDEN_PUBLIC_URL)")
	} else {
		fs.StringVar(&m.Listen, "listen", envOr("TLSWARDEN_LISTEN", DefaultListen), "API address `HOST:PORT` (env TLSWARDEN_LISTEN)")
		fs.BoolVar(&m.Demo, "demo", false, "start the built-in testbed of misconfigured endpoints on loopback, register and scan them")
		fs.BoolVar(&m.AuthReads, "auth-reads", false, "reads of the API need a bearer token too (role read or admin); writes always need an admin token")
		fs.StringVar(&m.TLSCert, "tls-cert", "", "serve HTTPS with the certificate chain in PEM `FILE` (with --tls-key)")
		fs.StringVar(&m.TLSKey, "tls-key", "", "private key in PEM `FILE` of --tls-cert")
		fs.Var(&m.PublicURLs, "public-url", "`URL` people and Prometheus reach serve at (repeatable or comma-separated; env TLSWARDEN_PUBLIC_URL): requests must name its host, an IP address or localhost, others are 421")
	}
	fs.BoolVar(&m.AuthMetrics, "auth-metrics", false, "/metrics needs a bearer token (role read or admin)")
	m.Store.register(fs)
	m.Scan.register(fs)
	fs.IntVar(&m.Jobs.Workers, "workers", jobs.DefaultWorkers, "scan jobs worked at once by this process, at most: each scans when the adaptive connection budget has room")
	fs.StringVar(&m.Jobs.Schedule, "schedule", envOr("TLSWARDEN_SCHEDULE", jobs.DefaultSchedule), "cron `EXPR` on which every enabled target is scanned (\"off\": never; env TLSWARDEN_SCHEDULE)")
	fs.DurationVar(&m.Jobs.Jitter, "jitter", jobs.DefaultJitter, "spread scheduled scans over this window")
	fs.DurationVar(&m.Jobs.JobTimeout, "job-timeout", jobs.DefaultJobTimeout, "deadline of one target's scan")
	fs.DurationVar(&m.Jobs.DrainTimeout, "drain-timeout", jobs.DefaultDrainTimeout, "on SIGTERM, let running scans finish this long before cancelling them")
	fs.DurationVar(&m.Jobs.RescueAfter, "rescue-after", 0, "retry a scan whose worker died after it has run this long (at least --job-timeout; 0: an hour more than --job-timeout)")
	fs.DurationVar(&m.Jobs.Retention, "retention", 0, "delete scans older than this (each target's latest and every event are kept; 0 keeps all), e.g. 4320h for 180 days")
	fs.DurationVar(&m.Jobs.NotifyDebounce, "notify-debounce", jobs.DefaultNotifyDebounce, "gather a subscription's notifications this long after a scan's events, and wait as long again while scans are still running (one digest per scan run)")
	fs.BoolVar(&m.NoNotify, "no-notify", false, "send no notifications from this process: its scans' digests are queued for a serve or worker that sends them")
	fs.StringVar(&m.LogLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	detail := fs.String("metrics-detail", envOr("TLSWARDEN_METRICS_DETAIL", string(metrics.DetailFull)), "posture metrics on /metrics: full (per endpoint) or summary (fleet totals only: a constant number of series) (env TLSWARDEN_METRICS_DETAIL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", name, fs.Args())
	}
	if (m.TLSCert == "") != (m.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	var err error
	if m.MetricsDetail, err = metrics.ParseDetail(*detail); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) { m.dataDirSet = m.dataDirSet || f.Name == "data-dir" })
	return nil
}

func (m *Main) usage(fs *flag.FlagSet) {
	if m.Worker {
		fmt.Fprint(m.Stderr, `Usage: tlswarden worker [flags]

Runs scan workers only, with no API: start several, on several machines,
against one Postgres (--database-url) to share the work. On SIGTERM running
scans get --drain-timeout to finish; those still running are cancelled and
picked up again by another worker.

Flags:
`)
	} else {
		fmt.Fprint(m.Stderr, `Usage: tlswarden serve [flags]

Runs the service: the JSON API under /api/v1 (with /healthz and /readyz),
the scheduler that scans every enabled target on --schedule, and workers.
The store is an embedded SQLite file in --data-dir unless --database-url
names a Postgres database; migrations run at start.

API writes need a bearer token of role admin (tlswarden tokens create);
--auth-reads and --auth-metrics make reads and /metrics need one too. With
--tls-cert and --tls-key the API serves HTTPS (TLS 1.2+).

With --demo it also starts a testbed of misconfigured endpoints on
loopback, registers and scans them, and prints where to look. Without
--data-dir the demo uses a temporary directory, removed on exit; on a
loopback address its API takes writes without a token.

Flags:
`)
	}
	fs.PrintDefaults()
}

// Run starts the service and returns once it is listening (or, for a
// worker, working). ctx bounds the start only: Close stops the service.
func (m *Main) Run(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if m.log, err = newLogger(m.Stderr, m.LogLevel); err != nil {
		return err
	}
	if err := m.openStore(ctx); err != nil {
		return err
	}
	if m.registry, err = metrics.NewRegistry(); err != nil {
		return err
	}
	var roots []*x509.Certificate
	if m.Demo {
		if m.testbed, err = testbed.Start(ctx, m.log); err != nil {
			return err
		}
		roots = []*x509.Certificate{m.testbed.CA}
		m.Scan.httpPort = int(m.testbed.PlainHTTP.Port())
		m.Scan.allow = append(m.Scan.allow, netip.MustParsePrefix("127.0.0.1/32"))
	}
	if err := m.startQueue(ctx, roots); err != nil {
		return err
	}
	if m.Worker && m.Listen == "" {
		m.log.Info("worker started", "store", m.backend.where, "workers", m.Jobs.Workers)
		return nil
	}
	if err := m.listen(ctx); err != nil {
		return err
	}
	if m.Worker {
		m.log.Info("worker started", "store", m.backend.where, "workers", m.Jobs.Workers, "metrics", m.URL()+"/metrics")
		return nil
	}
	m.log.Info("serving", "url", m.URL(), "public_url", m.PublicURLs.String(), "store", m.backend.where, "workers", m.Jobs.Workers, "schedule", m.Jobs.Schedule)
	m.warnOpenReads()
	m.warnAboutTokens(ctx)
	if m.Demo {
		return m.startDemo(ctx)
	}
	return nil
}

func (m *Main) openStore(ctx context.Context) error {
	dir := m.Store.dataDir
	if m.Demo && !m.dataDirSet && m.Store.databaseURL == "" {
		tmp, err := os.MkdirTemp("", "tlswarden-demo-")
		if err != nil {
			return fmt.Errorf("demo data directory: %w", err)
		}
		m.tempDir, dir = tmp, tmp
	}
	b, err := openBackend(ctx, dir, m.Store.databaseURL, true)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	m.backend = b
	return nil
}

func (m *Main) startQueue(ctx context.Context, roots []*x509.Certificate) error {
	profile, err := loadProfile(m.Scan.profile)
	if err != nil {
		return err
	}
	m.Scan.noIntrusive = m.Scan.noIntrusive || profile.Params.NoIntrusive
	m.Scan.requiredClients = profile.Params.RequiredClients
	sc, err := newServiceScanner(&m.Scan, roots, m.log)
	if err != nil {
		return err
	}
	ops, err := metrics.NewOperations(m.registry)
	if err != nil {
		return err
	}
	m.profile = profile
	cfg := m.Jobs
	cfg.Store, cfg.Scanner, cfg.Profile, cfg.Logger, cfg.Metrics = m.backend.store, sc, profile, m.log, ops
	if _, ok := m.backend.store.(store.SubscriptionStore); ok && !m.NoNotify {
		cfg.Notifier, cfg.PublicURL = notify.NewSender(notify.SenderConfig{}), m.PublicURLs.base()
	}
	cfg.NotifyElsewhere = m.NoNotify
	if m.queue, err = m.backend.newQueue(cfg); err != nil {
		return err
	}
	q := m.queue
	err = metrics.RegisterQueueDepth(m.registry, func() float64 {
		// A scrape callback has no context of its own: bound it here.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := q.Depth(ctx)
		if err != nil {
			m.log.Warn("queue depth for /metrics", "err", err)
			return math.NaN()
		}
		return float64(n)
	})
	if err != nil {
		return err
	}
	// Close stops the queue; the start context only bounds the start.
	return m.queue.Start(context.WithoutCancel(ctx))
}

// handler is what the listener serves: the API, and the metrics at
// /metrics (the posture read from the store at each scrape, so every
// replica exports the same numbers).
func (m *Main) handler() (http.Handler, error) {
	if m.Worker {
		// A worker serves its own operations metrics and its liveness only.
		mux := http.NewServeMux()
		var mh http.Handler = metrics.Handler(m.registry, nil)
		if m.AuthMetrics {
			h, err := api.New(api.Config{Store: m.backend.store, Logger: m.log})
			if err != nil {
				return nil, err
			}
			mh = h.Require(store.RoleRead, mh)
		}
		mux.Handle("GET /metrics", mh)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status": "ok"}`+"\n")
		})
		return mux, nil
	}
	wv, err := m.startWaivers()
	if err != nil {
		return nil, err
	}
	cfg := api.Config{Store: m.backend.store, Scans: m.queue, Logger: m.log, AuthReads: m.AuthReads, OpenWrites: m.openWrites(),
		Scope: &scope.Policy{Allow: m.Scan.allow, Deny: m.Scan.deny}}
	if wv != nil { // a nil *Service in the interface would not be nil
		cfg.Waivers = wv
	}
	h, err := api.New(cfg)
	if err != nil {
		return nil, err
	}
	var posture *metrics.PostureCollector
	if ps, ok := m.backend.store.(store.PostureStore); ok {
		if posture, err = metrics.RegisterPosture(m.registry, ps, metrics.PostureConfig{Detail: m.MetricsDetail, Logger: m.log, Interval: m.queue.Interval}); err != nil {
			return nil, err
		}
		m.primePosture(posture)
	}
	mux := http.NewServeMux()
	var mh http.Handler = metrics.Handler(m.registry, posture)
	if m.AuthMetrics {
		mh = h.Require(store.RoleRead, mh)
	}
	wcfg := web.Config{Store: m.backend.store, AuthReads: m.AuthReads, OpenAPI: docs.OpenAPI, Logger: m.log}
	if wv != nil {
		wcfg.Waivers = wv
	}
	pages, err := web.New(wcfg)
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /metrics", mh)
	mux.Handle("/api/", h)
	mux.Handle("/healthz", h)
	mux.Handle("/readyz", h)
	mux.Handle("/", pages)
	return mux, nil
}

// primePosture measures the estate's posture in the background, so that
// the first scrape after a start costs what the next ones do (a scrape
// arriving meanwhile waits for it); Close stops it.
func (m *Main) primePosture(c *metrics.PostureCollector) {
	ctx, cancel := context.WithCancel(context.Background())
	m.stopPrime, m.primed = cancel, make(chan struct{})
	go func() {
		defer close(m.primed)
		start := time.Now()
		n, err := c.Prime(ctx)
		if err != nil {
			m.log.Warn("posture metrics: priming failed; the first scrape reads the store", "err", err)
			return
		}
		m.log.Info("posture metrics primed", "targets", n, "duration", time.Since(start).Round(time.Millisecond))
	}()
}

// openWrites reports whether API writes go without a token: only in a
// demo listening on loopback, where whoever can connect already runs
// code on this machine.
func (m *Main) openWrites() bool {
	if !m.Demo {
		return false
	}
	host, _, err := net.SplitHostPort(m.Listen)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && a.IsLoopback())
}

// warnAboutTokens says how the API's writes stand: open (demo), or
// refused until an admin token exists.
func (m *Main) warnAboutTokens(ctx context.Context) {
	if m.openWrites() {
		fmt.Fprintln(m.Stdout, "The demo's API is open on loopback: writes need no token.")
		return
	}
	ts, ok := m.backend.store.(store.TokenStore)
	if !ok {
		return
	}
	toks, err := ts.ListTokens(ctx)
	if err != nil {
		m.log.Warn("list API tokens", "err", err)
		return
	}
	for _, t := range toks {
		if t.Role == store.RoleAdmin && !t.Revoked() {
			return
		}
	}
	m.log.Warn("no admin API token: API writes are refused until one exists (tlswarden tokens create --name NAME --role admin)")
}

// tlsConfig loads --tls-cert and --tls-key, or returns nil without them.
// The pair is loaded again whenever the files change.
func (m *Main) tlsConfig() (*tls.Config, error) {
	if m.TLSCert == "" {
		return nil, nil
	}
	r, err := newCertReloader(m.TLSCert, m.TLSKey, m.log)
	if err != nil {
		return nil, err
	}
	cfg := api.TLSConfig()
	cfg.GetCertificate = r.GetCertificate
	return cfg, nil
}

func (m *Main) listen(ctx context.Context) error {
	h, err := m.handler()
	if err != nil {
		return err
	}
	tlsCfg, err := m.tlsConfig()
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", m.Listen)
	if m.Demo && m.Listen == DefaultListen && errors.Is(err, syscall.EADDRINUSE) {
		m.log.Warn("the default address is taken; the demo listens on a free port", "listen", m.Listen)
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	m.ln = ln
	if !m.Worker {
		h = api.HostCheck(m.PublicURLs.hosts(), h)
	}
	m.server = api.NewHTTPServer(m.Listen, api.SecurityHeaders(h), m.log)
	m.served = make(chan error, 1)
	if tlsCfg == nil {
		go func() { m.served <- m.server.Serve(ln) }()
		return nil
	}
	m.server.TLSConfig = tlsCfg
	go func() { m.served <- m.server.ServeTLS(ln, "", "") }()
	return nil
}

// URL is the base URL of the API, once Run has returned.
// LinkURL is the base of the links serve prints for people: the first
// --public-url when one is given (the name people reach it by, behind a
// proxy or a load balancer), else the listener's URL.
func (m *Main) LinkURL() string {
	if b := m.PublicURLs.base(); b != "" {
		return b
	}
	return m.URL()
}

func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	if m.TLSCert != "" {
		return "https://" + m.ln.Addr().String()
	}
	return "http://" + m.ln.Addr().String()
}

// Wait returns when ctx is done or the API server fails.
func (m *Main) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-m.served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("API server: %w", err)
	}
}

// Close stops the service: the API stops taking requests and finishes
// those in flight, running scans get the drain timeout to finish, then
// the testbed and the store close. It is safe to call more than once.
func (m *Main) Close() error {
	var errs []error
	if m.stopDemo != nil {
		m.stopDemo()
		<-m.demoDone
		m.stopDemo = nil
	}
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, m.server.Shutdown(ctx))
		cancel()
		m.server = nil
	}
	if m.stopWaiver != nil {
		m.stopWaiver()
		<-m.waiversRun
		m.stopWaiver = nil
	}
	if m.stopPrime != nil {
		m.stopPrime()
		<-m.primed
		m.stopPrime = nil
	}
	if m.queue != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Jobs.DrainTimeout+30*time.Second)
		errs = append(errs, m.queue.Stop(ctx))
		cancel()
		m.queue = nil
	}
	if m.testbed != nil {
		errs = append(errs, m.testbed.Close())
		m.testbed = nil
	}
	if m.backend != nil {
		m.backend.Close()
		m.backend = nil
	}
	if m.tempDir != "" {
		errs = append(errs, os.RemoveAll(m.tempDir))
		m.tempDir = ""
	}
	return errors.Join(errs...)
}

// runServe is `tlswarden serve`: Run, wait for SIGINT or SIGTERM, Close.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runService(ctx, NewMain(stdout, stderr), args)
}

func runService(ctx context.Context, m *Main, args []string) int {
	if err := m.ParseFlags(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintln(m.Stderr, "tlswarden:", err)
		return exitNotScanned
	}
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(m.Stderr, "tlswarden:", err)
		return exitFailed
	}
	err := m.Wait(ctx)
	if m.log != nil {
		m.log.Info("stopping: draining running scans", "drain_timeout", m.Jobs.DrainTimeout)
	}
	if cerr := m.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		fmt.Fprintln(m.Stderr, "tlswarden:", err)
		return exitFailed
	}
	return exitOK
}

// exitFailed is the exit status of a service command that failed.
const exitFailed = 1

// lockedWriter lets goroutines (the demo's report) share a writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
