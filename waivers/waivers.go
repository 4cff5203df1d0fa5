// Package waivers runs the life of waiver records: requested by one
// token, approved by another, revoked or expired; and every change that
// alters what applies judges the latest stored scan of each covered
// target again at once, without scanning, so that findings, grades,
// metrics and events follow without waiting for the next scan.
//
// A judgement again is stored as a scan of its own (trigger
// "reevaluation") holding the same report, so that the history says when
// and why a verdict changed, and every reader of the latest scan (pages,
// API, metrics) sees it with no change of theirs.
package waivers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/history"
	"github.com/tlswarden/tlswarden/policy"
	"github.com/tlswarden/tlswarden/store"
)

// DefaultExpiryCheck is how often Run looks for waivers that have
// expired.
const DefaultExpiryCheck = time.Minute

// Service manages waivers over a store that keeps them.
type Service struct {
	st      store.Store
	ws      store.WaiverStore
	profile *policy.Profile
	now     func() time.Time
	log     *slog.Logger
	judged  func(ctx context.Context, t store.Target, res store.ScanResult)
}

// Config configures a Service. Store must be a store.WaiverStore; the
// rest has defaults.
type Config struct {
	Store store.Store
	// Profile judges the re-evaluated scans: the one the service scans
	// with (default: policy.DefaultProfile).
	Profile *policy.Profile
	Now     func() time.Time
	Logger  *slog.Logger
	// Judged, when set, is called with each judgement again once it is
	// stored: serve passes the queue's NotifyJudged, which queues the
	// notification digests of the subscriptions covering the target.
	Judged func(ctx context.Context, t store.Target, res store.ScanResult)
}

// New returns a Service, or an error when the store keeps no waivers.
func New(cfg Config) (*Service, error) {
	ws, ok := cfg.Store.(store.WaiverStore)
	if !ok {
		return nil, fmt.Errorf("waivers: %T keeps no waivers", cfg.Store)
	}
	s := &Service{st: cfg.Store, ws: ws, profile: cfg.Profile, now: cfg.Now, log: cfg.Logger, judged: cfg.Judged}
	if s.profile == nil {
		s.profile, _ = policy.Builtin(policy.DefaultProfile)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Store returns the waiver store, for reads.
func (s *Service) Store() store.WaiverStore { return s.ws }

// Request records a waiver waiting for approval. Nothing is judged again:
// it applies only once approved.
func (s *Service) Request(ctx context.Context, w store.Waiver) (store.Waiver, error) {
	return s.ws.CreateWaiver(ctx, w)
}

// Approve approves a waiver and judges the targets it covers again.
func (s *Service) Approve(ctx context.Context, id int64, by, key string) (store.Waiver, error) {
	w, err := s.ws.ApproveWaiver(ctx, id, by, key)
	if err != nil {
		return w, err
	}
	return w, s.Rejudge(ctx, w, fmt.Sprintf("waiver %d approved by %s", w.ID, by))
}

// Revoke revokes a waiver and judges the targets it covered again.
func (s *Service) Revoke(ctx context.Context, id int64, by string) (store.Waiver, error) {
	w, err := s.ws.RevokeWaiver(ctx, id, by)
	if err != nil {
		return w, err
	}
	return w, s.Rejudge(ctx, w, fmt.Sprintf("waiver %d revoked by %s", w.ID, by))
}

// ExpireDue notes each approved waiver that has expired since the last
// look and judges the targets it covered again; it returns how many it
// noted. Several replicas may call it: the store lets one note each.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	all, err := s.ws.ListWaivers(ctx, store.WaiverFilter{})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, w := range all {
		now := s.now()
		if _, due := w.NoteExpired(now); !due {
			continue
		}
		noted, err := s.ws.NoteWaiverExpired(ctx, w.ID, now)
		if err != nil || !noted {
			errs = append(errs, err)
			continue
		}
		n++
		errs = append(errs, s.Rejudge(ctx, w, fmt.Sprintf("waiver %d expired", w.ID)))
	}
	return n, errors.Join(errs...)
}

// Run calls ExpireDue every interval until ctx ends, logging what it does.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.ExpireDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "expire waivers", "err", err)
		}
		if n > 0 {
			s.log.InfoContext(ctx, "waivers expired; covered targets judged again", "waivers", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Rejudge judges the latest scan of every target w covers again, with the
// waivers that apply now.
func (s *Service) Rejudge(ctx context.Context, w store.Waiver, why string) error {
	targets, err := s.st.ListTargets(ctx, store.TargetFilter{})
	if err != nil {
		return fmt.Errorf("rejudge after %s: %w", why, err)
	}
	var errs []error
	for _, t := range targets {
		if t.LatestScanID != 0 && w.Covers(t) {
			errs = append(errs, s.RejudgeTarget(ctx, t, why))
		}
	}
	return errors.Join(errs...)
}

// RejudgeTarget stores the target's latest report judged again as a new
// scan, with the events that the new judgement makes.
func (s *Service) RejudgeTarget(ctx context.Context, t store.Target, why string) error {
	prev, err := s.st.GetScanResult(ctx, t.LatestScanID)
	if err != nil {
		return fmt.Errorf("rejudge %s: %w", t.Target, err)
	}
	now := s.now()
	active, err := store.PolicyWaivers(ctx, s.st, t)
	if err != nil {
		return fmt.Errorf("rejudge %s: %w", t.Target, err)
	}
	sslv2, err := store.SSLv2Leaves(ctx, s.st, t.ID) // as the scan job judges DROWN
	if err != nil {
		return fmt.Errorf("rejudge %s: SSLv2 endpoints of the estate: %w", t.Target, err)
	}
	ev := policy.Evaluate(&prev.Report, s.profile, policy.Options{Now: now, Waivers: active, SSLv2Leaves: sslv2})
	res := store.ScanResult{Report: prev.Report, Evaluation: &ev}
	res.Events = history.Compare(&prev, &res)
	for i := range res.Events {
		res.Events[i].At = now
	}
	sc, err := s.st.CreateScan(ctx, store.Scan{TargetID: t.ID, Trigger: store.TriggerReevaluation, RequestedBy: truncate(why, store.MaxRequestedByLen)})
	if err != nil {
		return fmt.Errorf("rejudge %s: %w", t.Target, err)
	}
	if err := s.st.FinishScan(ctx, sc.ID, res); err != nil {
		return fmt.Errorf("rejudge %s: %w", t.Target, err)
	}
	s.log.InfoContext(ctx, "judged again", "target", t.Target.String(), "scan_id", sc.ID, "why", why, "compliance", ev.Compliance)
	if s.judged != nil {
		s.judged(ctx, t, res)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// For lists the policy waivers that apply to t now; jobs evaluate scans
// with them.
func (s *Service) For(ctx context.Context, t store.Target) ([]tlswarden.Waiver, error) {
	return store.PolicyWaivers(ctx, s.st, t)
}
