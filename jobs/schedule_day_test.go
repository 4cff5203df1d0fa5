package jobs_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tlswarden/tlswarden"
	"github.com/tlswarden/tlswarden/internal/testdb"
	"github.com/tlswarden/tlswarden/jobs"
	"github.com/tlswarden/tlswarden/store"
)

// TestOwnSchedulesOverADay runs the minutely scheduling job over a day,
// a minute at a time, on two replicas in turn and with three hours when no
// process runs: each target with a schedule of its own is scanned when it
// is due by its latest finished scan, "@every D" at most D (and a minute's
// tick) after it, and a scan missed while nothing ran is started as soon
// as a process is back.
func TestOwnSchedulesOverADay(t *testing.T) {
	for _, name := range testdb.Names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			b := testdb.Open(t, name)
			day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.Local) // a Monday
			schedules := map[string]string{
				"hourly.example": "@every 1h", "ninety.example": "@every 90m",
				"six.example": "0 */6 * * *", "weekly.example": "30 3 * * 1",
				"plain.example": "", "off.example": "@every 1h",
			}
			targets := map[int64]string{}
			var all []store.Target
			for host, sched := range schedules {
				tg, err := b.Store.CreateTarget(ctx, store.Target{Target: tlswarden.Target{Host: host, Port: 443},
					Enabled: host != "off.example", Schedule: sched})
				if err != nil {
					t.Fatal(err)
				}
				targets[tg.ID] = host
				all = append(all, tg)
			}
			replicas := []*jobs.Queue{
				b.Queue(t, jobs.Config{Scanner: newScanner(t), Schedule: "off"}),
				b.Queue(t, jobs.Config{Scanner: newScanner(t), Schedule: "off"}),
			}
			fired := map[string][]string{}
			for m := range 24 * 60 {
				now := day.Add(time.Duration(m) * time.Minute)
				if now.Hour() >= 10 && now.Hour() < 13 {
					continue // no process runs
				}
				q := replicas[m%2]
				if err := q.RunSchedule(ctx, true, now); err != nil {
					t.Fatal(err)
				}
				for id, at := range scheduled(t, q, all...) {
					if at.After(now) {
						t.Errorf("%s: scheduled for %v at %v; want at once", targets[id], at, now)
					}
					fired[targets[id]] = append(fired[targets[id]], now.Format("15:04"))
					runScan(t, b.Store, q, id, now, 20*time.Second)
				}
			}
			want := map[string][]string{
				// Due an hour after each 20-second scan ends: a minute later
				// each hour; 10:09 falls in the gap.
				"hourly.example": {"00:00", "01:01", "02:02", "03:03", "04:04", "05:05", "06:06", "07:07", "08:08", "09:09",
					"13:00", "14:01", "15:02", "16:03", "17:04", "18:05", "19:06", "20:07", "21:08", "22:09", "23:10"},
				"ninety.example": {"00:00", "01:31", "03:02", "04:33", "06:04", "07:35", "09:06", "13:00", "14:31", "16:02", "17:33", "19:04", "20:35", "22:06", "23:37"},
				"six.example":    {"00:00", "06:00", "13:00", "18:00"},
				"weekly.example": {"00:00", "03:30"},
			}
			if diff := cmp.Diff(want, fired); diff != "" {
				t.Errorf("scans started over the day (-want +got):\n%s", diff)
			}
		})
	}
}

// runScan stands for a scan job that ran at now and took d: it stores a
// finished scan of the target and removes the scheduled job.
func runScan(t *testing.T, st store.Store, q *jobs.Queue, targetID int64, now time.Time, d time.Duration) {
	t.Helper()
	ctx := t.Context()
	reqs, err := q.Requests(ctx, targetID, 10)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := st.GetTarget(ctx, targetID)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := st.CreateScan(ctx, store.Scan{TargetID: targetID, Trigger: store.TriggerSchedule, Started: now})
	if err != nil {
		t.Fatal(err)
	}
	err = st.FinishScan(ctx, sc.ID, store.ScanResult{Report: tlswarden.Report{Schema: tlswarden.ReportSchema,
		Target: tg.Target, Started: now, Finished: now.Add(d), Status: tlswarden.StatusRefused, Endpoints: []tlswarden.EndpointReport{}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if err := q.DeleteJob(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// Interval is the longest a target waits between scheduled scans, by its
// own schedule or the default one with its jitter window.
func TestInterval(t *testing.T) {
	b := testdb.Open(t, "sqlite")
	q := b.Queue(t, jobs.Config{Store: b.Store, Schedule: "0 2 * * *", Jitter: time.Hour})
	off := b.Queue(t, jobs.Config{Store: b.Store, Schedule: "off"})
	target := func(sched string, enabled bool) store.Target {
		return store.Target{Target: tlswarden.Target{Host: "a.example", Port: 443}, Enabled: enabled, Schedule: sched}
	}
	for _, tc := range []struct {
		q    *jobs.Queue
		t    store.Target
		want time.Duration
	}{
		{q, target("", true), 25 * time.Hour},
		{q, target("@every 6h", true), 6 * time.Hour},
		{q, target("30 3 * * 1", true), 7 * 24 * time.Hour},
		{q, target("0 9 * * 1-5", true), 3 * 24 * time.Hour},
		{q, target("@every 6h", false), 0},
		{off, target("", true), 0},
		{off, target("@hourly", true), time.Hour},
	} {
		if got := tc.q.Interval(tc.t); got != tc.want {
			t.Errorf("Interval of %q (enabled %v): %v, want %v", tc.t.Schedule, tc.t.Enabled, got, tc.want)
		}
	}
}
