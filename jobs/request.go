package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tlswarden/tlswarden/store"
)

// Request is a scan asked for, as its job stands.
type Request struct {
	// ID is the job's ID.
	ID          int64         `json:"id"`
	TargetID    int64         `json:"target_id"`
	Trigger     store.Trigger `json:"trigger"`
	RequestedBy string        `json:"requested_by,omitempty"`
	// State is River's: available, scheduled, running, retryable,
	// completed, cancelled or discarded.
	State string `json:"state"`
	// Done is true once the job is completed, cancelled or discarded.
	Done        bool      `json:"done"`
	Attempt     int       `json:"attempt"`
	MaxAttempts int       `json:"max_attempts"`
	ScheduledAt time.Time `json:"scheduled_at"`
	FinalizedAt time.Time `json:"finalized_at,omitzero"`
	// ScanID is the scan the job stored, once it has completed.
	ScanID int64 `json:"scan_id,omitempty"`
	// Errors lists why earlier attempts failed.
	Errors []string `json:"errors,omitempty"`
	// Duplicate is true when the request joined a scan of the target that
	// was already queued or running instead of adding one.
	Duplicate bool `json:"duplicate,omitempty"`
}

// RequestScan asks for a scan of the target now. When a scan of it is
// already queued (say, scheduled later tonight, or waiting to retry) that
// job is made available at once instead; when one is running, the request
// joins it. It fails with store.ErrNotFound when the target does not exist
// and with a *store.ValidationError when requestedBy is not a valid
// requested_by (see store.CheckText).
func (q *Queue) RequestScan(ctx context.Context, targetID int64, requestedBy string) (Request, error) {
	if _, err := q.cfg.Store.GetTarget(ctx, targetID); err != nil {
		return Request{}, fmt.Errorf("request scan: %w", err)
	}
	// Checked here, not only when the scan is stored: a job whose scan
	// can never be stored would hold the target's unique slot.
	if err := store.CheckText("requested_by", requestedBy, store.MaxRequestedByLen); err != nil {
		return Request{}, fmt.Errorf("request scan: %w", err)
	}
	args := ScanTargetArgs{TargetID: targetID, Trigger: store.TriggerRequest, RequestedBy: requestedBy}
	res, err := q.client.Insert(ctx, args, scanOpts(targetID))
	if err != nil {
		return Request{}, fmt.Errorf("request scan of target %d: %w", targetID, err)
	}
	job := res.Job
	if res.UniqueSkippedAsDuplicate && job.State == rivertype.JobStateRunning {
		// The running job may be a dead worker's: then it starts again now
		// rather than after the next liveness sweep.
		if rescued, err := q.rescueIfDead(ctx, job); err != nil {
			q.log.Warn("check the worker of a running scan", "job", job.ID, "err", err)
		} else if rescued {
			if job, err = q.client.JobGet(ctx, job.ID); err != nil {
				return Request{}, fmt.Errorf("request scan of target %d: %w", targetID, err)
			}
		}
	}
	if res.UniqueSkippedAsDuplicate && (job.State == rivertype.JobStateScheduled || job.State == rivertype.JobStateRetryable) {
		if job, err = q.client.JobRetry(ctx, job.ID); err != nil {
			return Request{}, fmt.Errorf("request scan of target %d: bring job forward: %w", targetID, err)
		}
	}
	r, err := requestOf(job)
	r.Duplicate = res.UniqueSkippedAsDuplicate
	return r, err
}

// Request returns the scan request with the given job ID. It fails with
// store.ErrNotFound when there is no such scan job (River deletes finished
// jobs after a day).
func (q *Queue) Request(ctx context.Context, id int64) (Request, error) {
	job, err := q.client.JobGet(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) || err == nil && job.Kind != (ScanTargetArgs{}).Kind() {
		return Request{}, fmt.Errorf("scan request %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return Request{}, fmt.Errorf("scan request %d: %w", id, err)
	}
	return requestOf(job)
}

// Requests returns the scan jobs of a target that River still holds, most
// recent first.
func (q *Queue) Requests(ctx context.Context, targetID int64, limit int) ([]Request, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	params := river.NewJobListParams().Kinds(ScanTargetArgs{}.Kind()).
		TagsAny(targetTag(targetID)).
		States(rivertype.JobStates()...).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list scan requests of target %d: %w", targetID, err)
	}
	out := make([]Request, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		r, err := requestOf(j)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func requestOf(job *rivertype.JobRow) (Request, error) {
	var args ScanTargetArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return Request{}, fmt.Errorf("scan request %d: decode args: %w", job.ID, err)
	}
	r := Request{
		ID: job.ID, TargetID: args.TargetID, Trigger: args.Trigger, RequestedBy: args.RequestedBy,
		State: string(job.State), Attempt: job.Attempt, MaxAttempts: job.MaxAttempts, ScheduledAt: job.ScheduledAt,
	}
	switch job.State {
	case rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		r.Done = true
	}
	if job.FinalizedAt != nil {
		r.FinalizedAt = *job.FinalizedAt
	}
	if out := job.Output(); len(out) > 0 {
		var so ScanOutput
		if err := json.Unmarshal(out, &so); err == nil {
			r.ScanID = so.ScanID
		}
	}
	for _, e := range job.Errors {
		r.Errors = append(r.Errors, e.Error)
	}
	return r, nil
}

// requestBatch bounds the jobs one InsertMany writes: one transaction per
// batch keeps a request for a whole estate from holding the embedded
// queue's write lock for long.
const requestBatch = 1000

// RequestAll asks for a scan now of every enabled target, in batches of
// InsertMany rather than a transaction per target, and returns how many
// scans it queued. A target whose scan is already queued or running keeps
// that job (uniqueness skips it) and is not counted.
func (q *Queue) RequestAll(ctx context.Context, requestedBy string) (int, error) {
	if err := store.CheckText("requested_by", requestedBy, store.MaxRequestedByLen); err != nil {
		return 0, fmt.Errorf("request scans: %w", err)
	}
	enabled := true
	targets, err := q.cfg.Store.ListTargets(ctx, store.TargetFilter{Enabled: &enabled})
	if err != nil {
		return 0, fmt.Errorf("request scans: list targets: %w", err)
	}
	n := 0
	for batch := range slices.Chunk(targets, requestBatch) {
		params := make([]river.InsertManyParams, len(batch))
		for i, t := range batch {
			params[i] = river.InsertManyParams{
				Args:       ScanTargetArgs{TargetID: t.ID, Trigger: store.TriggerRequest, RequestedBy: requestedBy},
				InsertOpts: scanOpts(t.ID),
			}
		}
		res, err := q.client.InsertMany(ctx, params)
		if err != nil {
			return n, fmt.Errorf("request scans: %w", err)
		}
		for _, r := range res {
			if !r.UniqueSkippedAsDuplicate {
				n++
			}
		}
	}
	return n, nil
}
