package jobs_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/internal/tlstest"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

// A job whose scan the store can never accept ends at its first attempt,
// and the next request of its target gets a job of its own.
func TestInvalidJobCancelledAtOnce(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			p := newPKI(t)
			srv := tlstest.NewSwitchServer(t, p.modern, nil)
			tg := addTarget(t, b.Store, srv.Addr.Addr().String(), int(srv.Addr.Port()), true)
			q := b.Queue(t, fast(jobs.Config{Scanner: newScanner(t, p.ca.Cert.Cert)}))
			tooLong := strings.Repeat("é", store.MaxRequestedByLen+1)
			bad, err := q.InsertScanJob(ctx, jobs.ScanTargetArgs{TargetID: tg.ID, Trigger: store.TriggerRequest, RequestedBy: tooLong})
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if r := waitDone(t, q, bad); r.State != "cancelled" || r.Attempt != 1 {
				t.Fatalf("job with an invalid requested_by: %s after %d attempts, want cancelled after 1 (%v)", r.State, r.Attempt, r.Errors)
			}
			done := scanNow(t, q, tg.ID)
			if done.ID == bad {
				t.Errorf("the new request joined the cancelled job %d", bad)
			}
		})
	}
}

// RequestScan checks requested_by in characters and refuses rather than
// cuts.
func TestRequestScanRequestedBy(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			tg := addTarget(t, b.Store, "a.example", 443, true)
			q := b.Queue(t, fast(jobs.Config{Scanner: newScanner(t)}))
			for _, bad := range []string{"\x00", "a\nb", strings.Repeat("x", store.MaxRequestedByLen+1), "\xff"} {
				if _, err := q.RequestScan(ctx, tg.ID, bad); !errors.Is(err, store.ErrInvalid) {
					t.Errorf("RequestScan(%q): %v, want ErrInvalid", bad, err)
				}
			}
			ok := "a" + strings.Repeat("é", 60)
			r, err := q.RequestScan(ctx, tg.ID, ok)
			if err != nil || r.RequestedBy != ok {
				t.Errorf("RequestScan of 61 characters: %+v, %v; want it kept whole", r, err)
			}
		})
	}
}
