package schedule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tlswarden/tlswarden/schedule"
)

func TestParse(t *testing.T) {
	last := time.Date(2026, 3, 2, 10, 15, 20, 0, time.Local) // a Monday
	for _, tc := range []struct {
		spec   string
		next   time.Time
		period time.Duration
	}{
		{"@every 6h", last.Add(6 * time.Hour), 6 * time.Hour},
		{"@every  1m", last.Add(time.Minute), time.Minute},
		{"0 */6 * * *", time.Date(2026, 3, 2, 12, 0, 0, 0, time.Local), 6 * time.Hour},
		{"30 3 * * 1", time.Date(2026, 3, 9, 3, 30, 0, 0, time.Local), 7 * 24 * time.Hour},
		{"0 2 * * 1-5", time.Date(2026, 3, 3, 2, 0, 0, 0, time.Local), 3 * 24 * time.Hour},
		{"@hourly", time.Date(2026, 3, 2, 11, 0, 0, 0, time.Local), time.Hour},
		{"*/5 * * * *", time.Date(2026, 3, 2, 10, 20, 0, 0, time.Local), 5 * time.Minute},
	} {
		s, err := schedule.Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got := s.Next(last); !got.Equal(tc.next) {
			t.Errorf("%q: Next(%v) = %v, want %v", tc.spec, last, got, tc.next)
		}
		if got := s.Next(last.UTC()); !got.Equal(tc.next) {
			t.Errorf("%q: Next of a UTC time = %v, want %v (cron read in the process's zone)", tc.spec, got, tc.next)
		}
		if got := s.Period(); got != tc.period {
			t.Errorf("%q: Period() = %v, want %v", tc.spec, got, tc.period)
		}
	}
	for _, tc := range []struct{ spec, want string }{
		{"99 99 99 99 99", "is not a schedule"},
		{"@bogus", "is not a schedule"},
		{"every day", "is not a schedule"},
		{"0 3 * *", "is not a schedule"},
		{"@every 30s", "at least 1m0s"},
		{"@every 0s", "at least 1m0s"},
		{"@every -1h", "at least 1m0s"},
		{"@every day", "not a duration"},
		{"@every", "is not a schedule"},
		{"0 0 30 2 *", "never fires"},
	} {
		if _, err := schedule.Parse(tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): %v, want an error saying %q", tc.spec, err, tc.want)
		}
	}
}

// FuzzParse: Parse never panics; what it accepts parses again to the same
// schedule, fires after the time it is given, and has a period of at least
// a minute.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"@every 6h", "0 2 * * *", "@daily", "99 99 99 99 99", "@bogus", "*/5 1-3 * JAN MON", "CRON_TZ=UTC 0 2 * * *", "@every 1m30s"} {
		f.Add(s)
	}
	last := time.Date(2026, 3, 2, 10, 15, 20, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := schedule.Parse(spec)
		if err != nil {
			return
		}
		again, err := schedule.Parse(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("Parse(%q) = %q, which parses to %q, %v", spec, s, again, err)
		}
		if next := s.Next(last); !next.After(last) {
			t.Fatalf("%q: Next(%v) = %v, not after", spec, last, next)
		}
		if p := s.Period(); p < schedule.MinInterval {
			t.Fatalf("%q: period %v under a minute", spec, p)
		}
	})
}
