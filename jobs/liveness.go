package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// DefaultLivenessInterval is how often a worker renews its liveness record
// and looks for the jobs of workers that stopped renewing theirs.
const DefaultLivenessInterval = 15 * time.Second

// livenessMisses is how many renewals a worker may miss before its running
// jobs are taken for abandoned.
const livenessMisses = 4

// livenessTable holds one row per working River client (its ID, as in a
// job's attempted_by) and when it last said it was alive, in Unix seconds
// (the same in both dialects). River has no heartbeat of its own: its
// rescuer can only wait --rescue-after for a running job, because a
// running job looks the same whether its worker is busy or dead.
const livenessTable = `CREATE TABLE IF NOT EXISTS tlswarden_worker_liveness (
	client_id  TEXT PRIMARY KEY,
	renewed_at BIGINT NOT NULL
)`

// sqlExec runs a statement on the queue's database; sqlRenewed reads a
// client's renewal time (ok false when it has no record).
type livenessDB struct {
	exec    func(ctx context.Context, query string, args ...any) (int64, error)
	renewed func(ctx context.Context, clientID string) (at int64, ok bool, err error)
}

const (
	renewQuery = `INSERT INTO tlswarden_worker_liveness (client_id, renewed_at) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET renewed_at = excluded.renewed_at`
	forgetQuery  = `DELETE FROM tlswarden_worker_liveness WHERE client_id = $1`
	renewedQuery = `SELECT renewed_at FROM tlswarden_worker_liveness WHERE client_id = $1`
	// rescueQuery makes a running job available again: River fetches
	// available jobs whose scheduled time has passed, and a running job's
	// has.
	rescueQuery = `UPDATE river_job SET state = 'available' WHERE id = $1 AND state = 'running'`
)

// newClientID names this process's River client uniquely, so that its
// liveness record and the attempted_by of its jobs say which process it is.
func newClientID() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s_%d_%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// livenessLoop renews this worker's record every interval and rescues the
// jobs of dead workers, until ctx ends; then it removes the record (a
// worker that stops cleanly has returned its jobs).
func (q *Queue) livenessLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(q.cfg.LivenessInterval)
	defer tick.Stop()
	for {
		q.renew(ctx)
		if _, err := q.RescueDead(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("rescue the jobs of dead workers", "err", err)
		}
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, err := q.live.exec(fctx, forgetQuery, q.id); err != nil {
				q.log.Warn("remove the worker's liveness record", "err", err)
			}
			return
		case <-tick.C:
		}
	}
}

func (q *Queue) renew(ctx context.Context) {
	if _, err := q.live.exec(ctx, renewQuery, q.id, q.cfg.Now().Unix()); err != nil && ctx.Err() == nil {
		q.log.Warn("renew the worker's liveness record", "err", err)
	}
}

// RescueDead makes available again, at once, every running scan job whose
// worker has a liveness record it stopped renewing (livenessMisses
// intervals): the worker crashed or lost its database, and the job would
// otherwise wait for River's rescuer (RescueAfter). A job whose worker has
// no record (one from before records were kept) is left to River, and so
// is a job of this process, which is alive if it asks. It returns how many
// jobs it rescued. Each worker's record is read once per call, not once
// per job: a busy worker runs hundreds of jobs.
func (q *Queue) RescueDead(ctx context.Context) (int, error) {
	res, err := q.client.JobList(ctx, river.NewJobListParams().Kinds(ScanTargetArgs{}.Kind()).
		States(rivertype.JobStateRunning).First(1000))
	if err != nil {
		return 0, fmt.Errorf("list running jobs: %w", err)
	}
	n, dead := 0, map[string]*time.Time{} // owner -> last renewal, nil when alive
	for _, job := range res.Jobs {
		owner, ok := q.foreignOwner(job)
		if !ok {
			continue
		}
		last, seen := dead[owner]
		if !seen {
			if last, err = q.deadSince(ctx, owner); err != nil {
				return n, err
			}
			dead[owner] = last
		}
		if last == nil {
			continue
		}
		rescued, err := q.rescue(ctx, job, owner, *last)
		if err != nil {
			return n, err
		}
		if rescued {
			n++
		}
	}
	return n, nil
}

// rescueIfDead makes a running job available again when the worker that
// runs it, another process, has a liveness record it stopped renewing,
// and reports whether it did.
func (q *Queue) rescueIfDead(ctx context.Context, job *rivertype.JobRow) (bool, error) {
	owner, ok := q.foreignOwner(job)
	if !ok {
		return false, nil
	}
	last, err := q.deadSince(ctx, owner)
	if err != nil || last == nil {
		return false, err
	}
	return q.rescue(ctx, job, owner, *last)
}

// foreignOwner returns the River client running job, unless the job is
// not running or runs in this process: a process asking is alive, even
// when a busy database kept it from renewing its record in time.
func (q *Queue) foreignOwner(job *rivertype.JobRow) (string, bool) {
	if job.State != rivertype.JobStateRunning || len(job.AttemptedBy) == 0 {
		return "", false
	}
	owner := job.AttemptedBy[len(job.AttemptedBy)-1]
	return owner, owner != q.id
}

// deadSince returns when owner last renewed its liveness record, when that
// is livenessMisses intervals ago or more; nil when it renewed since, or
// has no record.
func (q *Queue) deadSince(ctx context.Context, owner string) (*time.Time, error) {
	at, ok, err := q.live.renewed(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("liveness of %s: %w", owner, err)
	}
	if !ok || at >= q.cfg.Now().Add(-livenessMisses*q.cfg.LivenessInterval).Unix() {
		return nil, nil
	}
	last := time.Unix(at, 0)
	return &last, nil
}

// rescue makes the running job of a dead worker available again.
func (q *Queue) rescue(ctx context.Context, job *rivertype.JobRow, owner string, last time.Time) (bool, error) {
	rescued, err := q.live.exec(ctx, rescueQuery, job.ID)
	if err != nil {
		return false, fmt.Errorf("rescue job %d: %w", job.ID, err)
	}
	if rescued > 0 {
		q.log.Warn("rescued the job of a dead worker", "job", job.ID, "worker", owner, "last_renewed", last)
	}
	return rescued > 0, nil
}
