// Package schedule says when a target is scanned: a cron expression of
// five fields (minute hour day-of-month month day-of-week), a descriptor
// such as @daily, or "@every DURATION" of at least a minute.
//
// A schedule is counted from the target's last finished scan, not from
// the clock of the process that reads it: Next(last) is when the next scan
// is due, so a due scan survives restarts and every replica agrees on it.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinInterval is the shortest "@every" a schedule may have: the scheduler
// looks for due targets once a minute.
const MinInterval = time.Minute

// Schedule is a parsed schedule. Its zero value is not valid; use Parse.
type Schedule struct {
	spec  string
	every time.Duration // for "@every D"
	cron  cron.Schedule // otherwise
}

// Parse parses a schedule, with an error that says what is accepted.
func Parse(spec string) (Schedule, error) {
	spec = strings.Join(strings.Fields(spec), " ")
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		return parseEvery(spec, d)
	}
	c, err := parseCron(spec)
	if err != nil {
		return Schedule{}, fmt.Errorf("%q is not a schedule (want five cron fields: minute hour day-of-month month day-of-week, or @hourly, @daily, @weekly, @monthly, @yearly, or @every DURATION such as @every 6h): %v", spec, err)
	}
	s := Schedule{spec: spec, cron: c}
	// robfig's Next gives up after five years: "0 0 30 2 *" never fires.
	if c.Next(time.Now()).IsZero() {
		return Schedule{}, fmt.Errorf("%q never fires", spec)
	}
	return s, nil
}

// parseCron is cron.ParseStandard, which panics on some input ("CRON_TZ="
// alone): a panic is a refusal.
func parseCron(spec string) (c cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("unreadable: %v", r)
		}
	}()
	return cron.ParseStandard(spec)
}

func parseEvery(spec, d string) (Schedule, error) {
	every, err := time.ParseDuration(d)
	switch {
	case err != nil:
		return Schedule{}, fmt.Errorf("%q: the interval is not a duration such as 30m or 6h: %v", spec, err)
	case every < MinInterval:
		return Schedule{}, fmt.Errorf("%q: the interval must be at least %s", spec, MinInterval)
	}
	return Schedule{spec: spec, every: every}, nil
}

// String returns the schedule in the form Parse normalises it to.
func (s Schedule) String() string { return s.spec }

// Next returns when the next scan is due after one that finished at last:
// last plus the interval for "@every", else the first time after last
// that the cron expression fires.
func (s Schedule) Next(last time.Time) time.Time {
	if s.every > 0 {
		return last.Add(s.every)
	}
	if s.cron == nil {
		return time.Time{}
	}
	// Cron fields are read in the process's time zone (unless the
	// expression names one with CRON_TZ=), whatever zone last is in.
	return s.cron.Next(last.In(time.Local))
}

// Every returns the interval of an "@every" schedule, 0 for a cron one.
func (s Schedule) Every() time.Duration { return s.every }

// maxGapFirings bounds how many firings Period looks at.
const maxGapFirings = 1000

// Period returns the longest time between two consecutive firings of the
// schedule, over a year or its next thousand firings, whichever is
// shorter: the longest a target on it waits between scans.
func (s Schedule) Period() time.Duration {
	if s.every > 0 || s.cron == nil {
		return s.every
	}
	// A fixed start keeps the answer the same on every replica and call.
	at := s.cron.Next(time.Date(2025, 1, 1, 0, 0, 0, 0, time.Local))
	end := at.AddDate(1, 0, 0)
	var longest time.Duration
	for range maxGapFirings {
		next := s.cron.Next(at)
		if next.IsZero() || at.After(end) {
			break
		}
		longest = max(longest, next.Sub(at))
		at = next
	}
	return longest
}
