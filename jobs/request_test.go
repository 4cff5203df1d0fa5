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

// RequestAll queues a scan of every enabled target in one go, and leaves a
// target already queued with the job it has.
func TestRequestAll(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			a := addTarget(t, b.Store, "a.example", 443, true)
			c := addTarget(t, b.Store, "c.example", 443, true)
			off := addTarget(t, b.Store, "off.example", 443, false)
			q := b.Queue(t, jobs.Config{}) // inserts only: nothing runs the jobs
			first, err := q.RequestScan(ctx, a.ID, "alice")
			if err != nil {
				t.Fatal(err)
			}
			n, err := q.RequestAll(ctx, "cli")
			if err != nil || n != 1 {
				t.Fatalf("RequestAll: %d, %v; want 1 new scan (a.example was queued already)", n, err)
			}
			for _, tc := range []struct {
				tg   store.Target
				want int
			}{{a, 1}, {c, 1}, {off, 0}} {
				rs, err := q.Requests(ctx, tc.tg.ID, 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(rs) != tc.want {
					t.Errorf("%s: %d scan requests, want %d", tc.tg.Target, len(rs), tc.want)
				}
				if tc.tg.ID == a.ID && len(rs) == 1 && rs[0].ID != first.ID {
					t.Errorf("a.example: job %d, want the one queued before (%d)", rs[0].ID, first.ID)
				}
				if tc.tg.ID == c.ID && len(rs) == 1 && (rs[0].Trigger != store.TriggerRequest || rs[0].RequestedBy != "cli" || rs[0].State != "available") {
					t.Errorf("c.example: %+v, want an available request by cli", rs[0])
				}
			}
			if _, err := q.RequestAll(ctx, "a\nb"); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("RequestAll with a bad requested_by: %v, want ErrInvalid", err)
			}
		})
	}
}
