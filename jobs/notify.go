package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/notify"
	"github.com/tlswarden/tlswarden/store"
)

// Notifications are two jobs in a queue of their own (QueueNotify), so
// they never take a scan's place or wait for one:
//
//   - A digest job (NotifyDigestArgs), unique per subscription, gathers
//     what the subscription has not heard of yet (events past its cursor,
//     new targets that are not compliant, certificates inside its expiry
//     window), drops what a delivery already holds, and records one
//     delivery with a digest of the rest.
//   - A delivery job (NotifyDeliverArgs), unique per delivery, sends it,
//     retried with River's backoff; a receiver's Retry-After snoozes it
//     for as long as asked. Each attempt is recorded on the delivery.
//
// When a digest is sent delimits a scan run. A finished scan with events
// (or a verdict of non-compliant) enqueues the digest jobs of the
// subscriptions covering its target, scheduled NotifyDebounce later; jobs
// already waiting absorb it. When the job runs while scan jobs are still
// waiting or running (the nightly run, spread over its jitter), it
// snoozes for another NotifyDebounce, up to NotifyMaxDelay after it was
// first enqueued. So a nightly run gives each subscription one digest
// after its last scan, and a scan requested alone gives one digest a
// debounce after it. An hourly sweep enqueues every subscription's digest
// job as well: it finds the certificates that time has brought inside a
// window, the events of re-evaluations (a waiver approved or revoked),
// and anything a digest job running while a scan finished did not see.

// QueueNotify is the River queue notification jobs run in.
const QueueNotify = "notify"

// Defaults of the notification settings in Config.
const (
	DefaultNotifyDebounce    = time.Minute
	DefaultNotifyMaxDelay    = 3 * time.Hour
	DefaultNotifyMaxAttempts = 10
	// notifyWorkers bounds the notification jobs a process works at once;
	// the sender paces each receiver besides.
	notifyWorkers = 4
	// eventPage is how many events a digest job reads at a time, and
	// maxEventPages how many pages one digest gathers at most; the rest
	// go to the next digest.
	eventPage     = 1000
	maxEventPages = 100
)

// Notifier sends a digest to a destination; *notify.Sender is one. Its
// errors must never hold the destination's URL or secret.
type Notifier interface {
	Send(ctx context.Context, dest notify.Destination, d notify.Digest) error
}

// NotifyDigestArgs asks for one subscription's digest to be gathered and
// recorded as a delivery. Unique per subscription while waiting or
// running, so the scans of one run share one digest.
type NotifyDigestArgs struct {
	SubscriptionID int64 `json:"subscription_id" river:"unique"`
}

// Kind names digest jobs in River's tables.
func (NotifyDigestArgs) Kind() string { return "notify_digest" }

// NotifyDeliverArgs asks for one recorded delivery to be sent.
type NotifyDeliverArgs struct {
	DeliveryID int64 `json:"delivery_id" river:"unique"`
}

// Kind names delivery jobs in River's tables.
func (NotifyDeliverArgs) Kind() string { return "notify_deliver" }

// NotifySweepArgs asks for every enabled subscription's digest job to be
// enqueued.
type NotifySweepArgs struct{}

// Kind names sweep jobs in River's tables.
func (NotifySweepArgs) Kind() string { return "notify_sweep" }

func notifyOpts(scheduled time.Time) *river.InsertOpts {
	return &river.InsertOpts{
		Queue:       QueueNotify,
		ScheduledAt: scheduled,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStatePending, rivertype.JobStateAvailable, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled,
			},
		},
	}
}

// subscriptions returns the store's subscriptions side, nil when the
// queue sends no notifications.
func (q *Queue) subscriptions() store.SubscriptionStore {
	if q.cfg.Notifier == nil {
		return nil
	}
	ss, _ := q.cfg.Store.(store.SubscriptionStore)
	return ss
}

// digestSubscriptions returns the store's subscriptions side when digests
// are to be enqueued: this process sends them, or another one does
// (Config.NotifyElsewhere).
func (q *Queue) digestSubscriptions() store.SubscriptionStore {
	if q.cfg.Notifier == nil && !q.cfg.NotifyElsewhere {
		return nil
	}
	ss, _ := q.cfg.Store.(store.SubscriptionStore)
	return ss
}

// EnqueueDigests enqueues, NotifyDebounce from now, the digest job of
// every enabled subscription that covers t (every one when t is nil).
// Jobs already waiting absorb the new ones.
func (q *Queue) EnqueueDigests(ctx context.Context, t *store.Target) (int, error) {
	params, err := q.digests(ctx, t)
	if err != nil || len(params) == 0 {
		return 0, err
	}
	if _, err := q.client.InsertMany(ctx, params); err != nil {
		return 0, fmt.Errorf("enqueue digests: %w", err)
	}
	return len(params), nil
}

// digests returns the digest jobs EnqueueDigests inserts.
func (q *Queue) digests(ctx context.Context, t *store.Target) ([]river.InsertManyParams, error) {
	ss := q.digestSubscriptions()
	if ss == nil {
		return nil, nil
	}
	subs, err := ss.ListSubscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	var params []river.InsertManyParams
	at := q.cfg.Now().Add(q.cfg.NotifyDebounce)
	for _, s := range subs {
		if s.Disabled || t != nil && !s.Covers(*t) {
			continue
		}
		params = append(params, river.InsertManyParams{Args: NotifyDigestArgs{SubscriptionID: s.ID}, InsertOpts: notifyOpts(at)})
	}
	return params, nil
}

// digestsAfterScan returns the digest jobs a finished scan may concern,
// for the scan job to insert with its result. It never fails the scan: a
// digest missed here is found by the hourly sweep.
func (q *Queue) digestsAfterScan(ctx context.Context, t store.Target, res store.ScanResult, log *slog.Logger) []river.InsertManyParams {
	if q.digestSubscriptions() == nil {
		return nil
	}
	if len(res.Events) == 0 && (res.Evaluation == nil || res.Evaluation.Compliance != tlswarden.NonCompliant) {
		return nil
	}
	params, err := q.digests(ctx, &t)
	if err != nil {
		log.Warn("could not list the subscriptions to notify", "err", err)
	}
	return params
}

// notifyAfterScan enqueues the digests a scan judged outside a scan job
// may concern. It never fails: a digest missed here is found by the
// hourly sweep.
func (q *Queue) notifyAfterScan(ctx context.Context, t store.Target, res store.ScanResult, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	q.insertDigests(ctx, q.digestsAfterScan(ctx, t, res, log), log)
}

// insertDigests inserts digest jobs, logging a failure.
func (q *Queue) insertDigests(ctx context.Context, params []river.InsertManyParams, log *slog.Logger) {
	if len(params) == 0 {
		return
	}
	if _, err := q.client.InsertMany(ctx, params); err != nil {
		log.Warn("could not enqueue notification digests", "err", err)
	}
}

// NotifyJudged enqueues the digests a scan judged again without scanning
// may concern (waivers.Config.Judged: a waiver approved, revoked or
// expired), as a finished scan's are, so that its events reach the
// subscribers a debounce later rather than at the hourly sweep. It never
// fails the judgement: a digest missed here is found by the sweep.
func (q *Queue) NotifyJudged(ctx context.Context, t store.Target, res store.ScanResult) {
	q.notifyAfterScan(ctx, t, res, q.log.With("target", t.Target.String()))
}

// scansPendingQuery counts the scan jobs of a run still to finish.
const scansPendingQuery = `SELECT count(*) FROM river_job WHERE kind = 'scan_target' AND state IN ('available', 'running', 'retryable', 'scheduled', 'pending')`

// digestWorker works NotifyDigestArgs.
type digestWorker struct {
	river.WorkerDefaults[NotifyDigestArgs]
	q *Queue
}

func (w *digestWorker) Timeout(*river.Job[NotifyDigestArgs]) time.Duration { return 10 * time.Minute }

func (w *digestWorker) Work(ctx context.Context, job *river.Job[NotifyDigestArgs]) error {
	q, ss := w.q, w.q.subscriptions()
	if ss == nil {
		return river.JobCancel(errors.New("this process sends no notifications"))
	}
	sub, err := ss.GetSubscription(ctx, job.Args.SubscriptionID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("subscription %d no longer exists", job.Args.SubscriptionID))
	}
	if err != nil {
		return fmt.Errorf("load subscription: %w", err)
	}
	if sub.Disabled {
		return nil
	}
	if q.cfg.Now().Sub(job.CreatedAt) < q.cfg.NotifyMaxDelay {
		n, err := q.count(ctx, scansPendingQuery)
		if err != nil {
			return fmt.Errorf("count pending scans: %w", err)
		}
		if n > 0 {
			return river.JobSnooze(q.cfg.NotifyDebounce) // the run is not over
		}
	}
	if err := q.resumeDeliveries(ctx, ss, sub.ID); err != nil {
		return err
	}
	more, err := q.digest(ctx, ss, sub)
	if err != nil {
		return err
	}
	if more {
		return river.JobSnooze(0) // the events left over make the next digest
	}
	return nil
}

// resumeDeliveries enqueues the delivery jobs of the subscription's
// pending deliveries, in case a process stopped between recording one and
// enqueueing its job; a job still waiting absorbs its duplicate.
func (q *Queue) resumeDeliveries(ctx context.Context, ss store.SubscriptionStore, subID int64) error {
	pending, err := ss.ListDeliveries(ctx, store.DeliveryFilter{SubscriptionID: subID, Status: store.DeliveryPending, Limit: 100})
	if err != nil {
		return fmt.Errorf("list pending deliveries: %w", err)
	}
	for _, d := range pending {
		if err := q.enqueueDelivery(ctx, d.ID); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queue) enqueueDelivery(ctx context.Context, id int64) error {
	opts := notifyOpts(time.Time{})
	opts.MaxAttempts = q.cfg.NotifyMaxAttempts
	if _, err := q.client.Insert(ctx, NotifyDeliverArgs{DeliveryID: id}, opts); err != nil {
		return fmt.Errorf("enqueue delivery %d: %w", id, err)
	}
	return nil
}

// digest gathers what sub has not heard of, records it as one delivery
// and enqueues its sending. more is true when events were left for the
// next digest.
func (q *Queue) digest(ctx context.Context, ss store.SubscriptionStore, sub store.Subscription) (more bool, err error) {
	in := notify.Input{Subscription: sub, Now: q.cfg.Now(), BaseURL: q.cfg.PublicURL}
	cursor := sub.EventCursor
	if in.Events, cursor, more, err = q.eventsAfter(ctx, cursor); err != nil {
		return false, err
	}
	ps, ok := q.cfg.Store.(store.PostureStore)
	if !ok {
		return false, errors.New("the store cannot list targets with their latest scans")
	}
	if in.Targets, err = ps.ListScanStates(ctx); err != nil {
		return false, fmt.Errorf("list targets: %w", err)
	}
	if sub.ExpiryDays > 0 {
		if in.Certs, err = leafCerts(ctx, ps, sub, in.Targets); err != nil {
			return false, err
		}
	}
	cands := notify.Candidates(in)
	keys := make([]string, len(cands))
	for i, it := range cands {
		keys[i] = it.Key
	}
	unsent, err := ss.UnsentItems(ctx, sub.ID, keys)
	if err != nil {
		return false, fmt.Errorf("unsent items: %w", err)
	}
	if len(unsent) == 0 {
		if err := ss.AdvanceEventCursor(ctx, sub.ID, cursor); err != nil {
			return false, fmt.Errorf("advance cursor: %w", err)
		}
		return more, nil
	}
	return more, q.recordDigest(ctx, ss, sub, keep(cands, unsent), cursor)
}

// keep returns the items whose keys are in keys.
func keep(items []notify.Item, keys []string) []notify.Item {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	var out []notify.Item
	for _, it := range items {
		if want[it.Key] {
			out = append(out, it)
		}
	}
	return out
}

func (q *Queue) recordDigest(ctx context.Context, ss store.SubscriptionStore, sub store.Subscription, items []notify.Item, cursor int64) error {
	dg := notify.Build(sub, items, q.cfg.Now(), q.cfg.PublicURL)
	body, err := json.Marshal(dg)
	if err != nil {
		return fmt.Errorf("encode digest: %w", err)
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	d, err := ss.CreateDelivery(ctx, store.Delivery{SubscriptionID: sub.ID, Items: keys, Digest: body}, cursor)
	if err != nil {
		return fmt.Errorf("record delivery: %w", err)
	}
	q.log.Info("notification digest recorded", "subscription_id", sub.ID, "delivery_id", d.ID,
		"items", len(keys), "summary", dg.Summary)
	return q.enqueueDelivery(ctx, d.ID)
}

// eventsAfter reads the events after cursor, a page at a time, and
// returns them with the new cursor; more is true when it stopped before
// the last.
func (q *Queue) eventsAfter(ctx context.Context, cursor int64) (evs []store.Event, next int64, more bool, err error) {
	next = cursor
	for range maxEventPages {
		page, err := q.cfg.Store.ListEvents(ctx, store.EventFilter{AfterID: next, Limit: eventPage})
		if err != nil {
			return nil, 0, false, fmt.Errorf("list events: %w", err)
		}
		evs = append(evs, page...)
		if len(page) > 0 {
			next = page[len(page)-1].ID
		}
		if len(page) < eventPage {
			return evs, next, false, nil
		}
	}
	return evs, next, true, nil
}

// leafCerts returns the leaf certificates of the latest scans of the
// targets sub covers.
func leafCerts(ctx context.Context, ps store.PostureStore, sub store.Subscription, states []store.ScanState) ([]notify.Cert, error) {
	var ids []int64
	targetOf := map[int64]int64{}
	for _, st := range states {
		if st.Latest.ID != 0 && sub.Covers(st.Target) {
			ids = append(ids, st.Latest.ID)
			targetOf[st.Latest.ID] = st.Target.ID
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	postures, err := ps.ListEndpointPostures(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list endpoint postures: %w", err)
	}
	var out []notify.Cert
	for _, p := range postures {
		for _, c := range p.Cert.Chains() {
			if len(c.Chain) == 0 || c.Chain[0].ParseFailed {
				continue
			}
			out = append(out, notify.Cert{TargetID: targetOf[p.ScanID], SHA256: c.LeafSHA256,
				NotAfter: c.Chain[0].NotAfter, Endpoint: p.Addr.String()})
		}
	}
	return out, nil
}

// deliverWorker works NotifyDeliverArgs.
type deliverWorker struct {
	river.WorkerDefaults[NotifyDeliverArgs]
	q *Queue
}

// Timeout leaves room for the sender's pacing and its own timeout.
func (w *deliverWorker) Timeout(*river.Job[NotifyDeliverArgs]) time.Duration { return 5 * time.Minute }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[NotifyDeliverArgs]) error {
	q, ss := w.q, w.q.subscriptions()
	if ss == nil {
		return river.JobCancel(errors.New("this process sends no notifications"))
	}
	d, err := ss.GetDelivery(ctx, job.Args.DeliveryID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("delivery %d no longer exists", job.Args.DeliveryID))
	}
	if err != nil {
		return fmt.Errorf("load delivery: %w", err)
	}
	if d.Status != store.DeliveryPending {
		return nil
	}
	log := q.log.With("delivery_id", d.ID, "subscription_id", d.SubscriptionID, "job", job.ID)
	sub, err := ss.GetSubscription(ctx, d.SubscriptionID)
	if err != nil {
		return fmt.Errorf("load subscription: %w", err)
	}
	if sub.Disabled {
		_, err := ss.RecordAttempt(ctx, d.ID, store.DeliveryFailed, "the subscription was disabled before the digest was sent", q.cfg.Now())
		return err
	}
	var dg notify.Digest
	if err := json.Unmarshal(d.Digest, &dg); err != nil {
		_, rerr := ss.RecordAttempt(ctx, d.ID, store.DeliveryFailed, "stored digest unreadable: "+err.Error(), q.cfg.Now())
		return river.JobCancel(errors.Join(err, rerr))
	}
	dg.DeliveryID = d.ID
	sendErr := q.cfg.Notifier.Send(ctx, notify.Destination{Channel: notify.Channel(sub.Channel), URL: sub.URL, Secret: sub.Secret}, dg)
	return q.recordSend(ctx, ss, d, job, sendErr, log)
}

// recordSend records one attempt's outcome and tells River what next:
// done, retried with backoff, snoozed for the receiver's Retry-After, or
// given up. Attempts count snoozes too, so a receiver that always asks
// for more time is given up after NotifyMaxAttempts.
func (q *Queue) recordSend(ctx context.Context, ss store.SubscriptionStore, d store.Delivery, job *river.Job[NotifyDeliverArgs], sendErr error, log *slog.Logger) error {
	// The outcome is recorded even when the job's context has ended.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := q.cfg.Now()
	if sendErr == nil {
		if _, err := ss.RecordAttempt(rctx, d.ID, store.DeliverySent, "", now); err != nil {
			return fmt.Errorf("record delivery %d sent: %w", d.ID, err)
		}
		log.Info("notification delivered", "attempt", d.Attempts+1)
		return nil
	}
	var ne *notify.Error
	permanent := errors.As(sendErr, &ne) && ne.Permanent
	final := permanent || d.Attempts+1 >= q.cfg.NotifyMaxAttempts || job.Attempt >= job.MaxAttempts
	status := store.DeliveryPending
	if final {
		status = store.DeliveryFailed
	}
	// sendErr's text never holds the URL or the secret (Notifier's rule).
	if _, err := ss.RecordAttempt(rctx, d.ID, status, store.CutError(sendErr.Error()), now); err != nil {
		return fmt.Errorf("record delivery %d attempt: %w", d.ID, err)
	}
	switch {
	case final:
		return river.JobCancel(sendErr) // River's error handler logs it
	case ne != nil && ne.RetryAfter > 0:
		log.Warn("notification not delivered; the receiver asked to wait", "attempt", d.Attempts+1,
			"retry_after", ne.RetryAfter, "err", sendErr)
		return river.JobSnooze(ne.RetryAfter)
	}
	return sendErr
}

// notifySweep is the hourly periodic job that enqueues every
// subscription's digest.
func notifySweep() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return NotifySweepArgs{}, &river.InsertOpts{Queue: QueueNotify}
	}, &river.PeriodicJobOpts{ID: "notify_sweep"})
}

// sweepWorker works NotifySweepArgs.
type sweepWorker struct {
	river.WorkerDefaults[NotifySweepArgs]
	q *Queue
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[NotifySweepArgs]) error {
	_, err := w.q.EnqueueDigests(ctx, nil)
	return err
}
