// Package jobs runs tlswarden's scans as River jobs: one job scans one
// target, a periodic job enqueues the scheduled scans, and any number of
// processes sharing one database share the work.
//
// A Queue is a River client with tlswarden's workers. Built with a
// Scanner it works jobs (tlswarden serve and worker); without one it only
// inserts and reads them (the CLI asking for a scan). The queue lives in
// River's own tables beside the store's, in its Postgres database and
// schema or its SQLite file, so that a scan job stores its result and
// completes in one transaction.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// Defaults of Config.
const (
	DefaultSchedule     = "0 2 * * *" // nightly at 02:00 in the process's time zone
	DefaultJitter       = time.Hour
	DefaultWorkers      = 256
	DefaultJobTimeout   = 30 * time.Minute
	DefaultMaxAttempts  = 5
	DefaultDrainTimeout = 30 * time.Second
)

// QueueScans is the River queue scan jobs run in; scheduling jobs run in
// River's default queue.
const QueueScans = "scans"

// Scanner scans one target. *scanner.Scanner is one.
type Scanner interface {
	Scan(ctx context.Context, t tlswarden.Target) *tlswarden.Report
}

// Metrics counts what the workers do; *metrics.Operations is one.
type Metrics interface {
	ObserveScan(r *tlswarden.Report)
	JobError(kind string)
}

// Config configures a Queue. Its zero value works apart from Store, and
// Scanner for a queue that works jobs.
type Config struct {
	Store store.Store
	// Scanner scans targets; nil makes a queue that only inserts and reads
	// jobs and runs no workers.
	Scanner Scanner
	// Profile judges each scan (default: policy.DefaultProfile).
	Profile *policy.Profile
	// Workers caps the scan jobs this process works at once (default
	// DefaultWorkers). It is an upper bound: a job's scan waits until the
	// scanner's connection budget admits it, so the budget, which adapts
	// to the network, decides how many really scan; the default is high
	// enough to keep it busy at internet round trips.
	Workers int
	// Schedule is the cron expression (five fields, or a descriptor such
	// as @daily) on which every enabled target without a schedule of its
	// own is scanned (default DefaultSchedule). "off" schedules nothing.
	Schedule string
	// Jitter spreads the scheduled scans over this window after the
	// schedule fires, so thousands of targets do not start in the same
	// second (default one hour; negative for none).
	Jitter time.Duration
	// Retention is how long scans are kept: a daily job deletes older ones,
	// except each target's latest, with their reports and findings; events
	// are kept for ever. Zero keeps every scan.
	Retention time.Duration
	// JobTimeout bounds one scan job (default 30 minutes).
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before River's rescuer
	// (on the elected leader) takes it for abandoned, its worker having
	// crashed or lost its database, and makes it available again: a killed
	// worker's scans are retried after about this long. It must not be
	// shorter than JobTimeout, or scans still running would be rescued and
	// run twice (default: River's, an hour or JobTimeout plus an hour).
	RescueAfter time.Duration
	// MaxAttempts is how often a scan job is tried before it is discarded
	// (default 5); River backs off between attempts.
	MaxAttempts int
	// DrainTimeout is how long Stop lets running scans finish before it
	// cancels them (default 30 seconds). A scan cancelled so is stored as
	// canceled and tried again.
	DrainTimeout time.Duration
	// PollInterval is how often workers look for jobs when no notification
	// wakes them (default: River's, one second).
	PollInterval time.Duration
	// RetryDelay, when set, replaces River's backoff between attempts
	// (attempt⁴ seconds): tests make it short.
	RetryDelay func(attempt int) time.Duration
	// LivenessInterval is how often a working queue renews its liveness
	// record and rescues the running jobs of workers that have not renewed
	// theirs for four intervals (default DefaultLivenessInterval): a
	// crashed worker's scans are retried within about a minute, not after
	// RescueAfter.
	LivenessInterval time.Duration
	// Notifier, when set, sends the subscriptions' digests (see
	// notify.go): a queue that works jobs then works notification jobs
	// too, and the store must be a store.SubscriptionStore.
	Notifier Notifier
	// NotifyElsewhere, with no Notifier, still enqueues the digests of
	// finished scans, for another process's queue to work (serve or
	// worker run with --no-notify).
	NotifyElsewhere bool
	// NotifyDebounce is how long after a scan's events its subscriptions'
	// digests are gathered, and how long a digest waits again while scans
	// are still waiting or running (default DefaultNotifyDebounce).
	NotifyDebounce time.Duration
	// NotifyMaxDelay is how long a digest waits at most for the scans of a
	// run to end (default DefaultNotifyMaxDelay).
	NotifyMaxDelay time.Duration
	// NotifyMaxAttempts is how often a delivery is tried, snoozes for a
	// receiver's Retry-After included, before it is recorded as failed
	// (default DefaultNotifyMaxAttempts).
	NotifyMaxAttempts int
	// PublicURL is the service's URL the digests link to ("" for none).
	PublicURL string
	// Metrics, when set, observes each finished scan and failed job.
	Metrics Metrics
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) validate() error {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("workers must not be negative"))
	}
	if c.JobTimeout < 0 || c.DrainTimeout < 0 || c.PollInterval < 0 || c.LivenessInterval < 0 {
		errs = append(errs, errors.New("timeouts and intervals must not be negative"))
	}
	if c.RescueAfter < 0 {
		errs = append(errs, errors.New("rescue-after must not be negative"))
	} else if jt := cmp.Or(c.JobTimeout, DefaultJobTimeout); c.RescueAfter > 0 && c.RescueAfter < jt {
		errs = append(errs, fmt.Errorf("rescue-after (%s) must not be shorter than the job timeout (%s)", c.RescueAfter, jt))
	}
	if c.Retention < 0 {
		errs = append(errs, errors.New("retention must not be negative"))
	}
	if c.NotifyDebounce < 0 || c.NotifyMaxDelay < 0 || c.NotifyMaxAttempts < 0 {
		errs = append(errs, errors.New("notification settings must not be negative"))
	}
	if _, ok := c.Store.(store.SubscriptionStore); c.Notifier != nil && c.Store != nil && !ok {
		errs = append(errs, errors.New("notifications need a store that keeps subscriptions"))
	}
	if c.MaxAttempts < 0 {
		errs = append(errs, errors.New("max attempts must not be negative"))
	}
	if c.Schedule != "" && c.Schedule != "off" {
		if _, err := cron.ParseStandard(c.Schedule); err != nil {
			errs = append(errs, fmt.Errorf("schedule %q is not a cron expression: %w", c.Schedule, err))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) withDefaults() {
	if c.Profile == nil {
		c.Profile, _ = policy.Builtin(policy.DefaultProfile)
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.Schedule == "" {
		c.Schedule = DefaultSchedule
	}
	if c.Jitter == 0 {
		c.Jitter = DefaultJitter
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	if c.LivenessInterval == 0 {
		c.LivenessInterval = DefaultLivenessInterval
	}
	c.NotifyDebounce = cmp.Or(c.NotifyDebounce, DefaultNotifyDebounce)
	c.NotifyMaxDelay = cmp.Or(c.NotifyMaxDelay, DefaultNotifyMaxDelay)
	c.NotifyMaxAttempts = cmp.Or(c.NotifyMaxAttempts, DefaultNotifyMaxAttempts)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// riverClient is what a Queue uses of river.Client, whichever driver's
// transaction type it has.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobDelete(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// Queue enqueues scans and, when it has a Scanner, works them. It is safe
// for concurrent use.
type Queue struct {
	cfg    Config
	log    *slog.Logger
	client riverClient
	count  func(ctx context.Context, query string) (int64, error)
	// periods caches Interval's schedule periods by schedule.
	periods sync.Map
	// sslv2 caches the estate's SSLv2 keys for the scan jobs (DROWN).
	sslv2 sslv2Keys
	// finishTx stores a scan's result and completes its job in one
	// transaction; nil when the store cannot (see completeInTx).
	finishTx finishFunc
	// id is the River client's ID; live its liveness records.
	id       string
	live     livenessDB
	stopLive context.CancelFunc
	liveDone chan struct{}
}

// NewSQLite returns a queue on the SQLite database db, whose River tables
// MigrateSQLite has created. db is the embedded store's writer
// (sqlite.Store.DB): the queue shares the store's file and connection, so
// that a scan's result and its job's completion are one transaction.
func NewSQLite(db *sql.DB, cfg Config) (*Queue, error) {
	q, err := newQueue(cfg, func(rc *river.Config) (riverClient, error) {
		return river.NewClient(riversqlite.New(db), rc)
	})
	if st, ok := cfg.Store.(interface{ DB() *sql.DB }); ok && q != nil && st.DB() != db {
		return nil, errors.New("jobs: the queue's database must be the store's writer (sqlite.Store.DB)")
	}
	if q != nil {
		q.finishTx = completeInTx[*riversqlite.Driver](cfg.Store)
		q.count = func(ctx context.Context, query string) (n int64, err error) {
			err = db.QueryRowContext(ctx, query).Scan(&n)
			return n, err
		}
		q.live = livenessDB{
			exec: func(ctx context.Context, query string, args ...any) (int64, error) {
				res, err := db.ExecContext(ctx, query, args...)
				if err != nil {
					return 0, err
				}
				return res.RowsAffected()
			},
			renewed: func(ctx context.Context, id string) (at int64, ok bool, err error) {
				err = db.QueryRowContext(ctx, renewedQuery, id).Scan(&at)
				if errors.Is(err, sql.ErrNoRows) {
					return 0, false, nil
				}
				return at, err == nil, err
			},
		}
	}
	return q, err
}

// NewPostgres returns a queue on the Postgres database of pool, whose River
// tables MigratePostgres has created in the schema its search_path names:
// the store's database and schema, so that a scan's result and its job's
// completion are one transaction.
func NewPostgres(pool *pgxpool.Pool, cfg Config) (*Queue, error) {
	q, err := newQueue(cfg, func(rc *river.Config) (riverClient, error) {
		return river.NewClient(riverpgxv5.New(pool), rc)
	})
	if q != nil {
		q.finishTx = completeInTx[*riverpgxv5.Driver](cfg.Store)
		q.count = func(ctx context.Context, query string) (n int64, err error) {
			err = pool.QueryRow(ctx, query).Scan(&n)
			return n, err
		}
		q.live = livenessDB{
			exec: func(ctx context.Context, query string, args ...any) (int64, error) {
				tag, err := pool.Exec(ctx, query, args...)
				return tag.RowsAffected(), err
			},
			renewed: func(ctx context.Context, id string) (at int64, ok bool, err error) {
				err = pool.QueryRow(ctx, renewedQuery, id).Scan(&at)
				if errors.Is(err, pgx.ErrNoRows) {
					return 0, false, nil
				}
				return at, err == nil, err
			},
		}
	}
	return q, err
}

// depthQuery counts the scan jobs waiting to run: available now, or
// waiting for a retry or their scheduled time.
const depthQuery = `SELECT count(*) FROM river_job WHERE state IN ('available', 'retryable', 'scheduled') AND queue <> 'notify'`

// Depth returns the number of scan jobs waiting to run.
func (q *Queue) Depth(ctx context.Context) (int64, error) {
	n, err := q.count(ctx, depthQuery)
	if err != nil {
		return 0, fmt.Errorf("queue depth: %w", err)
	}
	return n, nil
}

func newQueue(cfg Config, newClient func(*river.Config) (riverClient, error)) (*Queue, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("jobs config: %w", err)
	}
	cfg.withDefaults()
	q := &Queue{cfg: cfg, log: cfg.Logger, id: newClientID()}
	rc := &river.Config{
		ID:           q.id,
		Logger:       cfg.Logger.With("component", "river"),
		MaxAttempts:  cfg.MaxAttempts,
		JobTimeout:   cfg.JobTimeout,
		ErrorHandler: errorHandler{log: cfg.Logger, metrics: cfg.Metrics},
		// River cancels the scans still running this long after Stop and
		// makes their jobs available again for another process.
		SoftStopTimeout:      cfg.DrainTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
	}
	if cfg.RetryDelay != nil {
		rc.RetryPolicy = retryPolicy{delay: cfg.RetryDelay}
	}
	if cfg.PollInterval > 0 {
		rc.FetchPollInterval = cfg.PollInterval
		rc.FetchCooldown = min(cfg.PollInterval, 100*time.Millisecond)
	}
	if cfg.Scanner != nil {
		workers := river.NewWorkers()
		river.AddWorker(workers, &scanWorker{q: q})
		river.AddWorker(workers, &scheduleWorker{q: q})
		river.AddWorker(workers, &pruneWorker{q: q})
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{
			QueueScans:         {MaxWorkers: cfg.Workers},
			river.QueueDefault: {MaxWorkers: 1},
		}
		var err error
		if rc.PeriodicJobs, err = periodicJobs(cfg.Schedule, cfg.Retention); err != nil {
			return nil, err
		}
		// River inserts only the kinds its workers know; the notify queue
		// is worked only by a process that sends.
		river.AddWorker(workers, &digestWorker{q: q})
		river.AddWorker(workers, &deliverWorker{q: q})
		river.AddWorker(workers, &sweepWorker{q: q})
		if cfg.Notifier != nil {
			rc.Queues[QueueNotify] = river.QueueConfig{MaxWorkers: notifyWorkers}
			rc.PeriodicJobs = append(rc.PeriodicJobs, notifySweep())
		}
	}
	client, err := newClient(rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	q.client = client
	return q, nil
}

// Start starts the workers and, on whichever process River elects leader,
// the periodic jobs. A queue without a Scanner has nothing to start.
func (q *Queue) Start(ctx context.Context) error {
	if q.cfg.Scanner == nil {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	q.stopLive, q.liveDone = cancel, make(chan struct{})
	go q.livenessLoop(lctx, q.liveDone)
	return nil
}

// Stop drains the queue: it stops fetching jobs and waits up to
// DrainTimeout for running scans to finish, then cancels those still
// running, whose jobs River makes available again at once for another
// process (or this one, restarted). It returns when every job has returned
// or ctx is done.
func (q *Queue) Stop(ctx context.Context) error {
	if q.cfg.Scanner == nil {
		return nil
	}
	err := q.client.Stop(ctx)
	if q.stopLive != nil {
		q.stopLive()
		<-q.liveDone
		q.stopLive = nil
	}
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// retryPolicy replaces River's backoff when Config.RetryDelay is set.
type retryPolicy struct {
	delay func(attempt int) time.Duration
}

func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.delay(job.Attempt))
}

// errorHandler logs and counts each failed attempt once.
type errorHandler struct {
	log     *slog.Logger
	metrics Metrics
}

func (h errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	if h.metrics != nil {
		h.metrics.JobError(job.Kind)
	}
	h.log.WarnContext(ctx, "job attempt failed", "job", job.ID, "kind", job.Kind, "attempt", job.Attempt,
		"max_attempts", job.MaxAttempts, "args", string(job.EncodedArgs), "err", err)
	return nil
}

func (h errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	if h.metrics != nil {
		h.metrics.JobError(job.Kind)
	}
	h.log.ErrorContext(ctx, "job panicked", "job", job.ID, "kind", job.Kind, "attempt", job.Attempt,
		"panic", fmt.Sprint(panicVal), "trace", trace)
	return nil
}
