package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// RunSchedule works a ScheduleScansArgs job created at the given time, as
// the periodic job would.
func (q *Queue) RunSchedule(ctx context.Context, overrides bool, at time.Time) error {
	w := &scheduleWorker{q: q}
	return w.Work(ctx, &river.Job[ScheduleScansArgs]{
		JobRow: &rivertype.JobRow{CreatedAt: at},
		Args:   ScheduleScansArgs{Overrides: overrides},
	})
}
