package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// scanWorker works ScanTargetArgs: it scans the target, judges the report,
// compares it with the target's previous scan and stores it all with one
// FinishScan.
type scanWorker struct {
	river.WorkerDefaults[ScanTargetArgs]
	q *Queue
}

// Timeout bounds one attempt; the scanner's own deadlines are shorter.
func (w *scanWorker) Timeout(*river.Job[ScanTargetArgs]) time.Duration { return w.q.cfg.JobTimeout }

func (w *scanWorker) Work(ctx context.Context, job *river.Job[ScanTargetArgs]) error {
	st := w.q.cfg.Store
	t, err := st.GetTarget(ctx, job.Args.TargetID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("target %d no longer exists", job.Args.TargetID))
	}
	if err != nil {
		return fmt.Errorf("load target: %w", err)
	}
	if !t.Enabled && job.Args.Trigger == store.TriggerSchedule {
		return river.JobCancel(fmt.Errorf("target %s is disabled", t.Target))
	}
	log := w.q.log.With("target", t.Target.String(), "target_id", t.ID, "job", job.ID)
	// One read of the target's recent scans serves both the abandoned
	// scans and the previous one to compare with: a store round trip per
	// job is what an estate of thousands of targets pays thousands of times.
	prior, err := st.ListScans(ctx, store.ScanFilter{TargetID: t.ID, Limit: historyDepth})
	if err != nil {
		return fmt.Errorf("list previous scans: %w", err)
	}
	sc, err := w.start(ctx, job, t, prior, log)
	if err != nil {
		return err
	}
	log = log.With("scan_id", sc.ID)
	res, err := w.scan(ctx, job, t, sc, prior, log)
	if err != nil {
		return err
	}
	out := output(sc.ID, res)
	log.Info("scan finished", "status", res.Report.Status, "compliance", res.Evaluation.Compliance,
		"endpoints", len(res.Report.Endpoints), "events", out.Events, "regressions", out.Regressions)
	return nil
}

// start returns the scan the job stores its result in: the one an earlier
// attempt left running (see resumable), or a new one. Other scans of the
// target still running are closed as abandoned.
func (w *scanWorker) start(ctx context.Context, job *river.Job[ScanTargetArgs], t store.Target, prior []store.Scan, log *slog.Logger) (store.Scan, error) {
	sc, resumed := resumable(prior, job)
	// Jobs are unique per target, so a scan of it still running is one a
	// stopped or crashed attempt left behind.
	w.abandonRunning(ctx, t, prior, sc.ID, log)
	if resumed {
		log.Info("finishing the scan an earlier attempt left running", "scan_id", sc.ID, "attempt", job.Attempt)
		return sc, nil
	}
	sc, err := w.q.cfg.Store.CreateScan(ctx, store.Scan{TargetID: t.ID, Trigger: job.Args.Trigger, RequestedBy: job.Args.RequestedBy})
	if errors.Is(err, store.ErrInvalid) {
		// Arguments the store refuses never become valid: retrying would
		// only keep the target's unique slot and swallow the requests
		// that join it.
		return sc, river.JobCancel(fmt.Errorf("create scan: %w", err))
	}
	if err != nil {
		return sc, fmt.Errorf("create scan: %w", err)
	}
	return sc, nil
}

// output is what the job records of its scan.
func output(scanID int64, res store.ScanResult) ScanOutput {
	out := ScanOutput{ScanID: scanID, Events: len(res.Events)}
	for _, e := range res.Events {
		if e.Regression {
			out.Regressions++
		}
	}
	return out
}

// resumable returns the scan an earlier attempt of job created and left
// running: it failed, or its process died, before its result was stored
// (with the job's completion, in one transaction). The retry finishes that
// scan instead of abandoning it beside a new one, so that a job stores one
// scan however many attempts it takes. Jobs are unique per target while
// queued or running, so a running scan of the target with the job's trigger
// and requester, started since the job was created, is one of its own.
func resumable(prior []store.Scan, job *river.Job[ScanTargetArgs]) (store.Scan, bool) {
	if job.Attempt < 2 {
		return store.Scan{}, false
	}
	for _, s := range prior {
		if s.Running() && !s.Started.Before(job.CreatedAt) && s.Trigger == job.Args.Trigger && s.RequestedBy == job.Args.RequestedBy {
			return s, true
		}
	}
	return store.Scan{}, false
}

// scan runs the scan and stores its result, with the job's output and
// completion when the store can commit them together (Queue.finishTx).
// When the job's context ends first (a timeout, or the process draining)
// the partial report is stored as canceled and the job fails, to be
// retried. prior are the target's
// scans before sc, most recent first. A target exempt from the intrusive
// checks is scanned under a context that says so.
func (w *scanWorker) scan(ctx context.Context, job *river.Job[ScanTargetArgs], t store.Target, sc store.Scan, prior []store.Scan, log *slog.Logger) (store.ScanResult, error) {
	sctx := ctx
	if !t.Intrusive {
		sctx = tlswarden.WithoutIntrusiveChecks(ctx)
	}
	r := w.q.cfg.Scanner.Scan(sctx, t.Target)
	stopped := ctx.Err()
	if stopped != nil {
		r.Status, r.Error = tlswarden.StatusOf(stopped), "scan stopped: "+context.Cause(ctx).Error()
	}
	if w.q.cfg.Metrics != nil {
		w.q.cfg.Metrics.ObserveScan(r)
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	// The store's waivers are read like the result is stored: a scan
	// stopped by its context is still judged and recorded.
	waivers, err := store.PolicyWaivers(fctx, w.q.cfg.Store, t)
	if err != nil {
		return store.ScanResult{Report: *r}, fmt.Errorf("waivers of %s: %w", t.Target, err)
	}
	// DROWN: an RSA key of this target served with SSLv2 by another
	// target's endpoint, as the estate's latest scans found them.
	sslv2, err := w.q.sslv2.leaves(fctx, w.q.cfg.Store, w.q.cfg.Now(), t.ID)
	if err != nil {
		return store.ScanResult{Report: *r}, fmt.Errorf("SSLv2 endpoints of the estate: %w", err)
	}
	ev := policy.Evaluate(r, w.q.cfg.Profile, policy.Options{Now: w.q.cfg.Now(), Waivers: waivers, SSLv2Leaves: sslv2})
	res := store.ScanResult{Report: *r, Evaluation: &ev}
	if stopped == nil {
		prev, err := w.previous(ctx, sc, prior)
		if err != nil {
			return res, err
		}
		res.Events = history.Compare(prev, &res)
	}
	if err := w.finish(fctx, job, t, sc.ID, res, stopped != nil, log); err != nil {
		return res, fmt.Errorf("store scan %d: %w", sc.ID, err)
	}
	w.q.sslv2.stored(t.ID, r)
	if stopped != nil {
		return res, fmt.Errorf("scan %d of %s stopped: %w", sc.ID, t.Target, stopped)
	}
	return res, nil
}

// finish stores the result of a scan and, unless it was stopped, records
// the job's output, enqueues the digests the scan concerns and completes
// the job, in the same transaction when the store allows it. A stopped
// scan's job fails, to be retried.
func (w *scanWorker) finish(ctx context.Context, job *river.Job[ScanTargetArgs], t store.Target, scanID int64, res store.ScanResult, stopped bool, log *slog.Logger) error {
	st := w.q.cfg.Store
	if stopped {
		return st.FinishScan(ctx, scanID, res)
	}
	// The output first: JobCompleteTx and River's own completion both
	// store what was recorded by then.
	if err := river.RecordOutput(ctx, output(scanID, res)); err != nil {
		return err
	}
	digests := w.q.digestsAfterScan(ctx, t, res, log)
	if w.q.finishTx != nil {
		return w.q.finishTx(ctx, scanID, res, digests, job)
	}
	if err := st.FinishScan(ctx, scanID, res); err != nil {
		return err
	}
	w.q.insertDigests(ctx, digests, log)
	return nil
}

// historyDepth bounds how far back previous looks for a complete scan.
const historyDepth = 20

// previous returns the result of the latest of prior (the target's scans
// before sc, most recent first) that got as far as probing its endpoints,
// or nil when there is none: a scan that failed outright (the name did not
// resolve, the job was stopped) has no facts to compare, and comparing with
// it would hide the changes since the last scan that had them.
func (w *scanWorker) previous(ctx context.Context, sc store.Scan, prior []store.Scan) (*store.ScanResult, error) {
	for _, p := range prior {
		if p.ID == sc.ID || p.Running() || p.Status != tlswarden.StatusOK || p.Started.After(sc.Started) {
			continue
		}
		res, err := w.q.cfg.Store.GetScanResult(ctx, p.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // pruned meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("load scan %d: %w", p.ID, err)
		}
		return &res, nil
	}
	return nil, nil
}

// abandonRunning finishes, as canceled, the scans of a target (among
// prior, its recent ones) left running by an attempt that never finished
// them, except the one the job resumes. Failing to is logged, not fatal: the new scan does not depend on
// it.
func (w *scanWorker) abandonRunning(ctx context.Context, t store.Target, prior []store.Scan, resumed int64, log *slog.Logger) {
	for _, s := range prior {
		if !s.Running() || s.ID == resumed {
			continue
		}
		res := store.ScanResult{Report: tlswarden.Report{
			Schema: tlswarden.ReportSchema, Target: t.Target, Started: s.Started, Finished: w.q.cfg.Now(),
			Status: tlswarden.StatusCanceled, Error: "abandoned: the worker stopped before the scan finished",
			Endpoints: []tlswarden.EndpointReport{},
		}}
		err := w.q.cfg.Store.FinishScan(ctx, s.ID, res)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			log.Warn("could not close an abandoned scan", "abandoned_scan_id", s.ID, "err", err)
		}
	}
}
