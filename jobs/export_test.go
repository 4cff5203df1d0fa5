package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tlswarden/tlswarden/store"
)

// RunSchedule works a ScheduleScansArgs job created at the given time, as
// the periodic job would.
func (q *Queue) RunSchedule(ctx context.Context, overrides bool, at time.Time) error {
	w := &scheduleWorker{q: q}
	return w.Work(ctx, &river.Job[ScheduleScansArgs]{
		JobRow: &rivertype.JobRow{CreatedAt: at},
		Args:   ScheduleScansArgs{Overrides: overrides},
	})
}

// InsertScanJob inserts a scan job with the given arguments as they are,
// without RequestScan's checks: a job written by an older version.
func (q *Queue) InsertScanJob(ctx context.Context, args ScanTargetArgs) (int64, error) {
	res, err := q.client.Insert(ctx, args, scanOpts(args.TargetID))
	if err != nil {
		return 0, err
	}
	return res.Job.ID, nil
}

// DeleteJob deletes a job, as if it had run and been cleaned up.
func (q *Queue) DeleteJob(ctx context.Context, id int64) error {
	_, err := q.client.JobDelete(ctx, id)
	return err
}

// Crash stops the queue's liveness renewals and leaves a record as a
// worker killed a day ago would: its running jobs stay running.
func (q *Queue) Crash(ctx context.Context) error {
	q.stopLive()
	<-q.liveDone
	q.stopLive = nil
	_, err := q.live.exec(ctx, renewQuery, q.id, q.cfg.Now().Add(-24*time.Hour).Unix())
	return err
}

// NotifyJobsWaiting counts the notification jobs not yet finished.
func (q *Queue) NotifyJobsWaiting(ctx context.Context) (int64, error) {
	return q.count(ctx, `SELECT count(*) FROM river_job WHERE queue = 'notify' AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')`)
}

// InsertScanJobAt inserts a scheduled scan of a target to start at at, as
// the nightly run's jitter does.
func (q *Queue) InsertScanJobAt(ctx context.Context, targetID int64, at time.Time) error {
	opts := scanOpts(targetID)
	opts.ScheduledAt = at
	_, err := q.client.Insert(ctx, ScanTargetArgs{TargetID: targetID, Trigger: store.TriggerSchedule}, opts)
	return err
}
