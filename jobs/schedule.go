package jobs

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/tlswarden/tlswarden/schedule"
	"github.com/tlswarden/tlswarden/store"
)

// periodicJobs returns River's periodic jobs: the scan of every target on
// the default schedule, and the minutely check of targets with schedules of
// their own. River runs them on the elected leader only.
func periodicJobs(schedule string, retention time.Duration) ([]*river.PeriodicJob, error) {
	minutely, err := cron.ParseStandard("* * * * *")
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	jobs := []*river.PeriodicJob{
		river.NewPeriodicJob(minutely, func() (river.JobArgs, *river.InsertOpts) {
			return ScheduleScansArgs{Overrides: true}, nil
		}, &river.PeriodicJobOpts{ID: "schedule_overrides"}),
	}
	if retention > 0 {
		daily, err := cron.ParseStandard("17 4 * * *")
		if err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
		jobs = append(jobs, river.NewPeriodicJob(daily, func() (river.JobArgs, *river.InsertOpts) {
			return PruneScansArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "prune_scans", RunOnStart: true}))
	}
	if schedule == "off" {
		return jobs, nil
	}
	sched, err := cron.ParseStandard(schedule)
	if err != nil {
		return nil, fmt.Errorf("jobs: schedule %q: %w", schedule, err)
	}
	return append(jobs, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
		return ScheduleScansArgs{}, nil
	}, &river.PeriodicJobOpts{ID: "schedule_default"})), nil
}

// pruneWorker works PruneScansArgs.
type pruneWorker struct {
	river.WorkerDefaults[PruneScansArgs]
	q *Queue
}

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneScansArgs]) error {
	_, err := w.q.Prune(ctx)
	return err
}

// Prune deletes the scans older than the retention period, as the daily
// job does, and returns how many it deleted. With no retention set it
// deletes nothing.
func (q *Queue) Prune(ctx context.Context) (int64, error) {
	if q.cfg.Retention <= 0 {
		return 0, nil
	}
	cutoff := q.cfg.Now().Add(-q.cfg.Retention)
	n, err := q.cfg.Store.PruneScans(ctx, cutoff)
	if err != nil {
		return 0, fmt.Errorf("prune scans: %w", err)
	}
	if n > 0 {
		q.log.Info("pruned old scans", "scans", n, "before", cutoff)
	}
	return n, nil
}

// scheduleWorker works ScheduleScansArgs.
type scheduleWorker struct {
	river.WorkerDefaults[ScheduleScansArgs]
	q *Queue
}

func (w *scheduleWorker) Work(ctx context.Context, job *river.Job[ScheduleScansArgs]) error {
	var (
		n   int
		err error
	)
	if job.Args.Overrides {
		n, err = w.q.enqueueOwnSchedules(ctx, job.CreatedAt)
	} else {
		n, err = w.q.enqueueDue(ctx, w.q.onDefault)
	}
	if err != nil {
		return err
	}
	if n > 0 {
		w.q.log.Info("scheduled scans", "targets", n, "overrides", job.Args.Overrides)
	}
	return nil
}

// onDefault reports whether the target is scanned on the default
// schedule: it has no schedule of its own, or one stored before schedules
// were checked that the scheduler cannot read.
func (q *Queue) onDefault(t store.Target) bool {
	if t.Schedule == "" {
		return true
	}
	if _, err := schedule.Parse(t.Schedule); err != nil {
		q.log.Warn("target schedule is invalid; scanning it on the default schedule", "target", t.Target.String(), "schedule", t.Schedule, "err", err)
		return true
	}
	return false
}

// enqueueOwnSchedules enqueues, to start at once, a scan of every enabled
// target whose own schedule makes it due at now (see dueAt). Whether a
// target is due depends only on the store, so a restarted process or
// another replica decides the same; a target whose scan is already queued
// or running is skipped by the jobs' uniqueness.
func (q *Queue) enqueueOwnSchedules(ctx context.Context, now time.Time) (int, error) {
	states, err := q.ownScheduleStates(ctx)
	if err != nil {
		return 0, err
	}
	var params []river.InsertManyParams
	for _, st := range states {
		t := st.Target
		if !t.Enabled || t.Schedule == "" {
			continue
		}
		sch, err := schedule.Parse(t.Schedule)
		if err != nil || dueAt(sch, st.Latest).After(now) {
			continue
		}
		opts := scanOpts(t.ID)
		opts.ScheduledAt = now
		params = append(params, river.InsertManyParams{Args: ScanTargetArgs{TargetID: t.ID, Trigger: store.TriggerSchedule}, InsertOpts: opts})
	}
	return q.insertScheduled(ctx, params)
}

// dueAt returns when the next scan of a target on sch is due after its
// latest finished scan: at once when it was never scanned.
func dueAt(sch schedule.Schedule, latest store.Scan) time.Time {
	if latest.ID == 0 || latest.Finished.IsZero() {
		return time.Time{}
	}
	return sch.Next(latest.Finished)
}

// ownScheduleLookups is how many targets with schedules of their own
// ownScheduleStates reads the latest scans of one by one; beyond it, one
// query over the estate is cheaper.
const ownScheduleLookups = 256

// ownScheduleStates returns the enabled targets with schedules of their
// own, each with its latest scan. It runs every minute on the leader, and
// most of an estate is scanned on the default schedule: so it lists the
// targets and reads the latest scans of only those with a schedule, by ID,
// instead of every target's scan states, whose query joins every scan of
// the estate (the latest successful one of each target). That query took
// over a minute on Postgres at 1,300 scans of 10,000 targets, on a server
// running without autovacuum and so without statistics, and the minutely
// runs piled up while the workers scanned.
func (q *Queue) ownScheduleStates(ctx context.Context) ([]store.ScanState, error) {
	enabled := true
	targets, err := q.cfg.Store.ListTargets(ctx, store.TargetFilter{Enabled: &enabled})
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	var own []store.ScanState
	for _, t := range targets {
		if t.Schedule != "" {
			own = append(own, store.ScanState{Target: t})
		}
	}
	if len(own) > ownScheduleLookups {
		return q.scanStates(ctx)
	}
	for i := range own {
		id := own[i].Target.LatestScanID
		if id == 0 {
			continue
		}
		if own[i].Latest, err = q.cfg.Store.GetScan(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("latest scan of target %d: %w", own[i].Target.ID, err)
		}
	}
	return own, nil
}

// scanStates returns every target with its latest finished scan: from the
// store in one query when it can, else target by target.
func (q *Queue) scanStates(ctx context.Context) ([]store.ScanState, error) {
	if ps, ok := q.cfg.Store.(store.PostureStore); ok {
		states, err := ps.ListScanStates(ctx)
		if err != nil {
			return nil, fmt.Errorf("list scan states: %w", err)
		}
		return states, nil
	}
	targets, err := q.cfg.Store.ListTargets(ctx, store.TargetFilter{})
	if err != nil {
		return nil, fmt.Errorf("list targets: %w", err)
	}
	out := make([]store.ScanState, len(targets))
	for i, t := range targets {
		out[i].Target = t
		if t.LatestScanID == 0 {
			continue
		}
		if out[i].Latest, err = q.cfg.Store.GetScan(ctx, t.LatestScanID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("latest scan of target %d: %w", t.ID, err)
		}
	}
	return out, nil
}

// ScheduleAll enqueues a scheduled scan of every enabled target, as the
// periodic job on the default schedule does for targets without a schedule
// of their own, spread over the jitter window. It returns how many scans
// it enqueued; a target already queued is skipped.
func (q *Queue) ScheduleAll(ctx context.Context) (int, error) {
	return q.enqueueDue(ctx, func(store.Target) bool { return true })
}

func (q *Queue) enqueueDue(ctx context.Context, due func(store.Target) bool) (int, error) {
	enabled := true
	targets, err := q.cfg.Store.ListTargets(ctx, store.TargetFilter{Enabled: &enabled})
	if err != nil {
		return 0, fmt.Errorf("list targets: %w", err)
	}
	now := q.cfg.Now()
	var params []river.InsertManyParams
	for _, t := range targets {
		if !due(t) {
			continue
		}
		opts := scanOpts(t.ID)
		opts.ScheduledAt = now.Add(q.jitter(t.ID, now))
		params = append(params, river.InsertManyParams{
			Args:       ScanTargetArgs{TargetID: t.ID, Trigger: store.TriggerSchedule},
			InsertOpts: opts,
		})
	}
	return q.insertScheduled(ctx, params)
}

// insertScheduled inserts scheduled scan jobs and returns how many were
// new rather than skipped as duplicates of a job already queued.
func (q *Queue) insertScheduled(ctx context.Context, params []river.InsertManyParams) (int, error) {
	if len(params) == 0 {
		return 0, nil
	}
	res, err := q.client.InsertMany(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("enqueue scheduled scans: %w", err)
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}

// jitter spreads targets evenly over the window: each gets an offset from a
// hash of its ID and the day, so a target's offset changes from one day to
// the next while it stays put within one.
func (q *Queue) jitter(targetID int64, now time.Time) time.Duration {
	if q.cfg.Jitter <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(targetID, 10) + now.Format("/2006-01-02")))
	return time.Duration(h.Sum64() % uint64(q.cfg.Jitter))
}

// scanOpts are the insert options of every scan job: unique per target
// while it waits or runs, so that two scans of one target never run at
// once; a finished one does not block the next.
func scanOpts(targetID int64) *river.InsertOpts {
	return &river.InsertOpts{
		Queue: QueueScans,
		Tags:  []string{targetTag(targetID)},
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStatePending, rivertype.JobStateAvailable, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled,
			},
		},
	}
}

// targetTag tags a scan job with its target, for Requests.
func targetTag(targetID int64) string { return "target-" + strconv.FormatInt(targetID, 10) }

// Interval returns the longest a target waits between scheduled scans: the
// period of its own schedule, or of the default one with the jitter
// window; 0 when it is not scanned on any schedule (disabled, or the
// default is off). Alerts compare it with the age of a target's last
// successful scan, so that each target is overdue by its own schedule.
func (q *Queue) Interval(t store.Target) time.Duration {
	if !t.Enabled {
		return 0
	}
	if t.Schedule != "" {
		if sch, err := schedule.Parse(t.Schedule); err == nil {
			return q.period(sch)
		}
	}
	if q.cfg.Schedule == "off" {
		return 0
	}
	sch, err := schedule.Parse(q.cfg.Schedule)
	if err != nil {
		return 0
	}
	return q.period(sch) + max(q.cfg.Jitter, 0)
}

// period is sch.Period(), remembered by schedule: a cron schedule's period
// takes up to a thousand firings to find, and thousands of targets share a
// few schedules.
func (q *Queue) period(sch schedule.Schedule) time.Duration {
	if p, ok := q.periods.Load(sch.String()); ok {
		return p.(time.Duration)
	}
	p := sch.Period()
	q.periods.Store(sch.String(), p)
	return p
}
