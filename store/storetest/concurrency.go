package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/store"
)

// testConcurrentWriters runs several workers that each register a target
// and store three scans of it, while others import, list and prune.
func testConcurrentWriters(t *testing.T, newDB NewDB) {
	s := migrated(t, newDB)
	const workers, scans, endpoints = 8, 3, 20
	errs := make(chan error, 2*workers+1)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { errs <- scanWorker(t.Context(), s, w, scans, endpoints) })
		wg.Go(func() { errs <- reader(t.Context(), s) })
	}
	wg.Go(func() {
		_, err := s.ImportTargets(t.Context(), importRows())
		errs <- err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		check(t, "concurrent worker", err)
	}
	ctx := t.Context()
	ts, err := s.ListTargets(ctx, store.TargetFilter{})
	check(t, "ListTargets", err)
	fs, err := s.ListFindings(ctx, store.FindingFilter{})
	check(t, "ListFindings", err)
	evs, err := s.ListEvents(ctx, store.EventFilter{})
	check(t, "ListEvents", err)
	got := [3]int{len(ts), len(fs), len(evs)}
	diff(t, "targets, latest findings and events", [3]int{workers + 3, workers * endpoints * 2, workers * scans}, got)
}

func scanWorker(ctx context.Context, s store.Store, w, scans, endpoints int) error {
	tgt, err := s.CreateTarget(ctx, newTarget(fmt.Sprintf("worker%d.example.org", w), "web"))
	if err != nil {
		return err
	}
	for i := range scans {
		sc, err := s.CreateScan(ctx, store.Scan{TargetID: tgt.ID, Started: day(i)})
		if err != nil {
			return err
		}
		r := result(day(i).Add(time.Minute), endpoints, 2)
		r.Events = []store.Event{{Kind: store.EventGradeChanged}}
		if err := s.FinishScan(ctx, sc.ID, r); err != nil {
			return err
		}
	}
	return nil
}

func reader(ctx context.Context, s store.Store) error {
	for range 5 {
		if _, err := s.ListFindings(ctx, store.FindingFilter{Outcomes: []tlswarden.RuleOutcome{tlswarden.RuleFail}}); err != nil {
			return err
		}
		if _, err := s.ListTargets(ctx, store.TargetFilter{}); err != nil {
			return err
		}
		if _, err := s.PruneScans(ctx, day(-1)); err != nil {
			return err
		}
	}
	return nil
}

// testContextCanceled calls every method with a context that is done: each
// returns an error wrapping context.Canceled and writes nothing.
func testContextCanceled(t *testing.T, newDB NewDB) {
	s := migrated(t, newDB)
	tgt := createTarget(t, s, "example.org", "web")
	sc := createScan(t, s, tgt.ID, day(0))
	ctx := canceled(t)
	other := newTarget("other.example.org", "web")
	calls := map[string]func() error{
		"CreateTarget": func() error { _, err := s.CreateTarget(ctx, other); return err },
		"GetTarget":    func() error { _, err := s.GetTarget(ctx, tgt.ID); return err },
		"FindTarget":   func() error { _, err := s.FindTarget(ctx, tgt.Kind, tgt.Host, tgt.Port); return err },
		"UpdateTarget": func() error { _, err := s.UpdateTarget(ctx, tgt); return err },
		"DeleteTarget": func() error { return s.DeleteTarget(ctx, tgt.ID) },
		"ListTargets":  func() error { _, err := s.ListTargets(ctx, store.TargetFilter{}); return err },
		"ImportTargets": func() error {
			_, err := s.ImportTargets(ctx, []store.Target{other})
			return err
		},
		"CreateScan":    func() error { _, err := s.CreateScan(ctx, store.Scan{TargetID: tgt.ID}); return err },
		"FinishScan":    func() error { return s.FinishScan(ctx, sc.ID, result(day(0), 2, 2)) },
		"GetScan":       func() error { _, err := s.GetScan(ctx, sc.ID); return err },
		"ListScans":     func() error { _, err := s.ListScans(ctx, store.ScanFilter{}); return err },
		"GetScanResult": func() error { _, err := s.GetScanResult(ctx, sc.ID); return err },
		"LatestScan":    func() error { _, err := s.LatestScan(ctx, tgt.ID); return err },
		"PreviousScan":  func() error { _, err := s.PreviousScan(ctx, sc.ID); return err },
		"PruneScans":    func() error { _, err := s.PruneScans(ctx, day(100)); return err },
		"ListFindings":  func() error { _, err := s.ListFindings(ctx, store.FindingFilter{}); return err },
		"ListEvents":    func() error { _, err := s.ListEvents(ctx, store.EventFilter{}); return err },
		"ListEndpoints": func() error { _, err := s.ListEndpoints(ctx, store.EndpointFilter{}); return err },
		"Migrate":       func() error { return s.Migrate(ctx) },
	}
	for name, call := range calls {
		wantErr(t, name, call(), context.Canceled)
	}
	ts, err := s.ListTargets(t.Context(), store.TargetFilter{})
	check(t, "ListTargets", err)
	diff(t, "targets after canceled calls", []store.Target{tgt}, ts)
	got, err := s.GetScan(t.Context(), sc.ID)
	check(t, "GetScan", err)
	diff(t, "scan after canceled calls", sc, got)
}
