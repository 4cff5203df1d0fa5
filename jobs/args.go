package jobs

import (
	"github.com/tlswarden/tlswarden/store"
)

// ScanTargetArgs asks for one scan of one target: every endpoint of it,
// probed, judged against the profile, compared with its previous scan and
// stored. Jobs are unique by TargetID while queued or running, so a target
// is never scanned twice at once.
type ScanTargetArgs struct {
	TargetID    int64         `json:"target_id" river:"unique"`
	Trigger     store.Trigger `json:"trigger"`
	RequestedBy string        `json:"requested_by,omitempty"`
}

// Kind names scan jobs in River's tables.
func (ScanTargetArgs) Kind() string { return "scan_target" }

// ScheduleScansArgs asks for a scan of every enabled target that is due.
// The periodic job on the default schedule enqueues it with Overrides
// false: every enabled target that has no schedule of its own is due. The
// minutely one enqueues it with Overrides true: the targets whose own
// schedule has come due since their latest finished scan (see package
// schedule) are due.
type ScheduleScansArgs struct {
	Overrides bool `json:"overrides,omitempty"`
}

// Kind names scheduling jobs in River's tables.
func (ScheduleScansArgs) Kind() string { return "schedule_scans" }

// ScanOutput is what a finished scan job records as its output: the scan
// it stored.
type ScanOutput struct {
	ScanID      int64 `json:"scan_id"`
	Events      int   `json:"events"`
	Regressions int   `json:"regressions"`
}

// PruneScansArgs asks for the scans older than the retention period to be
// deleted, with their reports and findings; each target's latest scan and
// every event are kept.
type PruneScansArgs struct{}

// Kind names pruning jobs in River's tables.
func (PruneScansArgs) Kind() string { return "prune_scans" }
